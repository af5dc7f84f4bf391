"""Webhook services (docs/webhooks.md). The delivery core, for every sender of signed
webhooks, is ``webhook_delivery_create`` and ``webhook_delivery_send``."""

from .deliveries import (
    DELIVERED,
    GAVE_UP,
    RETRY,
    SKIPPED,
    TASK_SEND,
    TASK_SEND_DUE,
    webhook_body,
    webhook_deliveries_resend,
    webhook_deliveries_send_due,
    webhook_delivery_create,
    webhook_delivery_send,
    webhook_retry_delay,
)
from .retention import (
    TASK_PRUNE,
    PruneProgress,
    webhook_deliveries_prune,
)
from .subscriptions import (
    webhook_event_deliveries_create,
    webhook_subscription_create,
    webhook_subscription_secret_rotate,
    webhook_subscription_update,
)

__all__ = [
    "DELIVERED",
    "GAVE_UP",
    "RETRY",
    "SKIPPED",
    "TASK_PRUNE",
    "TASK_SEND",
    "TASK_SEND_DUE",
    "PruneProgress",
    "webhook_body",
    "webhook_deliveries_prune",
    "webhook_deliveries_resend",
    "webhook_deliveries_send_due",
    "webhook_delivery_create",
    "webhook_delivery_send",
    "webhook_event_deliveries_create",
    "webhook_retry_delay",
    "webhook_subscription_create",
    "webhook_subscription_secret_rotate",
    "webhook_subscription_update",
]
