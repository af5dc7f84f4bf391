"""Every write of the access app: one function per transition of a request or grant.

Each service locks what it changes, checks the current state, writes, records an audit event
and queues its side effects (grant activation, mirror removal, email) to run after commit.
Access itself is decided from grant times at the moment of use (``backends.GrantBackend``);
the tasks and the periodic reconcile only tidy up (docs/architecture.md, invariants 1 and 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from guardian.models import UserObjectPermission

from apps.audit.models import AuditEvent
from apps.audit.services import EventSpec, audit_event_record, audit_events_record_bulk
from apps.inventory.models import DataAsset, ProcessingActivity
from jitportal.formats import datetime_display
from jitportal.inputs import has_visible_text, text_problem
from jitportal.timekeeping import as_utc, elapsed_between

from .backends import grant_cache_clear
from .models import (
    AccessRequest,
    AccessRole,
    Approval,
    Decision,
    Grant,
    GrantQuerySet,
    GrantStatus,
    RequestStatus,
)
from .selectors import (
    ACTIONS,
    NO_TICKET_HINT,
    Policy,
    approvals_no_longer_counting,
    approvals_still_needed,
    counting_approvals,
    decider_capacity,
    effective_policy,
    grant_holder_entitled_q,
    request_ineligibility,
    request_lapse_time,
    requestable_roles_for,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SYSTEM_BEAT = "system:beat"
SYSTEM_POLICY = "system:policy"
LAPSE_COMMENT = "Nobody decided before the request's deadline."
# A start a little in the past is "now": the form computed it a moment before posting.
START_SLACK = timedelta(minutes=5)


# --- small helpers ---------------------------------------------------------------------------


def human_duration(value: timedelta) -> str:
    """'2 days', '8 hours', '1 hour 30 minutes', '45 minutes'."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
    return " ".join(parts) or f"{seconds} seconds"


def _conf(name: str) -> Any:
    return settings.JITPORTAL[name]


def _is_aware(value: Any) -> bool:
    return isinstance(value, datetime) and timezone.is_aware(value)


def _notify(kind: str, object_id: int) -> None:
    from .outbox import notice_record

    notice_record(kind=kind, object_id=object_id)


def _queue_activation(grant_id: int, actor_id: int | None) -> None:
    from jitportal.tasking import enqueue_on_commit

    from .tasks import grant_activate_task

    enqueue_on_commit(grant_activate_task, grant_id, actor_id)


def _queue_mirror_sync(grant_id: int) -> None:
    from jitportal.tasking import enqueue_on_commit

    from .tasks import grant_mirror_sync_task

    enqueue_on_commit(grant_mirror_sync_task, grant_id)


def _refuse_control_characters(**fields: str) -> None:
    """Raise ValidationError ``{field: message}`` for free text holding control characters
    (ESC and the like reach emails, logs and terminals as they are; see jitportal.inputs).
    Every channel (portal, admin, commands) passes through here."""
    errors = {name: problem for name, value in fields.items() if (problem := text_problem(value))}
    if errors:
        raise ValidationError(errors)


def _lock_request(request_id: int) -> AccessRequest:
    try:
        return AccessRequest.objects.select_for_update(of=("self",)).get(pk=request_id)
    except AccessRequest.DoesNotExist:
        raise ValidationError(f"Access request #{request_id} does not exist.") from None


def _lock_grant(grant_id: int) -> Grant:
    try:
        return Grant.objects.select_for_update(of=("self",)).get(pk=grant_id)
    except Grant.DoesNotExist:
        raise ValidationError(f"Grant #{grant_id} does not exist.") from None


def _has_ended(grant: Grant, now: datetime) -> bool:
    return (
        grant.revoked_at is not None
        or grant.ends_at <= now
        or grant.status in {GrantStatus.EXPIRED, GrantStatus.REVOKED}
    )


def _window_data(starts_at: datetime, ends_at: datetime) -> dict[str, str]:
    return {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}


# --- the guardian mirror ----------------------------------------------------------------------


def _data_perm_ids() -> dict[str, int]:
    ct = ContentType.objects.get_for_model(DataAsset)
    found = dict(
        Permission.objects.filter(
            content_type=ct, codename__in=[f"{a}_data" for a in ACTIONS]
        ).values_list("codename", "pk")
    )
    return {a: found[f"{a}_data"] for a in ACTIONS}


def _grant_rights(grant_ids: Iterable[int]) -> list[tuple[int, int, str]]:
    """(user_id, asset_id, action) for every right the given grants give."""
    rows = Grant.assets.through.objects.filter(grant_id__in=list(grant_ids)).values_list(
        "grant__user_id",
        "dataasset_id",
        "grant__can_view",
        "grant__can_change",
        "grant__can_export",
    )
    out: list[tuple[int, int, str]] = []
    for user_id, asset_id, *flags in rows:
        out.extend(
            (user_id, asset_id, action) for action, on in zip(ACTIONS, flags, strict=True) if on
        )
    return out


def mirror_add(*, grant_ids: Iterable[int]) -> int:
    """Write the guardian object-permission rows the grants give (existing rows are kept)."""
    rights = _grant_rights(grant_ids)
    if not rights:
        return 0
    perm_ids = _data_perm_ids()
    ct = ContentType.objects.get_for_model(DataAsset)
    rows = [
        UserObjectPermission(
            user_id=user_id,
            content_type=ct,
            object_pk=str(asset_id),
            permission_id=perm_ids[action],
        )
        for user_id, asset_id, action in set(rights)
    ]
    UserObjectPermission.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    return len(rows)


