from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthConfig(AppConfig):
    """Liveness and readiness endpoints for load balancers, orchestrators and monitoring
    (django-health-check). At the top of the dependency graph: it may read every app, and
    nothing imports it."""

    name = "apps.health"
    label = "health"
    verbose_name = _("Health")
