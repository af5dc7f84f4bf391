"""Access policies: the rules of a role, the strictest of an asset's roles, who may ask.

``effective_policy`` is what a request is checked against and what its snapshot records;
``requestable_roles_for`` and ``requester_eligible_q`` say who may ask for what (the same
rule as Python and as SQL).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset

from .models import AccessRole

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ACTIONS = ("view", "change", "export")
# Shown for a role with a ticket pattern but no hint from the DPO.
NO_TICKET_HINT = _("a reference in the form this role expects (the DPO can tell you which)")


@dataclass(frozen=True)
class Policy:
    """The rules that apply to one request: a role's own, or the strictest of an asset's roles."""

    default_duration: timedelta
    max_duration: timedelta
    allow_future_start: bool
    max_start_ahead: timedelta
    approvals_required: int
    dpo_required: bool
    require_justification: bool
    require_ticket: bool
    ticket_pattern: str
    pending_timeout: timedelta
    can_view: bool
    can_change: bool
    can_export: bool
    roles: tuple[str, ...]
    remind_approvers_after: timedelta = timedelta(hours=8)
    # Every pattern a ticket must match when several roles with patterns cover an asset.
    ticket_patterns: tuple[str, ...] = field(default_factory=tuple)
    special: bool = False
    # How far one grant may reach from its start through extensions.
    max_total_duration: timedelta = timedelta(hours=24)
    # (role name, what staff are told about its ticket reference) for every role whose ticket
    # rule is in force; the hint is "" where the DPO gave none. Staff see these, not patterns.
    ticket_hints: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def is_automatic(self) -> bool:
        """No human decides: no approvals and no DPO approval needed."""
        return self.approvals_required == 0 and not self.dpo_required

    @property
    def rights(self) -> tuple[str, ...]:
        return tuple(a for a in ACTIONS if getattr(self, f"can_{a}"))

    @property
    def ticket_hint_text(self) -> str:
        """What staff are told a ticket reference looks like: the role's hint, or for an asset
        covered by several roles each role's hint after its name ("" when no role has a ticket
        rule). Never the regular expression."""
        if not self.ticket_hints:
            return ""
        if len(self.ticket_hints) == 1:
            return self.ticket_hints[0][1] or str(NO_TICKET_HINT)
        return "; ".join(f"{name}: {hint or NO_TICKET_HINT}" for name, hint in self.ticket_hints)

    def ticket_matches(self, ticket: str) -> bool:
        """Whether ``ticket`` matches every pattern in force in full (``re.fullmatch``)."""
        patterns = self.ticket_patterns or ((self.ticket_pattern,) if self.ticket_pattern else ())
        return all(re.fullmatch(p, ticket) for p in patterns)

    def as_snapshot(self) -> dict[str, Any]:
        """JSON-safe copy stored on the request and in audit events (durations in seconds)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, timedelta):
                data[key] = int(value.total_seconds())
            elif isinstance(value, tuple):
                data[key] = list(value)
        return data


def _role_policy(role: AccessRole) -> Policy:
    special = role.assets.filter(is_special=True).exists()
    return Policy(
        default_duration=role.default_duration,
        max_duration=role.max_duration,
        allow_future_start=role.allow_future_start,
        max_start_ahead=role.max_start_ahead,
        approvals_required=role.approvals_required,
        # Art. 9/10 data always needs the DPO, whatever the role says.
        dpo_required=role.require_dpo or special,
        require_justification=role.require_justification,
        require_ticket=role.require_ticket,
        ticket_pattern=role.ticket_pattern,
        ticket_patterns=(role.ticket_pattern,) if role.ticket_pattern else (),
        pending_timeout=role.pending_timeout,
        remind_approvers_after=role.remind_approvers_after,
        can_view=role.can_view,
        can_change=role.can_change,
        can_export=role.can_export,
        roles=(role.name,),
        special=special,
        max_total_duration=role.max_total_duration,
        ticket_hints=_ticket_hints([role]),
    )


def _ticket_hints(roles: list[AccessRole]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (role.name, role.ticket_hint) for role in roles if role.ticket_hint or role.ticket_pattern
    )


def _combined_pattern(patterns: tuple[str, ...]) -> str:
    if len(patterns) <= 1:
        return patterns[0] if patterns else ""
    # Under re.fullmatch: each lookahead demands one pattern over the whole ticket.
    return "".join(f"(?=(?:{p})\\Z)" for p in patterns) + r"[\s\S]*"


