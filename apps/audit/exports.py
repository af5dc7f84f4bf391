"""Exporting the audit trail as JSON Lines or CSV, streamed in constant memory.

On PostgreSQL the rows are rendered by the server (``COPY (SELECT row_to_json(...)) TO
STDOUT``) and passed through in chunks as psycopg reads them; elsewhere (SQLite) keyset
pages of the ORM are rendered in Python. Both give the same fields with the same values.

``occurred_at`` is written exactly as the chain's digest reads it (UTC, microseconds,
``+00:00``), so a consumer can recompute every ``hash`` from an exported line; see
docs/audit.md.

The cursor (``after_id``) is safe for incremental fetching: writers of the chain hold one
lock until they commit, so event ids become visible in increasing order and an event with
an id at or below a cursor already handed out can never appear later.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils.dateparse import parse_date, parse_datetime

from jitportal.timekeeping import day_start, local_moment

from .models import AuditEvent

FORMATS = ("jsonl", "csv")
EXPORT_FIELDS = (
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
CONTENT_TYPES = {"jsonl": "application/jsonl; charset=utf-8", "csv": "text/csv; charset=utf-8"}
# Pieces handed to the response or file: big enough to keep Python out of the way,
# small enough that memory does not depend on the number of rows.
CHUNK_BYTES = 256 * 1024
_ORM_PAGE = 2000
_TS_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'


def parse_moment(value: str, *, name: str) -> datetime:
    """An ISO date (the start of that local day) or date-time; naive values are in the
    server's time zone. Raises ``ValueError`` for anything else, and for a naive time the
    clocks skip or repeat (``timekeeping.LocalTimeError``)."""
    try:
        # A date alone is a day: its first instant, even where the clocks skip midnight.
        day = parse_date(value)
        moment = day_start(day) if day is not None else parse_datetime(value)
        if moment is None:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{name}: {value!r} is not an ISO date or date-time "
            "(e.g. 2026-01-31 or 2026-01-31T08:00:00+00:00)."
        ) from None
    # A naive time the clocks skip or repeat is refused (LocalTimeError is a ValueError).
    return local_moment(moment)


@dataclass(frozen=True)
class ExportWindow:
    """Which events an export covers: ``after_id < id <= up_to_id`` and the time bounds."""

    since: datetime | None = None
    until: datetime | None = None
    after_id: int = 0
    up_to_id: int | None = None

    @property
    def next_cursor(self) -> int:
        """The ``after_id`` to ask with next time."""
        return self.up_to_id if self.up_to_id is not None else self.after_id


def audit_export_window(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> ExportWindow:
    """Fix the id range an export covers before streaming it.

    The upper id is decided first so that a response can carry its next cursor in a
    header and events written while it streams wait for the next fetch.
    """
    if after_id < 0:
        raise ValueError("after_id must be 0 or more.")
    if limit is not None and limit < 1:
        raise ValueError("limit must be 1 or more.")
    if since is not None and until is not None and until <= since:
        raise ValueError("until must be after since.")
    qs = _filtered(AuditEvent.objects.all(), since, until, after_id, None).order_by("id")
    if limit is None:
        up_to = qs.order_by("-id").values_list("id", flat=True).first()
    else:
        ids = list(qs.values_list("id", flat=True)[limit - 1 : limit])
        up_to = ids[0] if ids else qs.order_by("-id").values_list("id", flat=True).first()
    return ExportWindow(since=since, until=until, after_id=after_id, up_to_id=up_to or after_id)


def audit_export_has_more(*, window: ExportWindow) -> bool:
    """Whether events beyond the window's last id match the same time bounds."""
    return _filtered(
        AuditEvent.objects.all(), window.since, window.until, window.next_cursor, None
    ).exists()