def _in_ids(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """SQL for "``column`` is one of ``ids``" and its parameters.

    On PostgreSQL the ids travel as one array parameter: a thousand placeholders cost more
    to build, send and parse than the rows they name. Elsewhere, one placeholder per id.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _grants_update(ids: list[int], **values: Any) -> int:
    """``Grant.objects.filter(pk__in=ids).update(**values)`` with the ids sent as one array
    on PostgreSQL (see ``_in_ids``): the bulk paths update a thousand grants at a time."""
    if not ids:
        return 0
    qn = connection.ops.quote_name
    where, params = _in_ids(qn(Grant._meta.pk.column), ids)
    assignments, new = [], []
    for name, value in values.items():
        field = Grant._meta.get_field(name)
        if not isinstance(field, models.Field) or not field.column:
            raise TypeError(f"{name} is not a column of a grant.")
        assignments.append(f"{qn(field.column)} = %s")
        new.append(field.get_db_prep_value(value, connection))
    columns = ", ".join(assignments)
    with connection.cursor() as cursor:
        cursor.execute(
            # Names come from the model's meta, values are parameters.
            f"UPDATE {qn(Grant._meta.db_table)} SET {columns} WHERE {where}",  # noqa: S608
            [*new, *params],
        )
        return cursor.rowcount


def mirror_remove(*, grant_ids: Iterable[int], now: datetime | None = None) -> int:
    """Delete the guardian rows of the given grants, except a right on an asset that another
    grant of the same user still gives at ``now`` (docs/architecture.md, invariant 5: the last one to end wins).

    One statement whatever the number of grants: the rights the grants give (user, asset,
    permission) less those another live grant gives, deleted through guardian's unique
    (user, permission, object) index.
    """
    ids = list(grant_ids)
    if not ids:
        return 0
    at = connection.ops.adapt_datetimefield_value(now or timezone.now())
    perm_ids = _data_perm_ids()
    ct = ContentType.objects.get_for_model(DataAsset)
    qn = connection.ops.quote_name
    grant_t, link_t = qn(Grant._meta.db_table), qn(Grant.assets.through._meta.db_table)
    rights = " UNION ALL ".join(f"SELECT %s AS permission_id, '{a}' AS action" for a in ACTIONS)
    gives = (
        "CASE {alias}.action "
        + " ".join(f"WHEN '{a}' THEN {{grant}}.can_{a}" for a in ACTIONS)
        + " END"
    )
    # The batch is named on both sides of the join, so PostgreSQL walks both by index
    # instead of scanning the whole (ever growing) link table for a thousand rows.
    in_batch, in_batch_params = _in_ids("ga.grant_id", ids)
    in_batch_g, in_batch_g_params = _in_ids("g.id", ids)
    other, other_params = _in_ids("o.id", ids)
    # Names come from the models' meta and ACTIONS, values are parameters.
    sql = f"""
        DELETE FROM {qn(UserObjectPermission._meta.db_table)}
        WHERE content_type_id = %s AND (user_id, object_pk, permission_id) IN (
            SELECT g.user_id, CAST(ga.dataasset_id AS varchar(255)), p.permission_id
            FROM {grant_t} g
            JOIN {link_t} ga ON ga.grant_id = g.id
            JOIN ({rights}) p ON {gives.format(alias="p", grant="g")}
            WHERE {in_batch} AND {in_batch_g}
              AND NOT EXISTS (
                SELECT 1 FROM {grant_t} o
                JOIN {link_t} oa ON oa.grant_id = o.id
                WHERE o.user_id = g.user_id AND oa.dataasset_id = ga.dataasset_id
                  AND o.starts_at <= %s AND o.ends_at > %s AND o.revoked_at IS NULL
                  AND NOT ({other})
                  AND {gives.format(alias="p", grant="o")}
              )
        )
    """  # noqa: S608
    params = [
        ct.pk,
        *(perm_ids[a] for a in ACTIONS),
        *in_batch_params,
        *in_batch_g_params,
        at,
        at,
        *other_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- policies ---------------------------------------------------------------------------------


def access_role_record_change(
    *, role: AccessRole, actor: User | None, created: bool, actor_label: str = ""
) -> AuditEvent:
    """Record the settings of ``role`` as they are now (after an admin create or change)."""
    data: dict[str, Any] = {"created": created}
    for f in AccessRole._meta.concrete_fields:
        if f.name in {"id", "created_at", "updated_at"}:
            continue
        value = getattr(role, f.attname)
        data[f.name] = int(value.total_seconds()) if isinstance(value, timedelta) else value
    data["assets"] = sorted(str(a) for a in role.assets.select_related("system"))
    data["asset_ids"] = sorted(role.assets.values_list("pk", flat=True))
    data["requestable_by_groups"] = sorted(
        role.requestable_by_groups.values_list("name", flat=True)
    )
    data["requestable_by_users"] = sorted(
        role.requestable_by_users.values_list("username", flat=True)
    )
    data["approver_groups"] = sorted(role.approver_groups.values_list("name", flat=True))
    data["dpo_required_effective"] = (
        role.require_dpo or role.assets.filter(is_special=True).exists()
    )
    return audit_event_record(
        action="access.role.changed",
        actor=actor,
        actor_label=actor_label,
        target=role,
        reason="created" if created else "changed",
        data=data,
    )


def access_role_record_deleted(*, role: AccessRole, actor: User | None) -> AuditEvent:
    """Record that ``role`` is being deleted (it had no requests: they protect it)."""
    return audit_event_record(
        action="access.role.deleted",
        actor=actor,
        target=role,
        reason="deleted",
        data={"name": role.name, "asset_ids": sorted(role.assets.values_list("pk", flat=True))},
    )


# --- requests ---------------------------------------------------------------------------------


def _validate_text_fields(
    *,
    policy: Policy,
    justification: str,
    ticket: str,
    processing_activity: ProcessingActivity | None,
    errors: dict[str, str],
) -> None:
    if policy.require_justification and not has_visible_text(justification):
        errors["justification"] = "Say why you need this access; this policy requires it."
    elif problem := text_problem(justification):
        errors["justification"] = problem
    ticket_max = AccessRequest._meta.get_field("ticket").max_length
    assert ticket_max is not None, "AccessRequest.ticket is a CharField with a max_length"
    if ticket and len(ticket) > ticket_max:
        errors["ticket"] = "The ticket reference is too long (100 characters at most)."
    elif policy.require_ticket and not ticket:
        errors["ticket"] = "Give the ticket this access is for; this policy requires one."
    elif ticket and not policy.ticket_matches(ticket):
        # Staff are told what the DPO wrote for them (the role's ticket hint), never the pattern.
        errors["ticket"] = (
            f"“{ticket}” is not a ticket reference this policy accepts. "
            f"Expected: {(policy.ticket_hint_text or NO_TICKET_HINT).rstrip('.')}."
        )
    if problem := text_problem(ticket, multiline=False):
        errors["ticket"] = problem
    if processing_activity is not None and not processing_activity.is_active:
        errors["processing_activity"] = (
            f"“{processing_activity}” is no longer an active processing activity."
        )


def _check_window(
    *, policy: Policy, starts_at: Any, ends_at: Any, now: datetime, errors: dict[str, str]
) -> datetime | None:
    """Validate the window; returns the effective start (a start just past is now)."""
    if not _is_aware(starts_at):
        errors["starts_at"] = "Give a start date and time."
    if not _is_aware(ends_at):
        errors["ends_at"] = "Give an end date and time."
    if errors.keys() & {"starts_at", "ends_at"}:
        return None
    # Durations are elapsed time: compared in UTC, whatever zone the values carry.
    start, ends_at = as_utc(starts_at), as_utc(ends_at)
    if start < now - START_SLACK:
        errors["starts_at"] = "The start cannot be in the past."
        return None
    start = max(start, now)
    if start > now + START_SLACK:
        if not policy.allow_future_start:
            errors["starts_at"] = "This policy does not allow a later start; start now."
        elif start > now + policy.max_start_ahead:
            errors["starts_at"] = (
                f"The start can be at most {human_duration(policy.max_start_ahead)} ahead."
            )
    if ends_at <= start:
        errors["ends_at"] = "The end must be after the start."
    elif elapsed_between(start, ends_at) > policy.max_duration:
        errors["ends_at"] = (
            f"At most {human_duration(policy.max_duration)} can be asked for at once "
            f"(this asks for {human_duration(elapsed_between(start, ends_at))})."
        )
    return start


def _snapshot(policy: Policy, **extra: Any) -> dict[str, Any]:
    data = policy.as_snapshot()
    data.update(extra)
    return data


def _request_open(
    request: AccessRequest, *, policy: Policy, now: datetime, data: dict[str, Any]
) -> None:
    """Validate and save a new request, record it, then approve it at once (a policy that
    needs nobody) or tell its approvers. ``data`` adds to the audit event's window and policy."""
    request.full_clean()
    request.save()
    audit_event_record(
        action="access.request.submitted",
        actor=request.requester,
        target=request,
        reason=request.justification,
        data={
            **_window_data(request.starts_at, request.ends_at),
            **data,
            "policy": request.policy_snapshot,
        },
    )
    if policy.is_automatic:
        _approve_final(request=request, approver=None, comment="", now=now)
    else:
        _notify("request_submitted", request.pk)


def access_request_submit(
    *,
    requester: User,
    role: AccessRole | None = None,
    asset: DataAsset | None = None,
    starts_at: datetime,
    ends_at: datetime,
    justification: str = "",
    ticket: str = "",
    processing_activity: ProcessingActivity | None = None,
) -> AccessRequest:
    """Ask for ``role`` or a single ``asset`` for a window. A policy that needs no approval
    approves at once and creates the grant."""
    if not getattr(requester, "is_authenticated", False) or not requester.is_active:
        raise PermissionDenied("Only an active, signed-in user can ask for access.")
    if role is None and asset is None:
        raise ValidationError({"role": "Choose a role or a single data asset."})
    if role is not None and asset is not None:
        raise ValidationError({"role": "Choose a role or a single data asset, not both."})
    if role is not None:
        if not role.is_active:
            raise ValidationError({"role": f"The role “{role}” is no longer offered."})
        if not requestable_roles_for(requester).filter(pk=role.pk).exists():
            raise PermissionDenied(f"You may not ask for the role “{role}”.")
    else:
        assert asset is not None
        if asset.archived_at is not None:
            raise ValidationError({"asset": f"“{asset}” is archived: it is no longer offered."})
        if not requestable_roles_for(requester).filter(assets=asset).exists():
            raise PermissionDenied(f"You may not ask for access to “{asset}”.")
    policy = effective_policy(role=role, asset=asset, user=requester)
    justification = (justification or "").strip()
    ticket = (ticket or "").strip()
    now = timezone.now()
    errors: dict[str, str] = {}
    start = _check_window(
        policy=policy, starts_at=starts_at, ends_at=ends_at, now=now, errors=errors
    )
    _validate_text_fields(
        policy=policy,
        justification=justification,
        ticket=ticket,
        processing_activity=processing_activity,
        errors=errors,
    )
    if errors:
        raise ValidationError(errors)
    assert start is not None
    ends_at = as_utc(ends_at)

    with transaction.atomic():
        duplicate = (
            AccessRequest.objects.pending()
            .filter(requester=requester, role=role, asset=asset, extends_grant__isnull=True)
            .first()
        )
        if duplicate is not None:
            raise ValidationError(
                f"You already have a pending request for {duplicate.target_label} "
                f"(#{duplicate.pk}); cancel it or wait for the decision."
            )
        request = AccessRequest(
            requester=requester,
            role=role,
            asset=asset,
            processing_activity=processing_activity,
            starts_at=start,
            ends_at=ends_at,
            justification=justification,
            ticket=ticket,
            approvals_required=policy.approvals_required,
            dpo_required=policy.dpo_required,
            policy_snapshot=_snapshot(
                policy, role_id=role.pk if role else None, asset_id=asset.pk if asset else None
            ),
            lapses_at=min(now + policy.pending_timeout, ends_at),
            remind_at=now + policy.remind_approvers_after,
            created_at=now,
        )
        _request_open(
            request,
            policy=policy,
            now=now,
            data={
                "ticket": ticket,
                "processing_activity": processing_activity.pk if processing_activity else None,
            },
        )
    return request


def access_request_extend(
    *,
    grant_id: int,
    requester: User,
    ends_at: datetime,
    justification: str = "",
    ticket: str = "",
) -> AccessRequest:
    """Ask for a live or scheduled grant to run until ``ends_at``; decided like any request,
    and its approval moves the grant's end (recorded as ``access.grant.extended``)."""
    try:
        grant = Grant.objects.select_related("request__role", "request__asset").get(pk=grant_id)
    except Grant.DoesNotExist:
        raise ValidationError(f"Grant #{grant_id} does not exist.") from None
    if grant.user_id != requester.pk or not requester.is_active:
        raise PermissionDenied("Only the holder of a grant can ask to extend it.")
    now = timezone.now()
    if _has_ended(grant, now):
        raise ValidationError("This access has already ended; ask for access again instead.")
    if grant.is_break_glass:
        raise ValidationError("Break-glass access cannot be extended; ask for access instead.")
    original = grant.request
    role, asset = original.role, original.asset
    if role is not None and not role.is_active:
        raise ValidationError(f"The role “{role}” is no longer offered; it cannot be extended.")
    _refuse_if_ineligible(original, doing="extended", what=f"Grant #{grant.pk}")
    policy = effective_policy(role=role, asset=asset, user=requester)
    justification = (justification or "").strip()
    ticket = (ticket or "").strip()
    errors: dict[str, str] = {}
    if not _is_aware(ends_at):
        errors["ends_at"] = "Give the new end date and time."
    elif ends_at <= grant.ends_at:
        errors["ends_at"] = (
            f"The new end must be after the current end ({datetime_display(grant.ends_at)})."
        )
    elif elapsed_between(grant.ends_at, ends_at) > policy.max_duration:
        errors["ends_at"] = f"An extension can add at most {human_duration(policy.max_duration)}."
    elif reach_error := _extension_reach_error(grant=grant, ends_at=ends_at, policy=policy):
        errors["ends_at"] = reach_error
    _validate_text_fields(
        policy=policy,
        justification=justification,
        ticket=ticket,
        processing_activity=None,
        errors=errors,
    )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        grant = _lock_grant(grant_id)
        if _has_ended(grant, now):
            raise ValidationError("This access has already ended; ask for access again instead.")
        if AccessRequest.objects.pending().filter(extends_grant=grant).exists():
            raise ValidationError("An extension of this access is already waiting for a decision.")
        request = AccessRequest(
            requester=requester,
            role=role,
            asset=asset,
            processing_activity=original.processing_activity,
            starts_at=grant.ends_at,
            ends_at=ends_at,
            justification=justification,
            ticket=ticket,
            extends_grant=grant,
            approvals_required=policy.approvals_required,
            dpo_required=policy.dpo_required,
            policy_snapshot=_snapshot(
                policy,
                role_id=role.pk if role else None,
                asset_id=asset.pk if asset else None,
                extends_grant=grant.pk,
            ),
            # It has to be decided while the grant still runs.
            lapses_at=min(now + policy.pending_timeout, grant.ends_at),
            remind_at=now + policy.remind_approvers_after,
            created_at=now,
        )
        _request_open(
            request, policy=policy, now=now, data={"extends_grant": grant.pk, "ticket": ticket}
        )
    return request


def access_request_cancel(*, request_id: int, actor: User) -> AccessRequest:
    """The requester withdraws a pending request."""
    with transaction.atomic():
        request = _lock_request(request_id)
        if request.requester_id != actor.pk:
            raise PermissionDenied("Only the person who asked can cancel a request.")
        if request.status != RequestStatus.PENDING:
            raise ValidationError(
                f"Request #{request.pk} is already {request.get_status_display().lower()}; "
                "only a pending request can be cancelled."
            )
        now = timezone.now()
        request.status = RequestStatus.CANCELLED
        request.decided_at = now
        request.decided_by = actor
        request.save(update_fields=["status", "decided_at", "decided_by"])
        audit_event_record(
            action="access.request.cancelled",
            actor=actor,
            target=request,
            data={"policy": request.policy_snapshot},
        )
    return request


def _check_decidable(*, request: AccessRequest, approver: User, now: datetime) -> set[str]:
    if request.requester_id == approver.pk:
        raise PermissionDenied("Nobody can decide their own request.")
    if request.status != RequestStatus.PENDING:
        raise ValidationError(
            f"Request #{request.pk} was already {request.get_status_display().lower()}; "
            "nothing was changed."
        )
    capacity = decider_capacity(request=request, user=approver)
    if not capacity:
        raise PermissionDenied(
            f"You are not an approver for {request.target_label}; nothing was changed."
        )
    if request.approvals.filter(approver=approver).exists():
        raise ValidationError(
            "You have already decided on this request; another approver has to decide now."
        )
    return capacity


# --- re-checks at the moment of a decision (docs/access.md, "Decisions are re-checked") ---


def _fresh_user(user: User) -> User:
    """``user`` as the database has it now: an object loaded earlier keeps its old
    ``is_active`` and its cached permissions."""
    found = get_user_model()._default_manager.filter(pk=user.pk).first()
    return found if found is not None else user


def _request_lapse(request: AccessRequest, *, now: datetime, noticed_by: User | None) -> None:
    """Mark a pending request lapsed now, as the reconcile's sweep would."""
    lapse = request_lapse_time(request)
    request.status = RequestStatus.LAPSED
    request.decided_at = now
    request.decision_comment = LAPSE_COMMENT
    request.save(update_fields=["status", "decided_at", "decision_comment"])
    audit_event_record(
        action="access.request.lapsed",
        actor_label=SYSTEM_POLICY,
        target=request,
        reason=LAPSE_COMMENT,
        data={
            "lapses_at": lapse.isoformat(),
            "noticed_by": noticed_by.get_username() if noticed_by else None,
        },
    )
    _notify("request_decided", request.pk)


def _lapse_if_due(*, request_id: int, decider: User) -> None:
    """Before a decision, read the clock: a pending request past its lapse time
    (``selectors.request_lapse_time``, whatever the status column says) is lapsed now, with
    its audit event and notice, in a transaction of its own that commits before the
    decision is refused (called outside a transaction, as views and tasks do)."""
    with transaction.atomic():
        request = _lock_request(request_id)
        now = timezone.now()
        _check_decidable(request=request, approver=decider, now=now)
        lapse = request_lapse_time(request)
        if lapse > now:
            return
        _request_lapse(request, now=now, noticed_by=decider)
    raise ValidationError(_lapsed_message(request_id, lapse))


def _lapsed_message(request_id: int, lapse: datetime) -> str:
    return (
        f"Request #{request_id} lapsed at {datetime_display(lapse)}: nobody "
        "decided it in time, so it can no longer be decided. It is now marked lapsed; "
        "nothing else was changed."
    )


def _refuse_if_lapsed(request: AccessRequest, *, now: datetime) -> None:
    """The same clock check inside the decision's own transaction (a lapse time passed
    while waiting for the lock): refused; the sweep marks it."""
    lapse = request_lapse_time(request)
    if lapse <= now:
        raise ValidationError(_lapsed_message(request.pk, lapse))


def _refuse_if_ineligible(request: AccessRequest, *, doing: str, what: str = "") -> None:
    """Refuse when the requester is no longer active or no longer eligible for what the
    request asks for (``selectors.request_ineligibility``); nothing is changed."""
    if why := request_ineligibility(request):
        what = what or f"Request #{request.pk}"
        raise ValidationError(f"{what} cannot be {doing}: {why}. Nothing was changed.")


def _extension_reach_error(*, grant: Grant, ends_at: datetime, policy: Policy) -> str:
    """Why moving ``grant``'s end to ``ends_at`` would reach further from its start than
    the policy's ``max_total_duration`` allows ('' when it does not)."""
    limit = policy.max_total_duration
    reach = ends_at - grant.starts_at
    if reach <= limit:
        return ""
    latest = timezone.localtime(grant.starts_at + limit)
    return (
        f"One grant may reach at most {human_duration(limit)} from its start through "
        f"extensions (this would reach {human_duration(reach)}); the latest end is "
        f"{datetime_display(latest)}. Ask for access again instead."
    )


def _grant_end_unentitled(grant: Grant, *, why: str, now: datetime) -> None:
    """A scheduled grant whose holder is no longer entitled at its start never becomes
    live: it is revoked (no one revoked it: ``revoked_by`` stays empty), with the reason,
    an ``access.grant.revoked`` event, its pending extensions cancelled and the holder told."""
    reason = f"Ended at its start: {why}."
    grant.revoked_at = now
    grant.revoke_reason = reason
    grant.status = GrantStatus.REVOKED
    grant.save(update_fields=["revoked_at", "revoke_reason", "status"])
    audit_event_record(
        action="access.grant.revoked",
        actor_label=SYSTEM_POLICY,
        target=grant,
        reason=reason,
        data={
            "holder": grant.user_id,
            "not_entitled": True,
            **_window_data(grant.starts_at, grant.ends_at),
        },
    )
    for pending in AccessRequest.objects.pending().filter(extends_grant=grant):
        pending.status = RequestStatus.CANCELLED
        pending.decided_at = now
        pending.decision_comment = reason
        pending.save(update_fields=["status", "decided_at", "decision_comment"])
        audit_event_record(
            action="access.request.cancelled",
            actor_label=SYSTEM_POLICY,
            target=pending,
            reason=reason,
        )
    grant_cache_clear(grant.user)
    _notify("grant_revoked", grant.pk)


def access_request_approve(
    *,
    request_id: int,
    approver: User,
    comment: str = "",
    ends_at: datetime | None = None,
) -> AccessRequest:
    """Record one approval. When enough distinct eligible approvals (and the DPO's, when
    required) are in, the request is approved and exactly one grant is created (or, for an
    extension, the grant's end moves). ``ends_at`` may only shorten the window."""
    comment = (comment or "").strip()
    _refuse_control_characters(comment=comment)
    approver = _fresh_user(approver)
    _lapse_if_due(request_id=request_id, decider=approver)
    with transaction.atomic():
        request = _lock_request(request_id)
        now = timezone.now()
        capacity = _check_decidable(request=request, approver=approver, now=now)
        _refuse_if_lapsed(request, now=now)
        _refuse_if_ineligible(request, doing="approved")
        if request.ends_at <= now:
            raise ValidationError(
                "The requested window has already ended; the request can only be denied."
            )
        grant = None
        if request.extends_grant_id:
            grant = _lock_grant(request.extends_grant_id)
            if _has_ended(grant, now):
                raise ValidationError(
                    "The access this request extends has already ended; deny it instead."
                )
        # Only approvals that still count fill a slot (selectors.counting_approvals).
        has_dpo = counting_approvals().filter(request_id=request.pk, as_dpo=True).exists()
        if "dpo" in capacity and request.dpo_required and not has_dpo:
            as_dpo = True
        elif "approver" in capacity:
            as_dpo = False
        else:
            raise PermissionDenied(
                "The DPO's approval is already in; an approver for "
                f"{request.target_label} has to approve now."
            )
        original_end = request.ends_at
        if ends_at is not None:
            floor = max(request.starts_at, now)
            if not _is_aware(ends_at):
                raise ValidationError({"ends_at": "Give a date and time for the new end."})
            if ends_at > request.ends_at:
                raise ValidationError(
                    {"ends_at": "An approver can shorten the window, not lengthen it."}
                )
            if ends_at <= floor:
                raise ValidationError(
                    {"ends_at": "The shortened end must be after the start (and in the future)."}
                )
            if ends_at != request.ends_at:
                request.ends_at = ends_at
                request.save(update_fields=["ends_at"])
        approval = Approval(
            request=request,
            approver=approver,
            decision=Decision.APPROVE,
            as_dpo=as_dpo,
            comment=comment,
            created_at=now,
        )
        approval.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                approval.save()
        except IntegrityError:
            raise ValidationError("You have already decided on this request.") from None
        missing = approvals_still_needed(request).total
        audit_event_record(
            action="access.approval.given",
            actor=approver,
            target=request,
            reason=comment,
            data={
                "as_dpo": as_dpo,
                "approvals_still_needed": missing,
                "shortened_from": original_end.isoformat()
                if request.ends_at != original_end
                else None,
                "ends_at": request.ends_at.isoformat(),
                "no_longer_counting": [
                    a.approver.get_username() for a in approvals_no_longer_counting(request)
                ],
            },
        )
        if missing == 0:
            _approve_final(
                request=request, approver=approver, comment=comment, now=now, grant=grant
            )
    return request


def _approve_final(
    *,
    request: AccessRequest,
    approver: User | None,
    comment: str,
    now: datetime,
    grant: Grant | None = None,
) -> None:
    # Every path to a grant passes here: the requester's facts are read again now.
    _refuse_if_ineligible(request, doing="approved")
    request.status = RequestStatus.APPROVED
    request.decided_at = now
    request.decided_by = approver
    request.decision_comment = comment if approver else "Approved automatically by the policy."
    request.save(update_fields=["status", "decided_at", "decided_by", "decision_comment"])
    actor_label = "" if approver else SYSTEM_POLICY
    if request.extends_grant_id:
        grant = grant or _lock_grant(request.extends_grant_id)
        if _has_ended(grant, now):
            raise ValidationError("The access this request extends has already ended.")
        policy = effective_policy(role=request.role, asset=request.asset, user=request.requester)
        if reach_error := _extension_reach_error(
            grant=grant, ends_at=request.ends_at, policy=policy
        ):
            raise ValidationError(f"Request #{request.pk} cannot be approved: {reach_error}")
        previous = grant.ends_at
        grant.ends_at = max(grant.ends_at, request.ends_at)
        grant.expiry_warned_at = None
        grant.full_clean(exclude=["request", "user", "assets"])
        grant.save(update_fields=["ends_at", "expiry_warned_at"])
        audit_event_record(
            action="access.request.approved",
            actor=approver,
            actor_label=actor_label,
            target=request,
            reason=request.decision_comment,
            data={"extends_grant": grant.pk, "policy": request.policy_snapshot},
        )
        audit_event_record(
            action="access.grant.extended",
            actor=approver,
            actor_label=actor_label,
            target=grant,
            reason=request.justification,
            data={
                "request": request.pk,
                "previous_ends_at": previous.isoformat(),
                "ends_at": grant.ends_at.isoformat(),
            },
        )
        grant_cache_clear(grant.user)
        _notify("request_decided", request.pk)
        return
    snap = request.policy_snapshot or {}
    new = Grant(
        request=request,
        user_id=request.requester_id,
        can_view=bool(snap.get("can_view", True)),
        can_change=bool(snap.get("can_change", False)),
        can_export=bool(snap.get("can_export", False)),
        starts_at=max(request.starts_at, now),
        ends_at=request.ends_at,
        status=GrantStatus.SCHEDULED,
        created_at=now,
    )
    new.full_clean(exclude=["assets"])
    new.save()
    if request.role is not None:
        # An asset archived since the role was set up is not granted any more.
        assets = list(request.role.assets.current())
    else:
        assert request.asset is not None, (
            "a request names a role or an asset (request_role_xor_asset)"
        )
        assets = [request.asset]
    new.assets.set(assets)
    audit_event_record(
        action="access.request.approved",
        actor=approver,
        actor_label=actor_label,
        target=request,
        reason=request.decision_comment,
        data={
            "grant": new.pk,
            **_window_data(new.starts_at, new.ends_at),
            "assets": [a.pk for a in assets],
            "rights": [a for a in ACTIONS if getattr(new, f"can_{a}")],
            "approvers": list(
                request.approvals.filter(decision=Decision.APPROVE).values_list(
                    "approver__username", flat=True
                )
            ),
            "policy": request.policy_snapshot,
        },
    )
    grant_cache_clear(request.requester)
    _queue_activation(new.pk, approver.pk if approver else None)
    _notify("request_decided", request.pk)


def access_request_deny(*, request_id: int, approver: User, reason: str) -> AccessRequest:
    """One eligible approver's denial ends a pending request; a reason is required."""
    reason = (reason or "").strip()
    if not has_visible_text(reason):
        raise ValidationError({"reason": "Give a reason for the denial."})
    _refuse_control_characters(reason=reason)
    approver = _fresh_user(approver)
    _lapse_if_due(request_id=request_id, decider=approver)
    with transaction.atomic():
        request = _lock_request(request_id)
        now = timezone.now()
        capacity = _check_decidable(request=request, approver=approver, now=now)
        _refuse_if_lapsed(request, now=now)
        approval = Approval(
            request=request,
            approver=approver,
            decision=Decision.DENY,
            as_dpo="approver" not in capacity,
            comment=reason,
            created_at=now,
        )
        approval.full_clean(validate_unique=False)
        approval.save()
        request.status = RequestStatus.DENIED
        request.decided_at = now
        request.decided_by = approver
        request.decision_comment = reason
        request.save(update_fields=["status", "decided_at", "decided_by", "decision_comment"])
        audit_event_record(
            action="access.request.denied",
            actor=approver,
            target=request,
            reason=reason,
            data={"as_dpo": approval.as_dpo, "policy": request.policy_snapshot},
        )
        _notify("request_decided", request.pk)
    return request


def _cancel_pending_extensions(*, grant: Grant, actor: User, why: str) -> None:
    now = timezone.now()
    for request in AccessRequest.objects.pending().filter(extends_grant=grant).select_for_update():
        request.status = RequestStatus.CANCELLED
        request.decided_at = now
        request.decided_by = actor
        request.decision_comment = why
        request.save(update_fields=["status", "decided_at", "decided_by", "decision_comment"])
        audit_event_record(
            action="access.request.cancelled", actor=actor, target=request, reason=why
        )


# --- grants -------------------------------------------------------------------------------------


def grant_activate(
    *, grant_id: int, now: datetime | None = None, actor: User | None = None
) -> Grant | None:
    """Mark a scheduled grant whose window has begun active and mirror it. Idempotent."""
    with transaction.atomic():
        grant = Grant.objects.select_for_update(of=("self",)).filter(pk=grant_id).first()
        if grant is None:
            return None
        now = now or timezone.now()
        if grant.status != GrantStatus.SCHEDULED or not grant.is_live(now):
            return grant
        if why := request_ineligibility(grant.request):
            _grant_end_unentitled(grant, why=why, now=now)
            return grant
        mirror_add(grant_ids=[grant.pk])
        grant.status = GrantStatus.ACTIVE
        grant.mirrored = True
        grant.save(update_fields=["status", "mirrored"])
        audit_event_record(
            action="access.grant.activated",
            actor=actor,
            actor_label="" if actor else SYSTEM_BEAT,
            target=grant,
            data=_window_data(grant.starts_at, grant.ends_at),
        )
    return grant


def grant_mirror_sync(*, grant_id: int, now: datetime | None = None) -> Grant | None:
    """Remove the guardian rows of a grant that no longer gives access. Idempotent."""
    with transaction.atomic():
        grant = Grant.objects.select_for_update(of=("self",)).filter(pk=grant_id).first()
        if grant is None:
            return None
        now = now or timezone.now()
        if grant.is_live(now) or not grant.mirrored:
            return grant
        mirror_remove(grant_ids=[grant.pk], now=now)
        grant.mirrored = False
        grant.save(update_fields=["mirrored"])
    return grant


def grant_revoke(*, grant_id: int, actor: User, reason: str) -> Grant:
    """Take a scheduled or live grant away at once; a reason is required."""
    reason = (reason or "").strip()
    if not actor.is_active or not actor.has_perm("access.revoke_grant"):
        raise PermissionDenied("You may not revoke access.")
    if not has_visible_text(reason):
        raise ValidationError({"reason": "Give a reason for revoking this access."})
    _refuse_control_characters(reason=reason)
    with transaction.atomic():
        grant = _lock_grant(grant_id)
        now = timezone.now()
        if _has_ended(grant, now):
            raise ValidationError(f"Grant #{grant.pk} has already ended; nothing was changed.")
        grant.revoked_at = now
        grant.revoked_by = actor
        grant.revoke_reason = reason
        grant.status = GrantStatus.REVOKED
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "status"])
        audit_event_record(
            action="access.grant.revoked",
            actor=actor,
            target=grant,
            reason=reason,
            data={"holder": grant.user_id, **_window_data(grant.starts_at, grant.ends_at)},
        )
        _cancel_pending_extensions(grant=grant, actor=actor, why="The access was revoked.")
        grant_cache_clear(grant.user)
        _queue_mirror_sync(grant.pk)
        _notify("grant_revoked", grant.pk)
    return grant


