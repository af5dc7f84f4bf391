"""Reads of the access app: effective policies, queues, live grants, registers."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import Combinable, NegatedExpression
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.inventory.gdpr import Sensitivity
from apps.inventory.models import DataAsset
from apps.inventory.roles import DPO

from .models import (
    AccessRequest,
    AccessRole,
    Approval,
    Decision,
    Grant,
    RequestStatus,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ACTIONS = ("view", "change", "export")
# Shown for a role with a ticket pattern but no hint from the DPO.
NO_TICKET_HINT = "a reference in the form this role expects (the DPO can tell you which)"
DECIDE_PERM = "access.decide_accessrequest"
SENSITIVITY_ORDER = [s.value for s in Sensitivity]


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
            return self.ticket_hints[0][1] or NO_TICKET_HINT
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
        raise ValidationError("Choose either a role or a single data asset.")
    if role is not None:
        return _role_policy(role)
    assert asset is not None
    roles = list(
        AccessRole.objects.filter(is_active=True, assets=asset).order_by("name").distinct()
    )
    if not roles:
        raise ValidationError({"asset": f"No active access role covers “{asset}”."})
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


# --- the requester's own -------------------------------------------------------------------


def requests_for_user(user: User) -> QuerySet[AccessRequest]:
    return (
        AccessRequest.objects.filter(requester=user)
        .select_related("role", "asset__system", "extends_grant", "decided_by", "grant")
        .order_by("-created_at", "-pk")
    )


def grants_for_user(user: User) -> QuerySet[Grant]:
    return (
        Grant.objects.filter(user=user)
        .select_related("request__role", "request__asset__system", "revoked_by")
        .prefetch_related("assets__system")
        .order_by("-starts_at", "-pk")
    )


def live_grant_for(
    *, user: User, asset: DataAsset, action: str = "view", at: datetime | None = None
) -> Grant | None:
    """The live grant giving ``user`` the ``action`` right on ``asset`` (the longest-running)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    return (
        Grant.objects.live(at)
        .filter(user=user, assets=asset, **{f"can_{action}": True})
        .order_by("-ends_at", "-pk")
        .first()
    )


