"""Read-only questions about deliveries, for the admin, the dashboard and readiness."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from jitportal.timekeeping import elapsed_add

from .models import DeliveryStatus, WebhookDelivery


def given_up_alert_period() -> timedelta:
    """How far back a given-up delivery still turns readiness and the dashboard red:
    ``WEBHOOKS["GIVEN_UP_ALERT_HOURS"]`` hours."""
    return timedelta(hours=int(settings.WEBHOOKS["GIVEN_UP_ALERT_HOURS"]))


def deliveries_given_up_recently(*, now: datetime | None = None) -> QuerySet[WebhookDelivery]:
    """Deliveries given up (past their last try, ``WEBHOOK_MAX_TRIES``) whose last try was
    within ``given_up_alert_period()`` before ``now``. A re-sent delivery is waiting again
    and so no longer among them."""
    since = elapsed_add(now or timezone.now(), -given_up_alert_period())
    return WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED, last_tried_at__gte=since)


def deliveries_given_up_by_subscription(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """``[{"subscription_id": int, "subscription__name": str, "count": int}]``, by name:
    the recently given-up deliveries of each subscription (``deliveries_given_up_recently``)."""
    return list(
        deliveries_given_up_recently(now=now)
        .values("subscription_id", "subscription__name")
        .annotate(count=Count("pk"))
        .order_by("subscription__name")
    )