def audit_export_chunks(
    *, window: ExportWindow, fmt: str = "jsonl", force_orm: bool = False
) -> Iterator[bytes]:
    """Yield the export of ``window`` as byte chunks of about ``CHUNK_BYTES``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    if window.up_to_id is not None and window.up_to_id <= window.after_id:
        if fmt == "csv":
            yield _csv_header()
        return
    if connection.vendor == "postgresql" and not force_orm:
        yield from _rechunk(_copy_chunks(window, fmt))
    else:
        yield from _rechunk(_orm_chunks(window, fmt))


def _filtered(qs, since, until, after_id, up_to_id):
    if after_id:
        qs = qs.filter(id__gt=after_id)
    if up_to_id is not None:
        qs = qs.filter(id__lte=up_to_id)
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    return qs


def _rechunk(pieces: Iterator[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


# --- PostgreSQL: the server renders, psycopg streams -----------------------------------------


def _where_sql(window: ExportWindow) -> tuple[str, list]:
    clauses = ["id > %s"]
    params: list = [window.after_id]
    if window.up_to_id is not None:
        clauses.append("id <= %s")
        params.append(window.up_to_id)
    if window.since is not None:
        clauses.append("occurred_at >= %s")
        params.append(window.since)
    if window.until is not None:
        clauses.append("occurred_at < %s")
        params.append(window.until)
    return " AND ".join(clauses), params


def copy_statement(window: ExportWindow, fmt: str) -> tuple[str, list]:
    """The COPY statement for an export (also used by the benchmark's baseline).

    Only constants and the quoted table name are put into the text; values are parameters.
    """
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    where, params = _where_sql(window)
    stamp = f"to_char(occurred_at AT TIME ZONE 'UTC', '{_TS_FORMAT}')"
    if fmt == "jsonl":
        # The JSON text is concatenated by the server: the same bytes row_to_json() gives
        # (to_json() escapes like it, jsonb prints itself), about a third cheaper. No column
        # is NULL but actor_id. CSV mode with quote and delimiter bytes JSON never contains
        # passes the text through unescaped (text mode would double every backslash).
        line = (
            "'{\"id\":' || id"
            f' || \',"occurred_at":"\' || {stamp}'
            " || '\",\"actor_id\":' || coalesce(actor_id::text, 'null')"
            + "".join(
                f" || ',\"{name}\":' || to_json({name})::text"
                for name in (
                    "actor_label",
                    "action",
                    "target_type",
                    "target_id",
                    "target_repr",
                    "reason",
                )
            )
            + " || ',\"data\":' || data::text"
            ' || \',"prev_hash":"\' || prev_hash || \'","hash":"\' || hash || \'"}\''
        )
        sql = (
            f"COPY (SELECT {line} FROM {table} WHERE {where} ORDER BY id) TO STDOUT "  # noqa: S608
            "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
        )
    else:
        columns = (
            f"id, {stamp} AS occurred_at, actor_id, actor_label, action, target_type, "
            "target_id, target_repr, reason, data::text AS data, prev_hash, hash"
        )
        inner = f"SELECT {columns} FROM {table} WHERE {where} ORDER BY id"  # noqa: S608
        sql = f"COPY ({inner}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    return sql, params


def _copy_chunks(window: ExportWindow, fmt: str) -> Iterator[bytes]:
    sql, params = copy_statement(window, fmt)
    connection.ensure_connection()
    with connection.cursor() as cursor, cursor.copy(sql, params) as copy:
        for data in copy:
            yield bytes(data)


# --- Elsewhere: keyset pages of the ORM -------------------------------------------------------


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _rows(window: ExportWindow) -> Iterator[tuple]:
    last = window.after_id
    base = _filtered(AuditEvent.objects.all(), window.since, window.until, 0, window.up_to_id)
    while True:
        page = list(base.filter(id__gt=last).order_by("id").values_list(*EXPORT_FIELDS)[:_ORM_PAGE])
        if not page:
            return
        last = page[-1][0]
        yield from page
        # Let the page go before the next one is fetched: one page in memory, not two.
        del page


def _csv_header() -> bytes:
    return (",".join(EXPORT_FIELDS) + "\n").encode()


def _orm_chunks(window: ExportWindow, fmt: str) -> Iterator[bytes]:
    if fmt == "jsonl":
        for row in _rows(window):
            record = dict(zip(EXPORT_FIELDS, row, strict=True))
            record["occurred_at"] = _ts(record["occurred_at"])
            line = json.dumps(
                record, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
            )
            yield (line + "\n").encode()
        return
    yield _csv_header()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in _rows(window):
        values = list(row)
        values[1] = _ts(values[1])
        values[9] = json.dumps(values[9], cls=DjangoJSONEncoder, ensure_ascii=False)
        writer.writerow(["" if v is None else v for v in values])
        yield out.getvalue().encode()
        out.seek(0)
        out.truncate()
