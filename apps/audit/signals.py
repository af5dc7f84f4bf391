"""What the audit app tells other apps, without importing them.

``events_recorded`` is sent inside the transaction that appends events to the chain, with
``events``: the new ``AuditEvent`` instances in chain order (``pk`` is None where a bulk path
asked for no ids), a ``services.RecordedEvents`` whose ``actions`` set lets a receiver skip a
write without building the instances. A receiver that writes rows (the webhook outbox, apps/webhooks) writes them
in that same transaction, so they commit or roll back with the events. A receiver that raises
rolls the events back: keep receivers small and let them fail only on a broken database.
"""

from django.dispatch import Signal

events_recorded = Signal()
