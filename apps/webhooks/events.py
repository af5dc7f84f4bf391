"""Webhook events derived from the audit trail.

Each event type is read from the audit event recorded in the same transaction as the
decision it reports (docs/webhooks.md, "Events"), so a webhook event exists exactly when its
audit event does. The event id is derived from the audit event's digest (unique in the
chain), so it is the same for every subscription and every try.

The payload carries what the trail already keeps, never more: the audit action, the
target's type and id, the actor's user id and the event's ``data`` (windows, ids, codes).
Names and free text (``target_repr``, ``reason``) stay out of it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from apps.audit.models import AuditEvent
from apps.audit.services import VERIFICATION_FAILED_ACTION

from .models import EventType

#: audit action → (event type, outcome carried in the payload).
ACTION_EVENTS: dict[str, tuple[str, str]] = {
    "access.request.submitted": (EventType.REQUEST_SUBMITTED, ""),
    "access.request.approved": (EventType.REQUEST_DECIDED, "approved"),
    "access.request.denied": (EventType.REQUEST_DECIDED, "denied"),
    "access.grant.activated": (EventType.GRANT_ACTIVATED, ""),
    "access.grant.expired": (EventType.GRANT_ENDED, "expired"),
    "access.grant.revoked": (EventType.GRANT_ENDED, "revoked"),
    "access.grant.relinquished": (EventType.GRANT_ENDED, "given_back"),
    "access.breakglass.used": (EventType.BREAK_GLASS, ""),
    "retention.purge.finished": (EventType.PURGE_FINISHED, ""),
    VERIFICATION_FAILED_ACTION: (EventType.AUDIT_VERIFICATION_FAILED, ""),
}
#: Offboarding revokes many grants in one audit event: one ``grant.ended`` each.
OFFBOARDED_ACTION = "access.user.offboarded"


@dataclass(frozen=True)
class WebhookEvent:
    event_id: uuid.UUID
    event_type: str
    occurred_at: Any
    data: dict[str, Any]


def _event_id(event: AuditEvent, part: str = "") -> uuid.UUID:
    base = uuid.UUID(hex=event.hash[:32])
    return uuid.uuid5(base, part) if part else base


def _data(event: AuditEvent, outcome: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": event.action,
        "audit_event": {"id": event.pk, "hash": event.hash},
        "target": {"type": event.target_type, "id": event.target_id},
        "actor_id": event.actor_id,
        "detail": event.data,
    }
    if outcome:
        data["outcome"] = outcome
    return data


def webhook_events_from_audit(event: AuditEvent) -> list[WebhookEvent]:
    """The webhook events one audit event gives (none for most actions)."""
    if event.action in ACTION_EVENTS:
        event_type, outcome = ACTION_EVENTS[event.action]
        return [
            WebhookEvent(_event_id(event), event_type, event.occurred_at, _data(event, outcome))
        ]
    if event.action == OFFBOARDED_ACTION:
        found = []
        for grant_id in (event.data or {}).get("grants_revoked") or []:
            data = _data(event, "offboarded")
            data["target"] = {"type": "access.grant", "id": str(grant_id)}
            found.append(
                WebhookEvent(
                    _event_id(event, f"grant:{grant_id}"),
                    EventType.GRANT_ENDED,
                    event.occurred_at,
                    data,
                )
            )
        return found
    return []