def grant_relinquish(*, grant_id: int, actor: User) -> Grant:
    """The holder gives access back early: it ends now (or never starts)."""
    with transaction.atomic():
        grant = _lock_grant(grant_id)
        if grant.user_id != actor.pk:
            raise PermissionDenied("Only the holder can give this access back.")
        now = timezone.now()
        if _has_ended(grant, now):
            raise ValidationError("This access has already ended; nothing was changed.")
        previous_end = grant.ends_at
        if grant.starts_at < now:
            grant.ends_at = now
            grant.status = GrantStatus.EXPIRED
            grant.save(update_fields=["ends_at", "status"])
        else:
            # Not started yet: the window cannot end before it begins, so it is withdrawn.
            grant.revoked_at = now
            grant.revoked_by = actor
            grant.revoke_reason = "Given back by the holder before it started."
            grant.status = GrantStatus.REVOKED
            grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "status"])
        audit_event_record(
            action="access.grant.relinquished",
            actor=actor,
            target=grant,
            data={
                "previous_ends_at": previous_end.isoformat(),
                "ended_at": now.isoformat(),
            },
        )
        _cancel_pending_extensions(grant=grant, actor=actor, why="The access was given back.")
        grant_cache_clear(actor)
        _queue_mirror_sync(grant.pk)
    return grant


