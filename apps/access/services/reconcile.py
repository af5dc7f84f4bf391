"""The periodic reconcile: the source of truth for the tidy-up (docs/architecture.md,
invariant 2). It activates and expires grants, removes mirror rows, ends grants whose
holder is no longer entitled, lapses requests nobody decided, warns of expiry, reminds
approvers and sends the notices still in the outbox.

Bulk paths: rows are claimed in keyset batches with SKIP LOCKED, each batch is its own
transaction and writes its own audit events for every row it changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.services import EventSpec, audit_events_record_bulk

from ..models import (
    AccessRequest,
    DecisionCode,
    Grant,
    GrantQuerySet,
    GrantStatus,
    RequestStatus,
)
from ..selectors import grant_holder_entitled_q, request_ineligibility
from ..signals import grant_ended, grant_live
from ._common import LAPSE_COMMENT, SYSTEM_BEAT, _conf, _notify, _window_data
from .decisions import _grant_end_unentitled
from .mirror import _grants_update, mirror_add, mirror_remove


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
    with transaction.atomic(durable=True):
        due = Grant.objects.due_to_activate(now).filter(grant_holder_entitled_q())
        rows = _claim_grants(due, size=size, after=after)
        if not rows:
            return 0, None
        ids = [row[0] for row in rows]
        mirror_add(grant_ids=ids)
        _grants_update(ids, status=GrantStatus.ACTIVE, mirrored=True)
        grant_live.send(sender=Grant, grant_ids=ids)
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
    with transaction.atomic(durable=True):
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
    with transaction.atomic(durable=True):
        rows = _claim_grants(Grant.objects.due_to_expire(now), size=size, after=after)
        if not rows:
            return 0, None
        ids = [row[0] for row in rows]
        mirror_remove(grant_ids=ids, now=now)
        _grants_update(ids, status=GrantStatus.EXPIRED, mirrored=False)
        grant_ended.send(sender=Grant, grant_ids=ids)
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
    with transaction.atomic(durable=True):
        ids = list(
            Grant.objects.due_for_unmirror()
            .filter(pk__gt=after)
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
    with transaction.atomic(durable=True):
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
            decision_code=DecisionCode.LAPSED,
        )
        audit_events_record_bulk(
            returning=False,
            events=[
                EventSpec(
                    action="access.request.lapsed",
                    actor_label=SYSTEM_BEAT,
                    target=r,
                    reason=LAPSE_COMMENT,
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
    with transaction.atomic(durable=True):
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
    with transaction.atomic(durable=True):
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
    from ..outbox import notice_send_due

    outcomes = notice_send_due(now=now, limit=size)
    counts.update({f"notices_{outcome}": n for outcome, n in outcomes.items()})
    return counts
