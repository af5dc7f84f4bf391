"""Provisioning services: open accounts for live grants, close them at the end, retry.

The receivers of the access signals (``receivers.py``) call the ``_…`` helpers inside the
access service's transaction; the tasks and the reconcile call the top-level services, which
each open a durable transaction, lock their rows, call the connector, and write the outcome
with its audit events. A removal is recorded (``deprovisioned``) only after the connector
returned without error (docs/connectors.md, "Guarantees").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.access.models import Grant
from apps.audit.services import EventSpec, audit_event_record, audit_events_record_bulk
from jitportal.timekeeping import elapsed_add

from ..base import ConnectorError, account_name
from ..models import Provisioning, ProvisioningState, Target, TargetBinding
from ..registry import connector_for
from ..sealing import seal
from ._common import (
    SYSTEM_CONNECTORS,
    TASK_DEPROVISION,
    TASK_GRANT_END,
    TASK_PROVISION,
    TASK_REFRESH,
    among,
    conf,
    grant_context,
    record_failures,
)
from .queueing import queue_at_on_commit, queue_on_commit


# -- inside the access services' transactions (receivers) --------------------------------------
def _provisionings_open(*, grant_ids: list[int], now: datetime | None = None) -> list[int]:
    """Pending rows for every (grant, enabled target) a binding of the grants' assets names;
    their provisioning is queued on commit. Returns the new rows' ids."""
    if not grant_ids:
        return []
    now = now or timezone.now()
    through = Grant.assets.through
    pairs = set(
        TargetBinding.objects.filter(
            target__enabled=True,
            asset_id__in=through.objects.filter(grant_id__in=grant_ids).values("dataasset_id"),
        ).values_list("asset_id", "target_id")
    )
    if not pairs:
        return []
    assets_of: dict[int, set[int]] = defaultdict(set)
    for grant_id, asset_id in through.objects.filter(grant_id__in=grant_ids).values_list(
        "grant_id", "dataasset_id"
    ):
        assets_of[grant_id].add(asset_id)
    prefixes = dict(
        Target.objects.filter(pk__in={t for _a, t in pairs}).values_list("pk", "account_prefix")
    )
    existing = set(
        Provisioning.objects.filter(grant_id__in=grant_ids).values_list("grant_id", "target_id")
    )
    rows = []
    for grant_id in grant_ids:
        targets = {t for a, t in pairs if a in assets_of[grant_id]}
        for target_id in sorted(targets):
            if (grant_id, target_id) not in existing:
                rows.append(
                    Provisioning(
                        grant_id=grant_id,
                        target_id=target_id,
                        account=account_name(prefixes[target_id], grant_id),
                        created_at=now,
                    )
                )
    created = Provisioning.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        Provisioning.objects.filter(
            grant_id__in=grant_ids, state=ProvisioningState.PENDING, tries=0
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        queue_on_commit(TASK_PROVISION, pk)
    _schedule_ends(grant_ids=grant_ids, now=now)
    return [row.pk for row in created if row.pk]


def _provisionings_close(*, grant_ids: Iterable[int], now: datetime | None = None) -> list[int]:
    """Ask for the removal of the grants' accounts and queue it on commit (one batch)."""
    now = now or timezone.now()
    ids = list(
        among(Provisioning.objects.all(), "grant", list(grant_ids))
        .filter(remove_requested_at__isnull=True)
        .exclude(state=ProvisioningState.DEPROVISIONED)
        .values_list("pk", flat=True)
    )
    if ids:
        among(Provisioning.objects.all(), "id", ids).update(
            remove_requested_at=now, next_try_at=None
        )
        queue_on_commit(TASK_DEPROVISION, ids)
    return ids


def _provisionings_refresh(*, grant_ids: list[int], now: datetime | None = None) -> None:
    """A window moved: apply it to provisioned accounts and schedule the new end."""
    for pk in Provisioning.objects.filter(
        grant_id__in=grant_ids,
        remove_requested_at__isnull=True,
        state=ProvisioningState.PROVISIONED,
    ).values_list("pk", flat=True):
        queue_on_commit(TASK_REFRESH, pk)
    _schedule_ends(grant_ids=grant_ids, now=now or timezone.now())


def _schedule_ends(*, grant_ids: list[int] | None, now: datetime) -> int:
    """Queue the exact-end task of each grant with open accounts whose end is within
    ``END_HORIZON_SECONDS`` (the reconcile calls this for every grant each tick)."""
    horizon = elapsed_add(now, timedelta(seconds=conf("END_HORIZON_SECONDS")))
    due = Provisioning.objects.filter(
        remove_requested_at__isnull=True, grant__ends_at__lte=horizon, grant__ends_at__gt=now
    ).exclude(state=ProvisioningState.DEPROVISIONED)
    if grant_ids is not None:
        due = due.filter(grant_id__in=grant_ids)
    ends = dict(due.values_list("grant_id", "grant__ends_at").distinct())
    for grant_id, ends_at in ends.items():
        queue_at_on_commit(TASK_GRANT_END, grant_id, eta=ends_at)
    return len(ends)


# -- top-level services ------------------------------------------------------------------------
def provisioning_provision(
    *, provisioning_id: int, now: datetime | None = None
) -> Provisioning | None:
    """Make the account of one provisioning in its target (idempotent).

    Does nothing for a row already provisioned or removed, or whose grant is not live (its
    removal is or will be asked for). A connector failure is recorded as a failed try with
    backoff (``_common.record_failures``); the grant stays live in the portal and the holder
    sees "being set up". The one-time secret is kept sealed (``sealing.seal``) until shown.
    """
    with transaction.atomic(durable=True):
        row = (
            Provisioning.objects.select_for_update(of=("self",))
            .select_related("target")
            .filter(pk=provisioning_id)
            .first()
        )
        if row is None or row.remove_requested_at is not None:
            return row
        if row.state in (ProvisioningState.PROVISIONED, ProvisioningState.DEPROVISIONED):
            return row
        now = now or timezone.now()
        grant = Grant.objects.select_related("user").get(pk=row.grant_id)
        if not grant.is_live(now):
            return row
        try:
            result = connector_for(row.target).provision(grant_context(row, grant))
        except (ConnectorError, LookupError) as exc:
            record_failures([row], error=exc, now=now)
            return row
        row.account = result.account
        row.state = ProvisioningState.PROVISIONED
        row.provisioned_at = now
        row.last_try_at = now
        row.error = ""
        row.next_try_at = None
        row.secret_sealed = seal(result.secret) if result.secret else None
        row.secret_shown_at = None
        row.save(
            update_fields=[
                "account",
                "state",
                "provisioned_at",
                "last_try_at",
                "error",
                "next_try_at",
                "secret_sealed",
                "secret_shown_at",
            ]
        )
        audit_event_record(
            action="connectors.account.provisioned",
            actor_label=SYSTEM_CONNECTORS,
            target=row,
            data={
                "grant": row.grant_id,
                "target": row.target_id,
                "account": row.account,
                "valid_until": grant.ends_at.isoformat(),
                "tries": row.tries + 1,
            },
        )
    return row


def provisioning_refresh(
    *, provisioning_id: int, now: datetime | None = None
) -> Provisioning | None:
    """Apply the grant's current window to its provisioned account (an extension moves
    ``VALID UNTIL``). A failure is a failed try, retried by the reconcile."""
    with transaction.atomic(durable=True):
        row = (
            Provisioning.objects.select_for_update(of=("self",))
            .select_related("target")
            .filter(pk=provisioning_id)
            .first()
        )
        if row is None or row.remove_requested_at is not None:
            return row
        if row.state != ProvisioningState.PROVISIONED:
            return row
        now = now or timezone.now()
        try:
            connector_for(row.target).refresh(grant_context(row))
        except (ConnectorError, LookupError) as exc:
            record_failures([row], error=exc, now=now)
            # Failed: provisioned again (with the new window) by the reconcile's retry.
            return row
        row.last_try_at = now
        row.save(update_fields=["last_try_at"])
        audit_event_record(
            action="connectors.account.refreshed",
            actor_label=SYSTEM_CONNECTORS,
            target=row,
            data={"grant": row.grant_id, "target": row.target_id, "account": row.account},
        )
    return row


def provisionings_deprovision(
    *, provisioning_ids: Iterable[int], now: datetime | None = None
) -> dict[str, int]:
    """Remove the accounts of the given rows whose removal was asked for: one connector
    batch per target, in one portal transaction per target.

    Rows are locked (waiting for a provisioning in progress, so a removal never overtakes
    the account's creation); rows already removed are skipped. On success the rows become
    ``deprovisioned`` with one audit event each (written in bulk); on a connector error they
    count a failed try and stay "not yet removed". Returns ``{"removed": n, "failed": n}``.
    """
    ids = sorted(set(provisioning_ids))
    outcome = {"removed": 0, "failed": 0}
    if not ids:
        return outcome
    by_target: dict[int, list[int]] = defaultdict(list)
    for pk, target_id in among(Provisioning.objects.to_remove(), "id", ids).values_list(
        "pk", "target_id"
    ):
        by_target[target_id].append(pk)
    for target_id, target_ids in sorted(by_target.items()):
        with transaction.atomic(durable=True):
            removed, failed = _deprovision_target(target_id, target_ids, now=now)
        outcome["removed"] += removed
        outcome["failed"] += failed
    return outcome


def _deprovision_target(
    target_id: int, ids: list[int], *, now: datetime | None, closing: bool = False
) -> tuple[int, int]:
    """Remove the rows ``ids`` of one target (inside the caller's transaction). ``closing``:
    the rows' grants have ended and their removal may not have been asked for yet; it is
    recorded in the same UPDATE as the outcome (one write per row instead of two)."""
    base = (
        Provisioning.objects.exclude(state=ProvisioningState.DEPROVISIONED)
        if closing
        else Provisioning.objects.to_remove()
    )
    rows = list(
        among(base, "id", ids)
        .select_for_update(of=("self",))
        .filter(target_id=target_id)
        .order_by("pk")
    )
    if not rows:
        return 0, 0
    target = Target.objects.get(pk=target_id)
    now = now or timezone.now()
    try:
        connector_for(target).deprovision([row.account for row in rows])
    except (ConnectorError, LookupError) as exc:
        for row in rows:
            row.remove_requested_at = row.remove_requested_at or now
        record_failures(rows, error=exc, now=now)
        return 0, len(rows)
    done = timezone.now()
    among(Provisioning.objects.all(), "id", [row.pk for row in rows]).update(
        remove_requested_at=Coalesce(F("remove_requested_at"), Value(now)),
        state=ProvisioningState.DEPROVISIONED,
        deprovisioned_at=done,
        last_try_at=done,
        secret_sealed=None,
        error="",
        next_try_at=None,
    )
    audit_events_record_bulk(
        returning=False,
        events=[
            EventSpec(
                action="connectors.account.removed",
                actor_label=SYSTEM_CONNECTORS,
                target=row,
                data={
                    "grant": row.grant_id,
                    "target": target_id,
                    "account": row.account,
                    "requested_at": (row.remove_requested_at or now).isoformat(),
                },
                occurred_at=done,
            )
            for row in rows
        ],
    )
    return len(rows), 0


def provisionings_end(*, grant_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Remove at once the accounts of grants that have ended (the exact-end step and the
    reconcile; the caller checked they are not live): per target one transaction that locks
    the rows, lets the connector remove the accounts, and records the removal as asked for
    and done in one UPDATE; on a connector error, as asked for and failed (retried later).
    Returns ``{"removed": n, "failed": n}``."""
    now = now or timezone.now()
    outcome = {"removed": 0, "failed": 0}
    by_target: dict[int, list[int]] = defaultdict(list)
    for pk, target_id in (
        among(Provisioning.objects.all(), "grant", grant_ids)
        .exclude(state=ProvisioningState.DEPROVISIONED)
        .values_list("pk", "target_id")
    ):
        by_target[target_id].append(pk)
    for target_id, ids in sorted(by_target.items()):
        with transaction.atomic(durable=True):
            removed, failed = _deprovision_target(target_id, ids, now=now, closing=True)
        outcome["removed"] += removed
        outcome["failed"] += failed
    return outcome


def provisioning_grant_end(
    *, grant_id: int, now: datetime | None = None, batch_size: int = 1000
) -> dict[str, int] | None:
    """The exact-end step of one grant: re-read its real end (windows can be shortened or
    extended since the task was queued); if it has ended, ask for the removal of its
    accounts, and of every other account whose grant has ended by now (a burst of ends is
    one batch per target, not one task each), and remove them here, without another hop
    through the broker. Returns None when the grant is still live (the caller queues it
    again for its end), else ``{"removed": n, "failed": n}``."""
    now = now or timezone.now()
    grant = Grant.objects.filter(pk=grant_id).first()
    if grant is None:
        return {"removed": 0, "failed": 0}
    if grant.is_live(now):
        return None
    ended = list(
        Provisioning.objects.filter(remove_requested_at__isnull=True)
        .exclude(state=ProvisioningState.DEPROVISIONED)
        .filter(Q(grant__revoked_at__isnull=False) | Q(grant__ends_at__lte=now))
        .exclude(grant_id=grant_id)
        .values_list("grant_id", flat=True)
        .distinct()[: batch_size - 1]
    )
    return provisionings_end(grant_ids=[grant_id, *ended], now=now)


def connectors_reconcile(*, now: datetime | None = None, batch_size: int = 1000) -> dict[str, int]:
    """The backstop (beat, every ``CONNECTORS_RECONCILE_SECONDS``): ask for the removal of
    accounts whose grant is no longer live, remove what is due (retries after their backoff),
    provision what live grants still lack, and queue the exact-end task of grants ending soon.
    Idempotent; safe beside the immediate tasks (rows are locked by the services)."""
    now = now or timezone.now()
    counts = {"closed": 0, "removed": 0, "failed": 0, "provisioned": 0, "scheduled": 0}
    not_live = (
        Q(grant__revoked_at__isnull=False)
        | Q(grant__ends_at__lte=now)
        | Q(grant__starts_at__gt=now)
    )
    ended = list(
        Provisioning.objects.filter(remove_requested_at__isnull=True)
        .exclude(state=ProvisioningState.DEPROVISIONED)
        .filter(Q(grant__revoked_at__isnull=False) | Q(grant__ends_at__lte=now))
        .values_list("grant_id", flat=True)
        .distinct()[:batch_size]
    )
    if ended:
        outcome = provisionings_end(grant_ids=ended, now=now)
        counts["closed"] = outcome["removed"] + outcome["failed"]
        counts["removed"] += outcome["removed"]
        counts["failed"] += outcome["failed"]
    due_retry = Q(next_try_at__isnull=True) | Q(next_try_at__lte=now)
    while True:
        ids = list(
            Provisioning.objects.to_remove()
            .filter(due_retry)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        outcome = provisionings_deprovision(provisioning_ids=ids, now=now)
        counts["removed"] += outcome["removed"]
        counts["failed"] += outcome["failed"]
        if outcome["removed"] == 0:
            break
    for pk in (
        Provisioning.objects.to_provision()
        .filter(due_retry)
        .exclude(not_live)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    ):
        row = provisioning_provision(provisioning_id=pk, now=now)
        if row is not None and row.state == ProvisioningState.PROVISIONED:
            counts["provisioned"] += 1
    with transaction.atomic(durable=True):
        counts["scheduled"] = _schedule_ends(grant_ids=None, now=now)
    return counts