def grant_break_glass(
    *,
    user: User,
    asset: DataAsset,
    duration: timedelta,
    reason: str,
    can_change: bool = False,
    can_export: bool = False,
) -> Grant:
    """Immediate self-granted access for an emergency: short, reasoned, flagged for the
    DPO's review, and the DPO group is emailed at once."""
    current = _fresh_user(user)
    if not current.is_active or not current.has_perm("access.break_glass"):
        raise PermissionDenied("You may not take break-glass access.")
    reason = (reason or "").strip()
    limit: timedelta = _conf("BREAK_GLASS_MAX")
    errors: dict[str, str] = {}
    if not has_visible_text(reason):
        errors["reason"] = "Say what the emergency is; break-glass access needs a reason."
    elif problem := text_problem(reason):
        errors["reason"] = problem
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        errors["duration"] = "Give a duration longer than zero."
    elif duration > limit:
        errors["duration"] = f"Break-glass access lasts at most {human_duration(limit)}."
    if not isinstance(asset, DataAsset):
        errors["asset"] = "Choose the data asset."
    elif asset.archived_at is not None:
        errors["asset"] = f"“{asset}” is archived: it is no longer offered."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        now = timezone.now()
        request = AccessRequest(
            requester=user,
            asset=asset,
            starts_at=now,
            ends_at=now + duration,
            justification=reason,
            is_break_glass=True,
            status=RequestStatus.APPROVED,
            approvals_required=0,
            dpo_required=False,
            policy_snapshot={
                "break_glass": True,
                "break_glass_max": int(limit.total_seconds()),
                "can_view": True,
                "can_change": can_change,
                "can_export": can_export,
            },
            created_at=now,
            decided_at=now,
            decided_by=user,
            decision_comment="Break-glass: self-granted, to be reviewed by the DPO.",
        )
        request.full_clean()
        request.save()
        grant = Grant(
            request=request,
            user=user,
            can_view=True,
            can_change=can_change,
            can_export=can_export,
            starts_at=now,
            ends_at=now + duration,
            status=GrantStatus.ACTIVE,
            is_break_glass=True,
            needs_review=True,
            mirrored=True,
            created_at=now,
        )
        grant.full_clean(exclude=["assets"])
        grant.save()
        grant.assets.set([asset])
        mirror_add(grant_ids=[grant.pk])
        audit_event_record(
            action="access.breakglass.used",
            actor=user,
            target=grant,
            reason=reason,
            data={
                "asset": asset.pk,
                "asset_name": str(asset),
                "special": asset.is_special,
                "request": request.pk,
                "rights": [a for a in ACTIONS if getattr(grant, f"can_{a}")],
                **_window_data(grant.starts_at, grant.ends_at),
                "policy": request.policy_snapshot,
            },
        )
        grant_cache_clear(user)
        _notify("break_glass", grant.pk)
    return grant


