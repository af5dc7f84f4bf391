"""Webhook events derived from the audit trail.

Each event type is read from the audit event recorded in the same transaction as the
decision it reports (docs/webhooks.md, "Events"), so a webhook event exists exactly when its
audit event does. The event id is derived from the audit event's digest (unique in the
chain), so it is the same for every subscription and every try.

The payload carries an explicit allow-list per event type (``DETAIL_FIELDS``): ids, codes,
times, counts and flags, each checked against its kind, so a value that is not one (free
text typed into a ticket field, a name) is left out. Names and free text (``target_repr``,
``reason``, ``ticket``, approvers' user names, an asset's name) stay in the portal.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

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

#: Event types that code sends through the delivery core (``webhook_delivery_create``) and
#: no subscription asks for, registered by their senders: code → label.
_SENDER_TYPES: dict[str, str | Promise] = {}


def webhook_event_type_register(code: str, label: str | Promise) -> str:
    """Make ``code`` (a dotted lower-case code, e.g. ``connector.provision``) a known event
    type, for the delivery log's filter; returns ``code``. Called at import by a sender of
    its own deliveries (the webhook connector). Raises ValueError for a code of
    ``EventType`` (subscriptions' events are not a sender's)."""
    if code in EventType.values:
        raise ValueError(f"{code!r} is a subscription event type")
    _SENDER_TYPES[code] = label
    return code


def webhook_event_types() -> dict[str, str | Promise]:
    """Every known event type, code → label: the subscriptions' (``EventType``), then those
    registered by senders (``webhook_event_type_register``)."""
    return {**dict(EventType.choices), **_SENDER_TYPES}


_CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_HEX = re.compile(r"^[0-9a-f]{16,128}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")


def _id(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _ids(value: Any) -> list[int] | None:
    if not isinstance(value, list):
        return None
    return [v for v in value if _id(v) is not None]


def _code(value: Any) -> str | None:
    return value if isinstance(value, str) and _CODE.match(value) else None


def _codes(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [v for v in value if _code(v) is not None]


def _time(value: Any) -> str | None:
    return value if isinstance(value, str) and _TIME.match(value) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _digest(value: Any) -> str | None:
    return value if isinstance(value, str) and _HEX.match(value) else None


def _count_of(value: Any) -> int | None:
    return len(value) if isinstance(value, list) else None


def _policy(key: str) -> Callable[[dict[str, Any]], Any]:
    """An id from the request's policy snapshot (the role or asset asked for)."""

    def read(data: dict[str, Any]) -> Any:
        policy = data.get("policy")
        return _id(policy.get(key)) if isinstance(policy, dict) else None

    return read


def _field(key: str, kind: Callable[[Any], Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda data: kind(data.get(key))


_WINDOW = {"starts_at": _field("starts_at", _time), "ends_at": _field("ends_at", _time)}
#: event type → payload ``detail`` field → how it is read from the audit event's data.
#: Only these fields leave the portal, and only when the value is of its kind.
DETAIL_FIELDS: dict[str, dict[str, Callable[[dict[str, Any]], Any]]] = {
    EventType.REQUEST_SUBMITTED: {
        **_WINDOW,
        "role": _policy("role_id"),
        "asset": _policy("asset_id"),
        "processing_activity": _field("processing_activity", _id),
        "extends_grant": _field("extends_grant", _id),
    },
    EventType.REQUEST_DECIDED: {
        **_WINDOW,
        "role": _policy("role_id"),
        "asset": _policy("asset_id"),
        "grant": _field("grant", _id),
        "extends_grant": _field("extends_grant", _id),
        "assets": _field("assets", _ids),
        "rights": _field("rights", _codes),
        "approvals": _field("approvers", _count_of),
        "as_dpo": _field("as_dpo", _flag),
        "channel": _field("channel", _code),
    },
    EventType.GRANT_ACTIVATED: {**_WINDOW},
    EventType.GRANT_ENDED: {
        **_WINDOW,
        "holder": _field("holder", _id),
        "not_entitled": _field("not_entitled", _flag),
        "previous_ends_at": _field("previous_ends_at", _time),
        "ended_at": _field("ended_at", _time),
    },
    EventType.BREAK_GLASS: {
        **_WINDOW,
        "asset": _field("asset", _id),
        "special": _field("special", _flag),
        "request": _field("request", _id),
        "rights": _field("rights", _codes),
    },
    EventType.PURGE_FINISHED: {
        "rule_id": _field("rule_id", _id),
        "status": _field("status", _code),
        "error_code": _field("error_code", _code),
        "action": _field("action", _code),
        "cutoff": _field("cutoff", _time),
        **{
            key: _field(key, _id)
            for key in (
                "matched",
                "affected",
                "skipped_held",
                "skipped_protected",
                "batches",
            )
        },
        "digest": _field("digest", _digest),
        "interrupted": _field("interrupted", _flag),
    },
    EventType.AUDIT_VERIFICATION_FAILED: {
        "first_broken_id": _field("first_broken_id", _id),
        "checked": _field("checked", _id),
    },
}


def _detail(event_type: str, data: Any) -> dict[str, Any]:
    """The allowed fields of ``data`` for ``event_type``; a missing or ill-kinded one is
    ``None``, so every payload of a type has the same keys."""
    data = data if isinstance(data, dict) else {}
    return {key: read(data) for key, read in DETAIL_FIELDS[event_type].items()}


@dataclass(frozen=True)
class WebhookEvent:
    event_id: uuid.UUID
    event_type: str
    occurred_at: Any
    data: dict[str, Any]


def _event_id(event: AuditEvent, part: str = "") -> uuid.UUID:
    base = uuid.UUID(hex=event.hash[:32])
    return uuid.uuid5(base, part) if part else base


def _data(event: AuditEvent, event_type: str, outcome: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": event.action,
        "audit_event": {"id": event.pk, "hash": event.hash},
        "target": {"type": event.target_type, "id": event.target_id},
        "actor_id": event.actor_id,
        "detail": _detail(event_type, event.data),
    }
    if outcome:
        data["outcome"] = outcome
    return data


def webhook_events_from_audit(event: AuditEvent) -> list[WebhookEvent]:
    """The webhook events one audit event gives (none for most actions)."""
    if event.action in ACTION_EVENTS:
        event_type, outcome = ACTION_EVENTS[event.action]
        return [
            WebhookEvent(
                _event_id(event),
                event_type,
                event.occurred_at,
                _data(event, event_type, outcome),
            )
        ]
    if event.action == OFFBOARDED_ACTION:
        found = []
        for grant_id in _ids((event.data or {}).get("grants_revoked")) or []:
            data = _data(event, EventType.GRANT_ENDED, "offboarded")
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