def live_grant_for_object(
    *, user: User, obj: models.Model, action: str = "view", at: datetime | None = None
) -> tuple[DataAsset, Grant] | None:
    """For a governed row: the asset governing its model and the live grant that opens it."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    now = at or timezone.now()
    ct = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    link = (
        Grant.assets.through.objects.filter(
            grant__user_id=user.pk,
            grant__starts_at__lte=now,
            grant__ends_at__gt=now,
            grant__revoked_at__isnull=True,
            dataasset__governed_model=ct,
            **{f"grant__can_{action}": True},
        )
        .select_related("grant", "dataasset__system")
        .order_by("-grant__ends_at", "-grant_id")
        .first()
    )
    if link is None:
        return None
    return link.dataasset, link.grant


# --- who may decide ----------------------------------------------------------------------


def user_is_dpo(user: User) -> bool:
    return bool(user.is_active and user.groups.filter(name=DPO).exists())


def _approver_role_ids(user: User) -> QuerySet:
    groups = Group.objects.filter(user=user).values("pk")
    return (
        AccessRole.objects.filter(
            Q(approver_groups__in=groups)
            | Q(approve_by_asset_owner=True, assets__owner=user)
            | Q(approve_by_steward_group=True, assets__steward_group__in=groups)
        )
        .values("pk")
        .distinct()
    )


def _approver_asset_ids(user: User) -> QuerySet:
    """Assets ``user`` may decide single-asset requests for, through any active covering role."""
    groups = Group.objects.filter(user=user).values("pk")
    return (
        DataAsset.objects.filter(
            Q(access_roles__is_active=True, access_roles__approver_groups__in=groups)
            | Q(owner=user, access_roles__is_active=True, access_roles__approve_by_asset_owner=True)
            | Q(
                steward_group__in=groups,
                access_roles__is_active=True,
                access_roles__approve_by_steward_group=True,
            )
        )
        .values("pk")
        .distinct()
    )


def _regular_approver_q(user: User) -> Q:
    return Q(role_id__in=_approver_role_ids(user)) | Q(asset_id__in=_approver_asset_ids(user))


def _dpo_missing() -> NegatedExpression[Combinable]:
    return ~Exists(counting_approvals().filter(request_id=OuterRef("pk"), as_dpo=True))


def counting_approvals() -> QuerySet[Approval]:
    """Approvals that count now: ``approve`` decisions whose approver is still active, still
    holds the decide permission and may still decide in the capacity they approved in (the
    DPO's slot: still a member of the DPO group; otherwise still an eligible approver of the
    request's role, or of its asset through an active covering role, as ``decider_capacity``
    reads it). An approval from someone who has since lost that right no longer counts, so
    whether enough approvals are in is judged on the facts when the last one arrives."""
    me = OuterRef("approver_id")
    app_label, codename = DECIDE_PERM.split(".")
    perm = Q(permission__codename=codename, permission__content_type__app_label=app_label)
    User = get_user_model()
    may_decide = (
        Q(approver__is_superuser=True)
        | Exists(User.user_permissions.through.objects.filter(perm, user_id=me))
        | Exists(Group.permissions.through.objects.filter(perm, group__user=me))
    )
    role_id, asset_id = OuterRef("request__role_id"), OuterRef("request__asset_id")
    role_assets = AccessRole.assets.through.objects
    by_role = (
        Exists(
            AccessRole.approver_groups.through.objects.filter(accessrole_id=role_id, group__user=me)
        )
        | Exists(
            role_assets.filter(
                accessrole_id=role_id,
                accessrole__approve_by_asset_owner=True,
                dataasset__owner_id=me,
            )
        )
        | Exists(
            role_assets.filter(
                accessrole_id=role_id,
                accessrole__approve_by_steward_group=True,
                dataasset__steward_group__user=me,
            )
        )
    )
    covering = role_assets.filter(dataasset_id=asset_id, accessrole__is_active=True)
    by_asset = (
        Exists(covering.filter(accessrole__approver_groups__user=me))
        | Exists(covering.filter(accessrole__approve_by_asset_owner=True, dataasset__owner_id=me))
        | Exists(
            covering.filter(
                accessrole__approve_by_steward_group=True, dataasset__steward_group__user=me
            )
        )
    )
    regular = Q(as_dpo=False) & (
        (Q(request__role_id__isnull=False) & by_role)
        | (Q(request__asset_id__isnull=False) & by_asset)
    )
    as_dpo = Q(as_dpo=True, request__dpo_required=True) & Exists(
        Group.objects.filter(name=DPO, user=me)
    )
    return (
        Approval.objects.filter(decision=Decision.APPROVE, approver__is_active=True)
        .exclude(approver_id=F("request__requester_id"))
        .filter(may_decide)
        .filter(regular | as_dpo)
    )


def can_decide(user: User) -> bool:
    return bool(user.is_active and user.has_perm(DECIDE_PERM))


def decider_capacity(*, request: AccessRequest, user: User) -> set[str]:
    """In which capacities ``user`` may decide ``request``: {"approver"}, {"dpo"}, both, or
    none (the requester, someone without the decide permission, or not eligible)."""
    if not can_decide(user) or request.requester_id == user.pk:
        return set()
    capacity: set[str] = set()
    if AccessRequest.objects.filter(pk=request.pk).filter(_regular_approver_q(user)).exists():
        capacity.add("approver")
    if request.dpo_required and user_is_dpo(user):
        capacity.add("dpo")
    return capacity


def approval_queue_for(user: User) -> QuerySet[AccessRequest]:
    """Pending requests ``user`` may decide: not their own, not already decided by them, for
    assets they approve for (or needing the DPO's approval still missing, for a DPO)."""
    if not can_decide(user):
        return AccessRequest.objects.none()
    eligible = _regular_approver_q(user)
    if user_is_dpo(user):
        eligible |= Q(dpo_required=True) & Q(_dpo_missing())
    decided_by_me = Exists(Approval.objects.filter(request_id=OuterRef("pk"), approver=user))
    return with_queue_columns(
        AccessRequest.objects.pending()
        .exclude(requester=user)
        .exclude(decided_by_me)
        .filter(eligible)
        .order_by("created_at", "pk")
    )


def with_queue_columns(qs: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
    """Annotate what an approver's list shows, without a query per row."""
    approvals = counting_approvals().filter(request_id=OuterRef("pk"))
    regular_count = (
        approvals.filter(as_dpo=False)
        .order_by()
        .values("request_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    role_special = Exists(
        AccessRole.assets.through.objects.filter(
            accessrole_id=OuterRef("role_id"), dataasset__is_special=True
        )
    )
    rank = models.Case(
        *[
            models.When(dataasset__sensitivity=value, then=models.Value(i))
            for i, value in enumerate(SENSITIVITY_ORDER)
        ],
        default=models.Value(-1),
        output_field=models.IntegerField(),
    )
    # django-stubs does not carry annotate() over on an auto-created through model, so it
    # rejects the annotated "rank" in values(); Django resolves it.
    role_rank = (
        AccessRole.assets.through.objects.filter(accessrole_id=OuterRef("role_id"))
        .annotate(rank=rank)
        .order_by("-rank")
        .values("rank")[:1]  # type: ignore[misc]
    )
    asset_rank = models.Case(
        *[
            models.When(asset__sensitivity=value, then=models.Value(i))
            for i, value in enumerate(SENSITIVITY_ORDER)
        ],
        default=models.Value(-1),
        output_field=models.IntegerField(),
    )
    return qs.select_related(
        "requester", "role", "asset__system", "extends_grant", "processing_activity"
    ).annotate(
        n_regular_approvals=Coalesce(Subquery(regular_count), 0),
        has_dpo_approval=Exists(approvals.filter(as_dpo=True)),
        holds_special=Q(asset__is_special=True) | role_special,
        sensitivity_rank=Coalesce(Subquery(role_rank), asset_rank),
    )


class _QueueColumns(Protocol):
    """What ``with_queue_columns`` adds to each request it annotates."""

    n_regular_approvals: int
    has_dpo_approval: bool


@dataclass(frozen=True)
class ApprovalsNeeded:
    """What a pending request still needs: ``approvers`` regular approvals and, when
    ``dpo``, the DPO's. Only approvals that count now are counted (``counting_approvals``)."""

    approvers: int
    dpo: bool

    @property
    def total(self) -> int:
        """Approvals missing, the DPO's counted as one."""
        return self.approvers + int(self.dpo)

    def __str__(self) -> str:
        if not self.total:
            return "none"
        if not self.approvers:
            return "1 more, the DPO's"
        if self.dpo:
            return f"{self.total} more, including the DPO's"
        return f"{self.approvers} more"


def approvals_still_needed(request: AccessRequest) -> ApprovalsNeeded:
    """The one answer to "how many approvals does this request still need?", used by every
    page, message, email and by ``access_request_approve`` itself.

    A row from ``with_queue_columns`` is answered from its annotations (lists stay at a
    constant number of queries); any other request is read from the database now. A row is
    not refreshed by ``refresh_from_db``: load it again through the queryset after a change.
    """
    if hasattr(request, "n_regular_approvals"):
        queued = cast(_QueueColumns, request)
        regular, has_dpo = queued.n_regular_approvals, queued.has_dpo_approval
    else:
        approvals = counting_approvals().filter(request_id=request.pk)
        regular = approvals.filter(as_dpo=False).count()
        has_dpo = approvals.filter(as_dpo=True).exists()
    return ApprovalsNeeded(
        approvers=max(0, request.approvals_required - regular),
        dpo=bool(request.dpo_required and not has_dpo),
    )


def approvals_still_needed_label(request: AccessRequest) -> str:
    """``approvals_still_needed`` as every page shows it ("—" once the request is decided)."""
    if request.status != RequestStatus.PENDING:
        return "—"
    return str(approvals_still_needed(request))


def approvals_no_longer_counting(request: AccessRequest) -> QuerySet[Approval]:
    """Approvals of ``request`` whose approver has since lost the right to decide it."""
    return (
        Approval.objects.filter(request_id=request.pk, decision=Decision.APPROVE)
        .exclude(pk__in=counting_approvals().filter(request_id=request.pk).values("pk"))
        .select_related("approver")
    )


def request_lapse_time(request: AccessRequest) -> datetime:
    """When a pending ``request`` lapses by the clock, whatever its status column says: the
    earliest of its stored deadline, its creation plus the pending timeout of the policy it
    was made under, the end of its window and, for an extension, the end of the grant it
    extends. Aware datetime (UTC arithmetic, elapsed time)."""
    times = [request.ends_at]
    if request.lapses_at is not None:
        times.append(request.lapses_at)
    timeout = (request.policy_snapshot or {}).get("pending_timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        times.append(request.created_at + timedelta(seconds=timeout))
    if request.extends_grant_id:
        extended = Grant.objects.filter(pk=request.extends_grant_id).values_list(
            "ends_at", flat=True
        )
        times.extend(extended)
    return min(times)


def grant_holder_entitled_q() -> Q:
    """On grants: the holder is still active and may still ask for the grant's role or
    asset today (``request_ineligibility`` as SQL, for the reconcile's batches)."""
    return Q(user__is_active=True) & requester_eligible_q(
        user="user_id", role="request__role_id", asset="request__asset_id"
    )


def request_ineligibility(request: AccessRequest) -> str:
    """Why the requester of ``request`` may no longer have what it asks for today, as a
    sentence ('' when they still may): their account is no longer active, the role is no
    longer offered, or they may no longer ask for that role or asset (the role's
    "requestable by" lists, read now). Art. 5(1)(f) and Art. 32 GDPR: access only for those
    entitled to it at the moment it is given."""
    user = get_user_model().objects.filter(pk=request.requester_id).first()
    if user is None or not user.is_active:
        return f"{request.requester}'s account is no longer active"
    if request.role_id:
        role = request.role
        assert role is not None, "role_id is set, so the role loads"
        if not role.is_active:
            return f"the role “{role}” is no longer offered"
    eligible = (
        AccessRequest.objects.filter(pk=request.pk)
        .filter(requester_eligible_q(user="requester_id", role="role_id", asset="asset_id"))
        .exists()
    )
    if not eligible:
        return f"{user} is no longer eligible for {request.target_label}"
    return ""


def sensitivity_label(rank: int | None) -> str:
    if rank is None or rank < 0 or rank >= len(SENSITIVITY_ORDER):
        return ""
    return str(Sensitivity(SENSITIVITY_ORDER[rank]).label)


def eligible_approvers_for(request: AccessRequest) -> QuerySet:
    """Active users who may decide ``request`` now and whose decision it still needs (used to
    notify them): not those who already decided it, approvers only while approvers are still
    needed, the DPO group only while the DPO's approval is (``approvals_still_needed``)."""
    User = get_user_model()
    perm_q = (
        Q(is_superuser=True)
        | Q(user_permissions__codename="decide_accessrequest")
        | Q(groups__permissions__codename="decide_accessrequest")
    )
    regular = Q(pk__in=[])
    if request.role_id:
        role = request.role
        assert role is not None, "role_id is set, so the role loads"
        regular |= Q(groups__in=role.approver_groups.all())
        if role.approve_by_asset_owner:
            regular |= Q(pk__in=role.assets.exclude(owner=None).values("owner_id"))
        if role.approve_by_steward_group:
            regular |= Q(groups__in=role.assets.exclude(steward_group=None).values("steward_group"))
    else:
        asset = request.asset
        assert asset is not None, "a request names a role or an asset (request_role_xor_asset)"
        roles = AccessRole.objects.filter(is_active=True, assets=asset)
        regular |= Q(groups__in=Group.objects.filter(pk__in=roles.values("approver_groups")))
        if asset.owner_id and roles.filter(approve_by_asset_owner=True).exists():
            regular |= Q(pk=asset.owner_id)
        if asset.steward_group_id and roles.filter(approve_by_steward_group=True).exists():
            regular |= Q(groups=asset.steward_group_id)
    needed = approvals_still_needed(request)
    eligible = regular if needed.approvers else Q(pk__in=[])
    if needed.dpo:
        eligible |= Q(groups__name=DPO)
    return (
        User.objects.filter(is_active=True)
        .filter(pk__in=User.objects.filter(perm_q).values("pk"))
        .filter(pk__in=User.objects.filter(eligible).values("pk"))
        .exclude(pk=request.requester_id)
        .exclude(pk__in=Approval.objects.filter(request_id=request.pk).values("approver_id"))
        .order_by("pk")
    )


# --- who holds access ----------------------------------------------------------------------


def holders_now(
    *,
    asset: DataAsset | None = None,
    user: User | None = None,
    at: datetime | None = None,
) -> QuerySet[Grant]:
    """Grants live right now, optionally for one asset and/or one user."""
    qs = Grant.objects.live(at)
    if asset is not None:
        qs = qs.filter(assets=asset)
    if user is not None:
        qs = qs.filter(user=user)
    return (
        qs.select_related("user", "request__role", "request__asset__system", "request")
        .prefetch_related("assets__system")
        .order_by("ends_at", "pk")
        .distinct()
    )


def policy_snapshot_of(request: AccessRequest) -> dict[str, Any]:
    return dict(request.policy_snapshot or {})
