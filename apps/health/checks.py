"""The readiness checks the portal adds to django-health-check's own (``Database``).

Each raises ``health_check.exceptions.ServiceUnavailable`` with a message for the operator
(translated into the reader's language) when the part it watches is not working:

- ``Broker``: the Celery broker accepts a connection (any kombu transport: Redis, RabbitMQ);
- ``BeatSchedule``: no enabled periodic task is later than its schedule allows, as the
  dashboard shows it (``apps.reports.dashboard.beat_status``: beat or the worker is down);
- ``OutboxBacklog``: no email notice has waited to be sent for longer than
  ``JITPORTAL["HEALTH_OUTBOX_MAX_AGE"]`` (the worker, beat or the mail server is down);
- ``ConnectorFailures``: no account keeps failing in its target;
- ``WebhooksGivenUp``: no webhook delivery was given up (past ``WEBHOOK_MAX_TRIES``) within
  the last ``WEBHOOKS["GIVEN_UP_ALERT_HOURS"]`` hours (an endpoint is down or refuses them).

Checks that read the database run in the request's own thread (``sync_to_async`` with
``thread_sensitive=True``), on the request's connection, which Django closes as usual.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import ClassVar

from asgiref.sync import sync_to_async
from celery import current_app
from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from apps.access.models import Notice, NoticeStatus
from apps.connectors.selectors import failures_alerted
from apps.reports.dashboard import beat_status
from apps.webhooks.selectors import deliveries_given_up_by_subscription, given_up_alert_period
from jitportal.timekeeping import elapsed_add


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker answers: one connection attempt, no retries, within
    ``JITPORTAL["HEALTH_BROKER_TIMEOUT"]`` seconds."""

    label: ClassVar[Promise] = _("Message broker (Celery)")

    def run(self) -> None:
        seconds = float(settings.JITPORTAL["HEALTH_BROKER_TIMEOUT"])
        try:
            with current_app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=0, timeout=seconds)  # type: ignore[arg-type]
        except Exception as exc:
            # The broker URL may carry a password: name only the transport and the error type.
            raise ServiceUnavailable(
                gettext("The broker does not answer (%(transport)s: %(error)s).")
                % {"transport": _transport(), "error": type(exc).__name__}
            ) from exc


def _transport() -> str:
    return str(settings.CELERY_BROKER_URL).split(":", 1)[0]


@dataclasses.dataclass
class BeatSchedule(HealthCheck):
    """No enabled periodic task is late (the dashboard's rule, reused)."""

    label: ClassVar[Promise] = _("Periodic tasks (Celery beat)")

    async def run(self) -> None:
        await sync_to_async(self._check, thread_sensitive=True)()

    def _check(self) -> None:
        late = [row["name"] for row in beat_status(now=timezone.now()) if row["late"]]
        if late:
            raise ServiceUnavailable(
                ngettext(
                    "%(count)d periodic task is late: %(names)s. Is beat running?",
                    "%(count)d periodic tasks are late: %(names)s. Is beat running?",
                    len(late),
                )
                % {"count": len(late), "names": ", ".join(late)}
            )


@dataclasses.dataclass
class OutboxBacklog(HealthCheck):
    """No pending email notice is older than ``max_age`` (default:
    ``JITPORTAL["HEALTH_OUTBOX_MAX_AGE"]``)."""

    label: ClassVar[Promise] = _("Notice outbox")
    max_age: datetime.timedelta | None = dataclasses.field(default=None, repr=False)

    async def run(self) -> None:
        await sync_to_async(self._check, thread_sensitive=True)()

    def _check(self) -> None:
        max_age = self.max_age or settings.JITPORTAL["HEALTH_OUTBOX_MAX_AGE"]
        waiting = Notice.objects.filter(
            status=NoticeStatus.PENDING, created_at__lt=elapsed_add(timezone.now(), -max_age)
        ).count()
        if waiting:
            minutes = int(max_age.total_seconds() // 60)
            raise ServiceUnavailable(
                ngettext(
                    "%(count)d notice has waited more than %(minutes)d minutes to be sent.",
                    "%(count)d notices have waited more than %(minutes)d minutes to be sent.",
                    waiting,
                )
                % {"count": waiting, "minutes": minutes}
            )


@dataclasses.dataclass
class ConnectorFailures(HealthCheck):
    """No account in a target has failed to be set up or removed as many times as
    ``CONNECTORS["ALERT_AFTER_TRIES"]`` (the admins were alerted; docs/connectors.md)."""

    label: ClassVar[Promise] = _("Connectors")

    async def run(self) -> None:
        await sync_to_async(self._check, thread_sensitive=True)()

    def _check(self) -> None:
        rows = list(failures_alerted().values_list("target__name", flat=True))
        if rows:
            raise ServiceUnavailable(
                ngettext(
                    "%(count)d account keeps failing in its target: %(targets)s.",
                    "%(count)d accounts keep failing in their targets: %(targets)s.",
                    len(rows),
                )
                % {"count": len(rows), "targets": ", ".join(sorted(set(rows)))}
            )


@dataclasses.dataclass
class WebhooksGivenUp(HealthCheck):
    """No webhook delivery was given up within ``WEBHOOKS["GIVEN_UP_ALERT_HOURS"]``
    (``apps.webhooks.selectors.deliveries_given_up_recently``; docs/webhooks.md). Re-sending
    the deliveries from the delivery log clears it."""

    label: ClassVar[Promise] = _("Webhook deliveries")

    async def run(self) -> None:
        await sync_to_async(self._check, thread_sensitive=True)()

    def _check(self) -> None:
        rows = deliveries_given_up_by_subscription(now=timezone.now())
        if rows:
            count = sum(row["count"] for row in rows)
            hours = int(given_up_alert_period().total_seconds() // 3600)
            raise ServiceUnavailable(
                ngettext(
                    "%(count)d webhook delivery was given up in the last %(hours)d hours: "
                    "%(subscriptions)s.",
                    "%(count)d webhook deliveries were given up in the last %(hours)d hours: "
                    "%(subscriptions)s.",
                    count,
                )
                % {
                    "count": count,
                    "hours": hours,
                    "subscriptions": ", ".join(row["subscription__name"] for row in rows),
                }
            )