def grant_mark_reviewed(*, grant_id: int, reviewer: User, comment: str = "") -> Grant:
    """The DPO confirms a break-glass use was looked at."""
    if not reviewer.is_active or not reviewer.has_perm("access.review_grant"):
        raise PermissionDenied("You may not review break-glass access.")
    _refuse_control_characters(comment=(comment or "").strip())
    with transaction.atomic():
        grant = _lock_grant(grant_id)
        if grant.user_id == reviewer.pk:
            raise PermissionDenied("Someone else has to review your own break-glass access.")
        if not grant.is_break_glass or not grant.needs_review:
            raise ValidationError(f"Grant #{grant.pk} does not wait for a review.")
        grant.needs_review = False
        grant.reviewed_at = timezone.now()
        grant.reviewed_by = reviewer
        grant.save(update_fields=["needs_review", "reviewed_at", "reviewed_by"])
        audit_event_record(
            action="access.breakglass.reviewed",
            actor=reviewer,
            target=grant,
            reason=(comment or "").strip(),
            data={"holder": grant.user_id},
        )
    return grant


def access_record_view_log(*, user: User, obj: models.Model, grant: Grant) -> AuditEvent:
    """Record that ``user`` looked at a governed record under ``grant``."""
    ct = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    asset_ids = list(grant.assets.filter(governed_model=ct).values_list("pk", flat=True))
    return audit_event_record(
        action="access.record.viewed",
        actor=user,
        target=obj,
        data={"grant": grant.pk, "assets": asset_ids, "model": obj._meta.label_lower},
    )


