from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_SUBSCRIPTIONS = [
    "webhooks.view_webhooksubscription",
    "webhooks.add_webhooksubscription",
    "webhooks.change_webhooksubscription",
    "webhooks.view_webhookdelivery",
    "webhooks.resend_webhookdelivery",
]


class WebhooksConfig(AppConfig):
    """Signed event webhooks: subscriptions, the delivery outbox and its log.

    Imports ``audit`` (it records its own changes there and derives events from the trail)
    and ``integrations`` only, so that apps higher in the graph (connectors) can use its
    delivery core: ``apps.webhooks.signing`` and ``apps.webhooks.services``.
    """

    name = "apps.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    # The DPO decides where events about access and purges may go.
    group_permissions = {"DPO": _SUBSCRIPTIONS}

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (the outbox receiver of audit events)