def effective_policy(
    *,
    role: AccessRole | None = None,
    asset: DataAsset | None = None,
    user: User | None = None,
) -> Policy:
    """The policy of ``role``, or for a single ``asset`` the strictest of the active roles
    covering it. The rights of an asset request are those of the covering roles ``user`` may
    ask for (all covering roles when no user is given)."""
    if (role is None) == (asset is None):
        raise ValidationError(gettext("Choose either a role or a single data asset."))
    if role is not None:
        return _role_policy(role)
    assert asset is not None
    roles = list(
        AccessRole.objects.filter(is_active=True, assets=asset).order_by("name").distinct()
    )
    if not roles:
        raise ValidationError(
            {"asset": gettext("No active access role covers “%(asset)s”.") % {"asset": asset}}
        )
    if user is not None:
        allowed = set(requestable_roles_for(user).filter(assets=asset).values_list("pk", flat=True))
        rights_from = [r for r in roles if r.pk in allowed] or roles
    else:
        rights_from = roles
    patterns = tuple(dict.fromkeys(r.ticket_pattern for r in roles if r.ticket_pattern))
    special = asset.is_special
    return Policy(
        default_duration=min(r.default_duration for r in roles),
        max_duration=min(r.max_duration for r in roles),
        allow_future_start=all(r.allow_future_start for r in roles),
        max_start_ahead=min(r.max_start_ahead for r in roles),
        approvals_required=max(r.approvals_required for r in roles),
        dpo_required=special or any(r.require_dpo for r in roles),
        require_justification=any(r.require_justification for r in roles),
        require_ticket=any(r.require_ticket for r in roles),
        ticket_pattern=_combined_pattern(patterns),
        ticket_patterns=patterns,
        pending_timeout=min(r.pending_timeout for r in roles),
        remind_approvers_after=min(r.remind_approvers_after for r in roles),
        can_view=any(r.can_view for r in rights_from),
        can_change=any(r.can_change for r in rights_from),
        can_export=any(r.can_export for r in rights_from),
        roles=tuple(r.name for r in roles),
        special=special,
        max_total_duration=min(r.max_total_duration for r in roles),
        ticket_hints=_ticket_hints(roles),
    )


# --- who may ask -------------------------------------------------------------------------


def _requestable_q(me: Any) -> Q:
    """On AccessRole: the user ``me`` (a pk, or an outer reference to one) may ask for it:
    listed by group or name, or nobody is listed. The role's own ``is_active`` is not in it."""
    by_group = AccessRole.requestable_by_groups.through.objects
    by_user = AccessRole.requestable_by_users.through.objects
    any_group = Exists(by_group.filter(accessrole_id=OuterRef("pk")))
    any_user = Exists(by_user.filter(accessrole_id=OuterRef("pk")))
    in_group = Exists(by_group.filter(accessrole_id=OuterRef("pk"), group__user=me))
    named = Exists(by_user.filter(accessrole_id=OuterRef("pk"), user_id=me))
    return (~any_group & ~any_user) | in_group | named


def requestable_roles_for(user: User) -> QuerySet[AccessRole]:
    """Active roles ``user`` may ask for: listed by group or name, or open to everybody."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return AccessRole.objects.none()
    return (
        AccessRole.objects.filter(is_active=True)
        .filter(_requestable_q(user.pk))
        # Archived assets are no longer offered (nor granted) through a role.
        .prefetch_related(
            models.Prefetch("assets", queryset=DataAsset.objects.current().select_related("system"))
        )
    )


def requester_eligible_q(*, user: str, role: str, asset: str) -> Q:
    """A condition on an outer query (requests, grants) naming a user, a role and an asset by
    field path: that user may ask today for that role, or for an active role covering that
    asset (``requestable_roles_for`` as SQL, so a batch is judged in one query). The user's
    own ``is_active`` is not in it."""
    roles = AccessRole.objects.filter(is_active=True).filter(
        _requestable_q(OuterRef(OuterRef(user)))
    )
    return Exists(roles.filter(pk=OuterRef(role))) | Exists(roles.filter(assets=OuterRef(asset)))


def requestable_assets_for(user: User) -> QuerySet[DataAsset]:
    """Assets covered by at least one role ``user`` may ask for."""
    roles = requestable_roles_for(user).values("pk")
    link = AccessRole.assets.through.objects.filter(
        dataasset_id=OuterRef("pk"), accessrole_id__in=roles
    )
    return DataAsset.objects.current().filter(Exists(link)).select_related("system")