# --- the periodic tidy-up -------------------------------------------------------------------------


class _AuditTarget:
    """A grant as the audit trail names it (model label, pk, text), built from values.

    The bulk paths read plain values instead of model instances: loading 1,000 grants with
    their users as models costs about three times as much as the values themselves.
    """

    __slots__ = ("_meta", "pk", "text")

    def __init__(self, pk: int, text: str) -> None:
        self._meta = Grant._meta
        self.pk = pk
        self.text = text

    def __str__(self) -> str:
        return self.text


_GRANT_ROW = ("pk", "user_id", "user__username", "starts_at", "ends_at")


def _grant_target(pk: int, username: str, starts_at: datetime, ends_at: datetime) -> Any:
    return _AuditTarget(pk, Grant.label_for(pk, username, starts_at, ends_at))


def _batches(step, *, now: datetime, size: int) -> int:
    """Run ``step`` until it finds nothing more: a backlog after downtime is caught up.

    Each step claims the next rows by primary key after the last one it saw (keyset), so a
    large backlog is one index range walked once, not rescanned from the start per batch.
    """
    total, after = 0, 0
    while True:
        done, last = step(now=now, size=size, after=after)
        total += done
        if done < size or last is None:
            return total
        after = last


def _claim_grants(due: GrantQuerySet, *, size: int, after: int) -> list[tuple[Any, ...]]:
    """The next ``size`` due grants after ``after``, locked; rows other workers hold are
    skipped (they are being done)."""
    return list(
        due.filter(pk__gt=after)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("pk")
        .values_list(*_GRANT_ROW)[:size]
    )


