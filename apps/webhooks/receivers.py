"""The outbox receiver: audit events that are webhook events become deliveries in the same
transaction (apps.audit.signals.events_recorded, sent inside the chain's write)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from apps.audit.signals import events_recorded

from .events import ACTION_EVENTS, OFFBOARDED_ACTION
from .services import webhook_event_deliveries_create

_WANTED = frozenset([*ACTION_EVENTS, OFFBOARDED_ACTION])


@receiver(events_recorded, dispatch_uid="webhooks.outbox")
def deliveries_for_audit_events(sender: Any, events: Any, **kwargs: Any) -> None:
    if not _WANTED & getattr(events, "actions", _WANTED):
        return  # nothing in this write is a webhook event: the instances are never built
    wanted = [e for e in events if e.action in _WANTED]
    if wanted:
        webhook_event_deliveries_create(events=wanted)
