"""Writing to the audit chain. The only way events are added."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.conf import settings
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


_SEARCH_KEY_LABEL = b"jitportal.audit.search-terms"


def audit_search_key() -> bytes:
    """JITPORTAL["AUDIT_SEARCH_KEY"], or a key derived from SECRET_KEY when it is empty.

    The key must live as long as the trail (six years by default): with another key, a term
    can no longer be tested against the events written under the old one.
    """
    secret = settings.JITPORTAL.get("AUDIT_SEARCH_KEY") or ""
    if secret:
        return str(secret).encode()
    return hmac.new(settings.SECRET_KEY.encode(), _SEARCH_KEY_LABEL, hashlib.sha256).digest()


def audit_search_term_normalise(term: str) -> str:
    """The form a search term is hashed in: NFKC, case-folded, inner blanks collapsed.

    Searches match case-insensitively, so "Lovelace" and "lovelace " are the same search and
    give the same digest.
    """
    return " ".join(unicodedata.normalize("NFKC", term).casefold().split())


def audit_search_term_digest(term: str) -> str:
    """HMAC-SHA256 (RFC 2104) of the normalised search ``term``, 64 lowercase hex digits;
    "" for an empty term.

    The trail is kept far longer than the records it names and auditors read it without a
    grant, so a search typed on a governed listing is stored only as this keyed digest
    (GDPR Art. 5(1)(c) data minimisation, Art. 25 data protection by design): an
    investigator holding the key can test a known term (``manage.py audit_search_term``),
    nobody can read one back, and guessing needs the key.
    """
    normalised = audit_search_term_normalise(term)
    if not normalised:
        return ""
    return hmac.new(audit_search_key(), normalised.encode(), hashlib.sha256).hexdigest()


class _Row(NamedTuple):
    """One event's column values (no id yet), in COPY column order after the id."""

    occurred_at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    target_repr: str
    reason: str
    data_text: str
    prev_hash: str
    hash: str


def _build(spec: EventSpec, prev_hash: str) -> _Row:
    actor = spec.actor if spec.actor is not None and spec.actor.is_authenticated else None
    label = (spec.actor_label or (actor.get_username() if actor is not None else "system"))[:150]
    target = spec.target
    occurred_at = spec.occurred_at or timezone.now()
    actor_id = actor.pk if actor is not None else None
    target_type = target._meta.label_lower if target is not None else ""
    target_id = str(target.pk) if target is not None else ""
    target_repr = str(target)[:255] if target is not None else ""
    reason = spec.reason or ""
    data_text = json.dumps(
        spec.data or {},
        cls=DjangoJSONEncoder,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    # Same bytes as event_digest(): the list's JSON with the already canonical data spliced
    # in as its last item, which saves serialising every event's data twice.
    head = json.dumps(
        [
            prev_hash,
            occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor_id,
            label,
            spec.action,
            target_type,
            target_id,
            target_repr,
            reason,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = hashlib.sha256(f"{head[:-1]},{data_text}]".encode()).hexdigest()
    return _Row(
        occurred_at,
        actor_id,
        label,
        spec.action,
        target_type,
        target_id,
        target_repr,
        reason,
        data_text,
        prev_hash,
        digest,
    )


def _event(row: _Row, pk: int | None = None) -> AuditEvent:
    event = AuditEvent(
        pk=pk,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        actor_label=row.actor_label,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        target_repr=row.target_repr,
        reason=row.reason,
        data=json.loads(row.data_text),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
    if pk is not None:
        event._state.adding = False
        event._state.db = connection.alias
    return event


# Below this many events an INSERT is as quick as COPY and simpler.
_COPY_FROM = 50
_COPY_COLUMNS = ("id", *_Row._fields)


def _copy(rows: list[_Row], *, ids: bool) -> list[int]:
    """COPY the rows in; with ``ids``, returns their ids in chain order.

    Bulk paths (reconcile, purges) write thousands of events: COPY is several times cheaper
    than a multi-row INSERT. Either way id order is chain order: the ids are taken from the
    sequence first (when the caller wants them), or the column default takes them row by row
    as COPY reads the rows, and both happen inside the chain lock.
    """
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    fields = _COPY_COLUMNS if ids else _COPY_COLUMNS[1:]
    columns = ", ".join("data" if c == "data_text" else c for c in fields)
    with connection.cursor() as cursor:
        if not ids:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return []
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [AuditEvent._meta.db_table, len(rows)],
        )
        pks = sorted(row[0] for row in cursor.fetchall())
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(pks, rows, strict=True):
                copy.write_row((pk, *row))
    return pks


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


def audit_events_record_bulk(
    *, events: Iterable[EventSpec], returning: bool = True
) -> list[AuditEvent]:
    """Append many events with one lock and one INSERT (bulk paths such as reconcile).

    ``returning=False`` skips building the model instances (an empty list comes back): the
    bulk paths that only write pay for the rows and nothing else.
    """
    specs = list(events)
    if not specs:
        return []
    with transaction.atomic():
        _lock_chain()
        prev = _chain_head()
        rows = []
        for spec in specs:
            row = _build(spec, prev)
            rows.append(row)
            prev = row.hash
        if connection.vendor != "postgresql" or len(rows) < _COPY_FROM:
            return AuditEvent.objects.bulk_create([_event(row) for row in rows])
        ids = _copy(rows, ids=returning)
    if not returning:
        return []
    return [_event(row, pk) for pk, row in zip(ids, rows, strict=True)]