def _record_grant_events(rows: list[tuple[Any, ...]], *, action: str, now: datetime, data) -> None:
    audit_events_record_bulk(
        returning=False,
        events=[
            EventSpec(
                action=action,
                actor_label=SYSTEM_BEAT,
                target=_grant_target(pk, username, starts_at, ends_at),
                data=data(user_id, starts_at, ends_at),
                occurred_at=now,
            )
            for pk, user_id, username, starts_at, ends_at in rows
        ],
    )


def _activate_batch(*, now: datetime, size: int, after: int) -> tuple[int, int | None]:
    with transaction.atomic():
        due = Grant.objects.due_to_activate(now).filter(grant_holder_entitled_q())
        rows = _claim_grants(due, size=size, after=after)
        if not rows:
            return 0, None
        ids = [row[0] for row in rows]
        mirror_add(grant_ids=ids)
        _grants_update(ids, status=GrantStatus.ACTIVE, mirrored=True)
        _record_grant_events(
            rows,
            action="access.grant.activated",
            now=now,
            data=lambda _user_id, starts_at, ends_at: _window_data(starts_at, ends_at),
        )
    return len(rows), ids[-1]


def _end_unentitled_batch(*, now: datetime, size: int, after: int) -> tuple[int, int | None]:
    """Scheduled grants due to start whose holder is no longer entitled: ended, not
    activated (the same rule and reasons as ``grant_activate``)."""
    with transaction.atomic():
        due = Grant.objects.due_to_activate(now).exclude(grant_holder_entitled_q())
        rows = _claim_grants(due, size=size, after=after)
        if not rows:
            return 0, None
        grants = Grant.objects.filter(pk__in=[row[0] for row in rows]).select_related(
            "request__requester", "request__role", "request__asset"
        )
        for grant in grants.order_by("pk"):
            if why := request_ineligibility(grant.request):
                _grant_end_unentitled(grant, why=why, now=now)
    return len(rows), rows[-1][0]


