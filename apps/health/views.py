"""``/health/live/`` and ``/health/ready/`` (django-health-check's view, our checks).

Both answer 200 when every check passes and 500 naming the failing checks otherwise, as
HTML for a person, JSON (``Accept: application/json`` or ``?format=json``), plain text or
OpenMetrics. Neither needs a session; neither is cached.

- Liveness runs no check at all: the web process answered, which is all a restart decision
  needs. It never touches the database, so a database outage does not restart every web
  process at once.
- Readiness: the database, the broker, beat not late, the notice outbox, connector
  failures and given-up webhook deliveries (apps/health/checks.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _
from health_check.checks import Database
from health_check.views import HealthCheckView

from .checks import BeatSchedule, Broker, ConnectorFailures, OutboxBacklog, WebhooksGivenUp

LABELS = {Database: _("Database")}


class StatusView(HealthCheckView):
    template_name = "health/status.html"
    heading: ClassVar[Any] = ""
    explanation: ClassVar[Any] = ""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["heading"] = self.heading
        context["explanation"] = self.explanation
        context["rows"] = [
            {
                "label": getattr(result.check, "label", None)
                or LABELS.get(type(result.check), type(result.check).__name__),
                "name": repr(result.check),
                "error": result.error.message if result.error else None,
                "seconds": result.time_taken,
            }
            for result in self.results
        ]
        return context


class LivenessView(StatusView):
    checks = ()
    heading = _("Liveness")
    explanation = _("The web process answers. No other service is asked.")


class ReadinessView(StatusView):
    checks = (Database, Broker, BeatSchedule, OutboxBacklog, ConnectorFailures, WebhooksGivenUp)
    heading = _("Readiness")
    explanation = _(
        "The database, the message broker, the periodic tasks, the notice outbox, the "
        "connectors and the webhook deliveries, checked now."
    )
