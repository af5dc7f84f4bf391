"""Celery tasks of the connectors: thin, idempotent, each calling one service."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from jitportal.timekeeping import elapsed_add

from .services import (
    connectors_reconcile,
    provisioning_grant_end,
    provisioning_provision,
    provisioning_refresh,
    provisionings_deprovision,
)
from .services.queueing import queue_at


@shared_task(name="connectors.provision")
def provision(provisioning_id: int) -> str:
    row = provisioning_provision(provisioning_id=provisioning_id)
    return row.state if row else "missing"


@shared_task(name="connectors.refresh")
def refresh(provisioning_id: int) -> str:
    row = provisioning_refresh(provisioning_id=provisioning_id)
    return row.state if row else "missing"


@shared_task(name="connectors.deprovision")
def deprovision(provisioning_ids: list[int]) -> dict[str, int]:
    return provisionings_deprovision(provisioning_ids=provisioning_ids)


@shared_task(name="connectors.grant_end", bind=True)
def grant_end(self, grant_id: int) -> dict[str, int] | None:
    """Runs at the grant's end (queued with that ETA); re-reads the real end, and when the
    grant is still live (extended, or the clock ran early) queues itself again for it."""
    outcome = provisioning_grant_end(grant_id=grant_id)
    if outcome is None and not self.request.is_eager:
        from apps.access.models import Grant

        ends_at = Grant.objects.filter(pk=grant_id).values_list("ends_at", flat=True).first()
        now = timezone.now()
        horizon = timedelta(seconds=settings.CONNECTORS["END_HORIZON_SECONDS"])
        # Only a near end: a far one is queued by the reconcile when it comes near.
        if ends_at is not None and now < ends_at <= elapsed_add(now, horizon):
            queue_at("connectors.grant_end", grant_id, eta=ends_at)
    return outcome


@shared_task(name="connectors.reconcile")
def reconcile() -> dict[str, int]:
    return connectors_reconcile()


@shared_task(name="connectors.drift")
def drift() -> dict[str, int]:
    from .services.drift import connectors_drift_check

    return connectors_drift_check()
