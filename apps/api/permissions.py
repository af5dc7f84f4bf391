"""What every API endpoint checks before it runs: a signed-in person or a token's owner,
active, holding the Django permissions the endpoint names (``required_permissions``: all of
them; ``any_permissions``: at least one). The same permissions as the pages, so a token
(which acts for its owner) never does more than its owner may."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from .authentication import Refused


def _perms(view: Any, name: str, method: str) -> tuple[str, ...]:
    value = getattr(view, name, ())
    if isinstance(value, dict):
        return tuple(value.get(method.upper(), ()))
    return tuple(value)


class TokenScopePermission(BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated(
                _(
                    "Sign in to the portal, or send an integration token as "
                    "'Authorization: Bearer <token>'."
                )
            )
        if not user.is_active:
            raise Refused(_("Your account is not active."))
        required = _perms(view, "required_permissions", request.method)
        missing = [p for p in required if not user.has_perm(p)]
        if missing:
            raise Refused(
                _("This needs the %(permissions)s permission, which you do not hold.")
                % {"permissions": ", ".join(missing)}
            )
        any_of = _perms(view, "any_permissions", request.method)
        if any_of and not any(user.has_perm(p) for p in any_of):
            raise Refused(
                _("This needs one of the permissions %(permissions)s, which you do not hold.")
                % {"permissions": ", ".join(any_of)}
            )
        return True
