"""Writing to the audit chain. The only way events are added."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant works; it only has to be the same for every writer of the chain.
_CHAIN_LOCK_KEY = 0x6A697461  # "jita"


@dataclass
class EventSpec:
    """One event to record; ``target`` may be a model instance or None."""

    action: str
    actor: AbstractBaseUser | None = None
    actor_label: str = ""
    target: models.Model | None = None
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


def canonical_data(data: dict[str, Any] | None) -> dict[str, Any]:
    """What is stored for ``data``: JSON-safe, so the digest recomputes from the stored row."""
    return json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))


def event_digest(
    *,
    prev_hash: str,
    occurred_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    target_repr: str,
    reason: str,
    data: dict[str, Any],
) -> str:
    payload = json.dumps(
        [
            prev_hash,
            occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor_id,
            actor_label,
            action,
            target_type,
            target_id,
            target_repr,
            reason,
            data,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def digest_of(event: AuditEvent) -> str:
    return event_digest(
        prev_hash=event.prev_hash,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        target_repr=event.target_repr,
        reason=event.reason,
        data=event.data,
    )


def _lock_chain() -> None:
    """Serialise writers of the chain until the end of the current transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # SQLite takes its write lock at BEGIN (transaction_mode IMMEDIATE): already serial.


def _chain_head() -> str:
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    return last or GENESIS_HASH


def _build(spec: EventSpec, prev_hash: str) -> AuditEvent:
    actor = spec.actor if spec.actor is not None and spec.actor.is_authenticated else None
    label = spec.actor_label or (actor.get_username() if actor is not None else "system")
    target = spec.target
    event = AuditEvent(
        occurred_at=spec.occurred_at or timezone.now(),
        actor=actor,
        actor_label=label[:150],
        action=spec.action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        reason=spec.reason or "",
        data=canonical_data(spec.data),
        prev_hash=prev_hash,
    )
    event.hash = digest_of(event)
    return event


def audit_event_record(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    target: models.Model | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain (inside the caller's transaction, if any)."""
    spec = EventSpec(
        action=action,
        actor=actor,
        actor_label=actor_label,
        target=target,
        reason=reason,
        data=data or {},
        occurred_at=occurred_at,
    )
    return audit_events_record_bulk(events=[spec])[0]


def audit_events_record_bulk(*, events: Iterable[EventSpec]) -> list[AuditEvent]:
    """Append many events with one lock and one INSERT (bulk paths such as reconcile)."""
    specs = list(events)
    if not specs:
        return []
    with transaction.atomic():
        _lock_chain()
        prev = _chain_head()
        built = []
        for spec in specs:
            event = _build(spec, prev)
            built.append(event)
            prev = event.hash
        return AuditEvent.objects.bulk_create(built)
