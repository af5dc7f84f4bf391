"""What the webhooks app tells others (the webhook connector), without importing them.

``webhook_delivery_settled``: sent inside the transaction that records a delivery's final
outcome, with ``delivery`` (a ``WebhookDelivery``) and ``outcome`` ("delivered" or
"gave_up"). Not sent for a failed try that will be retried.
"""

from django.dispatch import Signal

webhook_delivery_settled = Signal()
