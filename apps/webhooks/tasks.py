"""Thin, idempotent tasks: send one delivery, or every due one (beat's sweep); prune the
log (beat, nightly).

A failed try is recorded on the delivery with its next try (exponential backoff); beat's
``webhooks.deliveries_send_due`` (every ``WEBHOOKS["SWEEP_EVERY_SECONDS"]``) makes it, and
sends whatever a lost message left waiting. Running either task twice sends nothing twice.
"""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="webhooks.delivery_send", ignore_result=True)
def webhook_delivery_send_task(delivery_id: int) -> str:
    return services.webhook_delivery_send(delivery_id=int(delivery_id))


@shared_task(name="webhooks.deliveries_send_due", ignore_result=True)
def webhook_deliveries_send_due_task() -> dict[str, int]:
    return services.webhook_deliveries_send_due()


@shared_task(name="webhooks.deliveries_prune", ignore_result=True)
def webhook_deliveries_prune_task() -> dict[str, int]:
    """Beat, nightly: the delivery log's retention (``WEBHOOK_DELIVERY_RETENTION_DAYS``)."""
    done = services.webhook_deliveries_prune()
    return {"deleted": done.deleted, "kept": done.kept, "batches": done.batches}