def _expire_batch(*, now: datetime, size: int, after: int) -> tuple[int, int | None]:
    with transaction.atomic():
        rows = _claim_grants(Grant.objects.due_to_expire(now), size=size, after=after)
        if not rows:
            return 0, None
        ids = [row[0] for row in rows]
        mirror_remove(grant_ids=ids, now=now)
        _grants_update(ids, status=GrantStatus.EXPIRED, mirrored=False)
        _record_grant_events(
            rows,
            action="access.grant.expired",
            now=now,
            data=lambda user_id, _starts_at, ends_at: {
                "ends_at": ends_at.isoformat(),
                "holder": user_id,
            },
        )
    return len(rows), ids[-1]


def _unmirror_batch(*, now: datetime, size: int, after: int) -> tuple[int, int | None]:
    """Revoked or given-back grants whose mirror rows are still there (their decision is
    already in the audit trail)."""
    with transaction.atomic():
        ids = list(
            Grant.objects.filter(
                status__in=[GrantStatus.REVOKED, GrantStatus.EXPIRED], mirrored=True, pk__gt=after
            )
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return 0, None
        mirror_remove(grant_ids=ids, now=now)
        _grants_update(ids, mirrored=False)
    return len(ids), ids[-1]


def _lapse_batch(*, now: datetime, size: int, after: int) -> tuple[int, int | None]:
    with transaction.atomic():
        requests = list(
            AccessRequest.objects.due_to_lapse(now)
            .filter(pk__gt=after)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("requester", "role", "asset__system")
            .order_by("pk")[:size]
        )
        if not requests:
            return 0, None
        ids = [r.pk for r in requests]
        AccessRequest.objects.filter(pk__in=ids).update(
            status=RequestStatus.LAPSED,
            decided_at=now,
            decision_comment="Nobody decided before the request's deadline.",
        )
        audit_events_record_bulk(
            returning=False,
            events=[
                EventSpec(
                    action="access.request.lapsed",
                    actor_label=SYSTEM_BEAT,
                    target=r,
                    reason="Nobody decided before the request's deadline.",
                    data={"lapses_at": r.lapses_at.isoformat() if r.lapses_at else None},
                    occurred_at=now,
                )
                for r in requests
            ],
        )
        for request_id in ids:
            _notify("request_decided", request_id)
    return len(requests), requests[-1].pk


def _warn_batch(*, now: datetime, size: int, after: int) -> tuple[int, int | None]:
    with transaction.atomic():
        ids = list(
            Grant.objects.due_for_expiry_warning(now, _conf("EXPIRY_WARNING_BEFORE"))
            .filter(is_break_glass=False, pk__gt=after)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return 0, None
        _grants_update(ids, expiry_warned_at=now)
        for grant_id in ids:
            _notify("grant_expiring", grant_id)
    return len(ids), ids[-1]


def _remind_batch(*, now: datetime, size: int, after: int) -> tuple[int, int | None]:
    with transaction.atomic():
        requests = list(
            AccessRequest.objects.due_for_reminder(now)
            .filter(pk__gt=after)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .only("pk", "policy_snapshot", "remind_at", "reminded_at")[:size]
        )
        if not requests:
            return 0, None
        for r in requests:
            every = int((r.policy_snapshot or {}).get("remind_approvers_after") or 8 * 3600)
            r.reminded_at = now
            r.remind_at = now + timedelta(seconds=max(every, 60))
        AccessRequest.objects.bulk_update(requests, ["reminded_at", "remind_at"])
        for r in requests:
            _notify("request_reminder", r.pk)
    return len(requests), requests[-1].pk


def access_reconcile(*, now: datetime | None = None, batch_size: int | None = None) -> dict:
    """The periodic tidy-up: activate, expire, remove mirrors, lapse, warn, remind, and
    send the notices still in the outbox (``outbox.notice_send_due``).

    Idempotent and safe to run concurrently (rows are claimed with SKIP LOCKED); each batch
    is its own transaction, and it loops until nothing is due, so it catches up a backlog.
    """
    now = now or timezone.now()
    size = batch_size or _conf("RECONCILE_BATCH_SIZE")
    counts = {
        "ended_unentitled": _batches(_end_unentitled_batch, now=now, size=size),
        "activated": _batches(_activate_batch, now=now, size=size),
        "expired": _batches(_expire_batch, now=now, size=size),
        "unmirrored": _batches(_unmirror_batch, now=now, size=size),
        "lapsed": _batches(_lapse_batch, now=now, size=size),
        "warned": _batches(_warn_batch, now=now, size=size),
        "reminded": _batches(_remind_batch, now=now, size=size),
    }
    from .outbox import notice_send_due

    outcomes = notice_send_due(now=now, limit=size)
    counts.update({f"notices_{outcome}": n for outcome, n in outcomes.items()})
    return counts
