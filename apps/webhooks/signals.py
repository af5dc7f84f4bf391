"""What the webhooks app tells others (the webhook connector), without importing them.

``webhook_delivery_settled``: sent inside the transaction that records a delivery's final
outcome, with ``delivery`` (a ``WebhookDelivery``) and ``outcome`` ("delivered" or
"gave_up"). Not sent for a failed try that will be retried.
"""

from django.dispatch import Signal

webhook_delivery_settled = Signal()

#: ``webhook_deliveries_pruning``: sent by the retention of the delivery log
#: (``services.webhook_deliveries_prune``) for each batch of rows it is about to delete, with
#: ``deliveries``: a list of ``(id, subscription_id, idempotency_key)``. A receiver returns
#: the ids it still needs (an idempotency key a connector may send again); those are kept.
webhook_deliveries_pruning = Signal()
