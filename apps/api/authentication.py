"""Who an API call acts for: an integration token (``Authorization: Bearer jpt_…``, RFC 6750)
or the portal session (with Django's CSRF check on every unsafe method).

A token is checked by ``apps.integrations.services.integration_token_authenticate`` (the same
check as the audit feed): hashed, not expired, not revoked, owner active, and one of the
scopes the endpoint takes (``token_scopes`` on the view), whose permissions the owner still
holds. The owner is who the call acts for, so a token never does more than its owner may.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from apps.integrations.services import TokenRefused, integration_token_authenticate
from apps.signin.mfa import mfa_required_for

REALM = "jitportal API"


class Refused(exceptions.PermissionDenied):
    """A refusal of ours, its text already in the reader's language (DRF's own
    ``PermissionDenied`` texts are replaced by ours in the problem detail)."""


def view_token_scopes(view: Any, method: str) -> tuple[str, ...]:
    """The scopes a token may carry to call ``view`` with ``method`` (any one is enough).

    ``token_scopes`` on a view is a tuple, or a dict from HTTP method to a tuple."""
    scopes = getattr(view, "token_scopes", ())
    if isinstance(scopes, dict):
        return tuple(scopes.get(method.upper(), ()))
    return tuple(scopes)


class ScopeRefused(Refused):
    """A valid token without a scope the endpoint takes (RFC 6750 ``insufficient_scope``)."""

    default_code = "insufficient_scope"

    def __init__(self, detail: str, scopes: tuple[str, ...]) -> None:
        super().__init__(detail)
        self.scopes = scopes


class IntegrationTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <integration token>``; anything else is left to the session.

    HTTP Basic (a person's password) is refused: passwords are for people, tokens for
    machines."""

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        scheme, _sep, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "basic":
            raise exceptions.AuthenticationFailed(
                _(
                    "HTTP Basic with a password is not accepted here: send an integration "
                    "token as 'Authorization: Bearer <token>', or sign in to the portal."
                )
            )
        if scheme.lower() != "bearer":
            return None
        view = (request.parser_context or {}).get("view")
        scopes = view_token_scopes(view, request.method)
        if not scopes:
            raise ScopeRefused(
                _("This endpoint takes no integration token; sign in to the portal instead."),
                scopes,
            )
        refused: TokenRefused | None = None
        for scope in scopes:
            try:
                token = integration_token_authenticate(raw=credentials, scope=scope)
            except TokenRefused as exc:
                if exc.error == "invalid_token":
                    # The token check's own message, in the reader's language.
                    raise exceptions.AuthenticationFailed(exc.message) from None
                refused = exc
                continue
            request.token_scope = scope
            return token.owner, token
        assert refused is not None
        # One message naming every scope the endpoint takes, not the last one tried.
        raise ScopeRefused(
            _(
                "The token may not be used here: this endpoint takes a token with one of the "
                "scopes %(scopes)s whose owner holds what the scope needs."
            )
            % {"scopes": ", ".join(f"“{s}”" for s in scopes)},
            scopes,
        )

    def authenticate_header(self, request: Any) -> str:
        return f'Bearer realm="{REALM}"'


class SecondFactorMissing(Refused):
    default_code = "second_factor_required"

    def __init__(self, detail: str, portal_url: str) -> None:
        super().__init__(detail)
        self.portal_url = portal_url


class PortalSessionAuthentication(SessionAuthentication):
    """The portal session, CSRF-checked; a person the admin asks a second factor of (MFA
    settings) must have presented it in this session, as the admin requires."""

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if mfa_required_for(user) and not user.is_verified():
            raise SecondFactorMissing(
                _("Verify your second factor in the portal first; then the API answers."),
                reverse("mfa-verify"),
            )
        return result

    def enforce_csrf(self, request: Any) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied:
            raise Refused(
                _(
                    "The CSRF check failed: send the portal's CSRF token in the X-CSRFToken "
                    "header, or use an integration token."
                )
            ) from None
