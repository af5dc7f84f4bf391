"""Retention of the delivery log: delivered and given-up deliveries are deleted a number of
days after their last try, in batches, except those a sender still needs.

Art. 5(1)(e) GDPR (storage limitation): a delivery's body and the receiver's answer are kept
only as long as they serve to trace what was sent. A waiting delivery is never deleted (it is
the outbox); a delivery whose idempotency key a sender may still present is kept, so that a
retried step finds its delivery and sends nothing twice: each batch is offered to the
receivers of ``signals.webhook_deliveries_pruning`` (the webhook connector keeps the steps of
accounts not yet removed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.services import audit_event_record
from jitportal.timekeeping import elapsed_add

from ..models import DeliveryStatus, WebhookDelivery
from ..signals import webhook_deliveries_pruning

#: Registered task name (apps/webhooks/tasks.py): beat runs it nightly.
TASK_PRUNE = "webhooks.deliveries_prune"
PRUNED_ACTION = "webhooks.deliveries.pruned"


@dataclass
class PruneProgress:
    """Counts so far: ``deleted`` (or, in a dry run, that would be), ``kept`` (needed by a
    sender), ``batches`` done, ``last_id`` the highest id looked at."""

    cutoff: datetime
    dry_run: bool
    deleted: int = 0
    kept: int = 0
    batches: int = 0
    last_id: int = 0


def _old(cutoff: datetime) -> Q:
    # Settled, made before the cutoff and not tried since (a re-sent one was tried lately).
    return (
        Q(status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED])
        & Q(created_at__lt=cutoff)
        & (Q(last_tried_at__isnull=True) | Q(last_tried_at__lt=cutoff))
    )


def _needed(rows: list[tuple[int, int, str]]) -> set[int]:
    needed: set[int] = set()
    answers = webhook_deliveries_pruning.send(sender=WebhookDelivery, deliveries=rows)
    for _receiver, answer in answers:
        needed.update(int(pk) for pk in answer or ())
    return needed


def webhook_deliveries_prune(
    *,
    now: datetime | None = None,
    days: int | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    progress: Callable[[PruneProgress], None] | None = None,
) -> PruneProgress:
    """Delete delivered and given-up deliveries whose creation and last try are more than
    ``days`` (default ``WEBHOOKS["DELIVERY_RETENTION_DAYS"]``) before ``now``, oldest first,
    ``batch_size`` (default ``WEBHOOKS["DELIVERY_PRUNE_BATCH"]``) per transaction, keeping
    the ids a receiver of ``webhook_deliveries_pruning`` still needs. Waiting deliveries are
    never deleted.

    ``dry_run``: count what would be deleted and kept, delete nothing. ``progress`` is called
    after each batch. One audit event (``webhooks.deliveries.pruned``: counts and cutoff)
    records a run that deleted anything. Returns the final counts. Raises ValueError for
    ``days`` or ``batch_size`` below 1. Safe to run twice or at once (a row is deleted once).
    """
    days = int(settings.WEBHOOKS["DELIVERY_RETENTION_DAYS"]) if days is None else days
    size = int(settings.WEBHOOKS["DELIVERY_PRUNE_BATCH"]) if batch_size is None else batch_size
    if days < 1 or size < 1:
        raise ValueError("days and batch_size must be 1 or more")
    cutoff = elapsed_add(now or timezone.now(), -timedelta(days=days))
    state = PruneProgress(cutoff=cutoff, dry_run=dry_run)
    while True:
        with transaction.atomic(durable=True):
            rows = list(
                WebhookDelivery.objects.filter(_old(cutoff), pk__gt=state.last_id)
                .order_by("pk")
                .values_list("pk", "subscription_id", "idempotency_key")[:size]
            )
            if not rows:
                break
            needed = _needed(rows)
            doomed = [pk for pk, _sub, _key in rows if pk not in needed]
            if dry_run:
                deleted = len(doomed)
            else:
                # The rule again, in the statement: a row re-sent meanwhile is waiting.
                deleted, _by_model = WebhookDelivery.objects.filter(
                    _old(cutoff), pk__in=doomed
                ).delete()
            state.deleted += deleted
            state.kept += len(rows) - len(doomed)
            state.batches += 1
            state.last_id = rows[-1][0]
        if progress is not None:
            progress(state)
    if state.deleted and not dry_run:
        with transaction.atomic(durable=True):
            audit_event_record(
                action=PRUNED_ACTION,
                actor_label="system:webhook_retention",
                data={
                    "deleted": state.deleted,
                    "kept": state.kept,
                    "days": days,
                    "cutoff": cutoff.isoformat(),
                },
            )
    return state
