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


def _build(spec: EventSpec, prev_hash: str) -> tuple[AuditEvent, str]:
    """The event and its ``data`` as canonical JSON text (what the digest and COPY use)."""
    actor = spec.actor if spec.actor is not None and spec.actor.is_authenticated else None
    label = spec.actor_label or (actor.get_username() if actor is not None else "system")
    target = spec.target
    data_text = json.dumps(
        spec.data or {},
        cls=DjangoJSONEncoder,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    event = AuditEvent(
        occurred_at=spec.occurred_at or timezone.now(),
        # The FK is to settings.AUTH_USER_MODEL, which the stubs pin to auth.User; this app
        # imports no user model and takes any AbstractBaseUser.
        actor=actor,  # type: ignore[misc]
        actor_label=label[:150],
        action=spec.action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        reason=spec.reason or "",
        data=json.loads(data_text),
        prev_hash=prev_hash,
    )
    # Same bytes as event_digest(): the list's JSON with the already canonical data spliced
    # in as its last item, which saves serialising every event's data twice.
    head = json.dumps(
        [
            prev_hash,
            event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            event.actor_id,
            event.actor_label,
            event.action,
            event.target_type,
            event.target_id,
            event.target_repr,
            event.reason,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    event.hash = hashlib.sha256(f"{head[:-1]},{data_text}]".encode()).hexdigest()
    return event, data_text


# Below this many events an INSERT is as quick as COPY and simpler.
_COPY_FROM = 50
_COPY_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "reason",
    "data",
    "prev_hash",
    "hash",
)


def _insert(built: list[tuple[AuditEvent, str]]) -> list[AuditEvent]:
    events = [event for event, _ in built]
    if connection.vendor != "postgresql" or len(built) < _COPY_FROM:
        return AuditEvent.objects.bulk_create(events)
    # Bulk paths (reconcile, purges) write thousands of events: COPY is several times
    # cheaper than a multi-row INSERT. Ids are taken from the sequence first so the
    # returned events carry their primary keys, as bulk_create's do.
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [AuditEvent._meta.db_table, len(built)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        columns = ", ".join(_COPY_COLUMNS)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk, (event, data_text) in zip(ids, built, strict=True):
                event.pk = pk
                copy.write_row(
                    (
                        pk,
                        event.occurred_at,
                        event.actor_id,
                        event.actor_label,
                        event.action,
                        event.target_type,
                        event.target_id,
                        event.target_repr,
                        event.reason,
                        data_text,
                        event.prev_hash,
                        event.hash,
                    )
                )
    for event in events:
        event._state.adding = False
        event._state.db = connection.alias
    return events


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
            event, data_text = _build(spec, prev)
            built.append((event, data_text))
            prev = event.hash
        return _insert(built)
