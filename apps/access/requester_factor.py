"""The requester's fresh second factor: one rule for every channel that asks for access.

A role may ask its requester for a second factor presented within ``MFA_FRESH_MINUTES``
(``AccessRole.requester_mfa_required``, Entra PIM's "require MFA on activation"; docs/access.md,
"A second factor from the requester"). Asking for such a role and asking for more time on a
grant of it both need that factor, and only while the second factor is switched on
(``MFA_REQUIRED``): with it off, every factor counts as fresh (apps/signin/mfa.py), so nothing
is asked on any channel.

:func:`requester_factor_missing` is the one place that says so, for the portal's request and
extension pages (which send the person to verify and back), the API's request and extension
endpoints and the agents' ``ask_for_access`` tool (which cannot carry a factor and answer
with the message and the portal page where the person presents it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.signin.mfa import factor_is_fresh, mfa_on

from .models import AccessRole, Grant

#: What the requester is doing: asking for a role, or for more time on a grant of it.
Action = Literal["ask", "extend"]


@dataclass(frozen=True)
class FactorNeeded:
    """A fresh second factor the requester has not presented.

    ``role``: the role that asks for it; ``path``: the portal page (site-relative) where the
    person presents the factor and then does what they wanted (the request form for that role,
    or the grant's extension page); ``action``: ``"ask"`` or ``"extend"``."""

    role: AccessRole
    path: str
    action: Action

    def message(self, url: str) -> str:
        """What a channel that cannot ask for the factor says, in the reader's language,
        pointing at ``url`` (``path`` made absolute)."""
        if self.action == "extend":
            text = _(
                "The role “%(role)s” asks for a fresh second factor, which only the portal can "
                "check: ask for more time on this access at %(url)s"
            )
        else:
            text = _(
                "The role “%(role)s” asks for a fresh second factor when you ask for it, which "
                "only the portal can check: ask for it at %(url)s"
            )
        return text % {"role": self.role.name, "url": url}


def requester_factor_missing(
    *, target: object, session: HttpRequest | None, action: Action = "ask"
) -> FactorNeeded | None:
    """Whether this requester action needs a fresh second factor that is not there.

    ``target``: for ``action="ask"`` what the request form resolved (an ``AccessRole``, a
    ``DataAsset`` or None); for ``"extend"`` the ``Grant`` to extend. ``session``: the browser
    request whose session may hold a fresh factor (the portal, the API with a session), or None
    for a caller that never carries one (an integration token, the MCP server).

    Returns None when nothing is asked: the target is no role with
    ``requester_mfa_required``, ``MFA_REQUIRED`` is off, or the session's factor is fresh.
    Raises nothing. A request for a single data asset is not covered (docs/access.md)."""
    role: AccessRole | None
    if action == "extend":
        grant = target if isinstance(target, Grant) else None
        role = grant.request.role if grant is not None else None
    else:
        grant, role = None, target if isinstance(target, AccessRole) else None
    if role is None or not role.requester_mfa_required or not mfa_on():
        return None
    if session is not None and factor_is_fresh(session):
        return None
    if grant is not None:
        path = reverse("access-grant-extend", args=[grant.pk])
    else:
        path = f"{reverse('access-request-create')}?role={role.pk}"
    return FactorNeeded(role=role, path=path, action=action)
