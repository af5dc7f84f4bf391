"""Reads of the access app: queues, approvals still needed, live grants, registers.

The policies and who may ask for what live in ``apps.access.policies`` (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import Combinable, NegatedExpression
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

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

# Re-exported: callers read policies and who may ask through the selectors.
from .policies import ACTIONS as ACTIONS
from .policies import NO_TICKET_HINT as NO_TICKET_HINT
from .policies import Policy as Policy
from .policies import effective_policy as effective_policy
from .policies import requestable_assets_for as requestable_assets_for
from .policies import requestable_roles_for as requestable_roles_for
from .policies import requester_eligible_q as requester_eligible_q

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DECIDE_PERM = "access.decide_accessrequest"
SENSITIVITY_ORDER = [s.value for s in Sensitivity]


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
            return gettext("none")
        if not self.approvers:
            return gettext("1 more, the DPO's")
        if self.dpo:
            return gettext("%(count)s more, including the DPO's") % {"count": self.total}
        return gettext("%(count)s more") % {"count": self.approvers}


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
        return gettext("%(user)s's account is no longer active") % {"user": request.requester}
    if request.role_id:
        role = request.role
        assert role is not None, "role_id is set, so the role loads"
        if not role.is_active:
            return gettext("the role “%(role)s” is no longer offered") % {"role": role}
    eligible = (
        AccessRequest.objects.filter(pk=request.pk)
        .filter(requester_eligible_q(user="requester_id", role="role_id", asset="asset_id"))
        .exists()
    )
    if not eligible:
        return gettext("%(user)s is no longer eligible for %(target)s") % {
            "user": user,
            "target": request.target_label,
        }
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
