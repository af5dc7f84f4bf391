"""Writing to the audit chain. The only way events are added."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .models import CHAIN_FIELDS, EVENT_FIELDS, AuditEvent
from .signals import events_recorded

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


# The digest reads ``occurred_at`` first (as a UTC stamp) and ``data`` last (spliced in).
if CHAIN_FIELDS[0] != "occurred_at" or CHAIN_FIELDS[-1] != "data":  # pragma: no cover
    raise RuntimeError("CHAIN_FIELDS must begin with occurred_at and end with data")


def _stamp(moment: datetime) -> str:
    """``occurred_at`` as the digest reads it: UTC, microseconds, ``+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical(value: Any, encoder: type[json.JSONEncoder] | None = None) -> str:
    return json.dumps(value, cls=encoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest_text(prev_hash: str, values: Sequence[Any], data_text: str) -> str:
    """SHA-256 of ``[prev_hash, *values, data]`` as canonical JSON.

    ``values`` are the chain's fields before ``data`` (``CHAIN_FIELDS[:-1]``, in order);
    ``data_text`` is the canonical JSON of ``data``, spliced in as the list's last item (the
    same bytes as serialising the whole list, without serialising the data twice).
    """
    head = _canonical([prev_hash, _stamp(values[0]), *values[1:]])
    return hashlib.sha256(f"{head[:-1]},{data_text}]".encode()).hexdigest()


def chain_digest(prev_hash: str, values: Sequence[Any]) -> str:
    """The digest of one event: ``values`` are its ``CHAIN_FIELDS``, in that order."""
    return _digest_text(prev_hash, values[:-1], _canonical(values[-1]))


def event_digest(*, prev_hash: str, **values: Any) -> str:
    """The digest of one event given as keywords: ``prev_hash`` and every one of
    ``CHAIN_FIELDS``. Raises ``TypeError`` when a field is missing or unknown."""
    if values.keys() != set(CHAIN_FIELDS):
        raise TypeError(f"event_digest() takes prev_hash and exactly {', '.join(CHAIN_FIELDS)}")
    return chain_digest(prev_hash, [values[name] for name in CHAIN_FIELDS])


def digest_of(event: AuditEvent) -> str:
    return chain_digest(event.prev_hash, [getattr(event, name) for name in CHAIN_FIELDS])


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


# One event's stored values (no id yet), in ``EVENT_FIELDS`` order after the id, with
# ``data`` as its canonical JSON text: the row COPY and INSERT write.
_Row = tuple[Any, ...]
_STORED_FIELDS = EVENT_FIELDS[1:]
_DATA_AT = _STORED_FIELDS.index("data")


def _build(spec: EventSpec, prev_hash: str) -> _Row:
    actor = spec.actor if spec.actor is not None and spec.actor.is_authenticated else None
    label = (spec.actor_label or (actor.get_username() if actor is not None else "system"))[:150]
    target = spec.target
    values: dict[str, Any] = {
        "occurred_at": spec.occurred_at or timezone.now(),
        "actor_id": actor.pk if actor is not None else None,
        "actor_label": label,
        "action": spec.action,
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "target_repr": str(target)[:255] if target is not None else "",
        "reason": spec.reason or "",
        "data": _canonical(spec.data or {}, DjangoJSONEncoder),
    }
    chain = [values[name] for name in CHAIN_FIELDS]
    digest = _digest_text(prev_hash, chain[:-1], chain[-1])
    return (*chain, prev_hash, digest)


def _event(row: _Row, pk: int | None = None) -> AuditEvent:
    values = dict(zip(_STORED_FIELDS, row, strict=True))
    values["data"] = json.loads(row[_DATA_AT])
    event = AuditEvent(pk=pk, **values)
    if pk is not None:
        event._state.adding = False
        event._state.db = connection.alias
    return event


_ACTION_AT = _STORED_FIELDS.index("action")


class RecordedEvents(Sequence[AuditEvent]):
    """The events of one write, for ``events_recorded`` receivers: ``actions`` (the set of
    their actions) costs nothing, the ``AuditEvent`` instances are built on first read (a
    bulk path that asked for no ids writes thousands that most receivers skip)."""

    def __init__(self, rows: list[_Row], built: list[AuditEvent]) -> None:
        self._rows = rows
        self._built: list[AuditEvent] | None = built or None
        self.actions = frozenset(row[_ACTION_AT] for row in rows)

    def _events(self) -> list[AuditEvent]:
        if self._built is None:
            self._built = [_event(row) for row in self._rows]
        return self._built

    def __getitem__(self, index: Any) -> Any:
        return self._events()[index]

    def __len__(self) -> int:
        return len(self._rows)


# Below this many events an INSERT is as quick as COPY and simpler.
_COPY_FROM = 50
_COPY_COLUMNS = EVENT_FIELDS


def _copy(rows: list[_Row], *, ids: bool) -> list[int]:
    """COPY the rows in; with ``ids``, returns their ids in chain order.

    Bulk paths (reconcile, purges) write thousands of events: COPY is several times cheaper
    than a multi-row INSERT. Either way id order is chain order: the ids are taken from the
    sequence first (when the caller wants them), or the column default takes them row by row
    as COPY reads the rows, and both happen inside the chain lock.
    """
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    fields = _COPY_COLUMNS if ids else _COPY_COLUMNS[1:]
    columns = ", ".join(fields)
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
            prev = row[-1]
        if connection.vendor != "postgresql" or len(rows) < _COPY_FROM:
            written = AuditEvent.objects.bulk_create([_event(row) for row in rows])
        else:
            ids = _copy(rows, ids=returning)
            written = (
                [_event(row, pk) for pk, row in zip(ids, rows, strict=True)] if returning else []
            )
        # Other apps' rows that must commit with these events (the webhook outbox).
        if events_recorded.has_listeners():
            events_recorded.send(sender=AuditEvent, events=RecordedEvents(rows, written))
    return written


VERIFICATION_FAILED_ACTION = "audit.chain.verification_failed"


def audit_verification_failure_record(
    *,
    first_broken_id: int | None,
    checked: int,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Record that a verification found the chain broken at event ``first_broken_id`` after
    ``checked`` good events (``manage.py audit_verify``, the admin's verify page), so the
    finding is itself on the trail and reaches subscribers (webhook event
    ``audit.verification_failed``). The new event links to the current head as every event
    does; the broken link stays where it is for the next verification to find."""
    return audit_event_record(
        action=VERIFICATION_FAILED_ACTION,
        actor=actor,
        actor_label=actor_label,
        data={"first_broken_id": first_broken_id, "checked": checked},
    )
