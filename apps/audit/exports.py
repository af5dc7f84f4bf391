"""Exporting the audit trail as JSON Lines or CSV, streamed in constant memory.

On PostgreSQL the rows are rendered by the server (``COPY (SELECT row_to_json(...)) TO
STDOUT``) and passed through in chunks as psycopg reads them; elsewhere (SQLite) keyset
pages of the ORM are rendered in Python. Both give the same fields with the same values.

``occurred_at`` is written exactly as the chain's digest reads it (UTC, microseconds,
``+00:00``), so a consumer can recompute every ``hash`` from an exported line; see
docs/audit.md.

CSV cells go through the project's one spreadsheet writer (``jitportal.spreadsheets``): text
that begins with a formula trigger (``=``, ``+``, ``-``, ``@``, tab, carriage return) is
written with a ``'`` in front (OWASP CSV Injection), in SQL on PostgreSQL and in Python
elsewhere. JSON Lines carry every value verbatim.

The cursor (``after_id``) is safe for incremental fetching: writers of the chain hold one
lock until they commit, so event ids become visible in increasing order and an event with
an id at or below a cursor already handed out can never appear later.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils.dateparse import parse_date, parse_datetime

from jitportal.inputs import DATE_MAX, DATE_MIN, date_in_range
from jitportal.spreadsheets import csv_writer, spreadsheet_text_sql
from jitportal.timekeeping import day_start, local_moment

from .models import EVENT_FIELDS, TEXT_FIELDS, AuditEvent
from .services import audit_event_record

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv")
EXPORT_FIELDS = EVENT_FIELDS
CONTENT_TYPES = {"jsonl": "application/jsonl; charset=utf-8", "csv": "text/csv; charset=utf-8"}
# Pieces handed to the response or file: big enough to keep Python out of the way,
# small enough that memory does not depend on the number of rows.
CHUNK_BYTES = 256 * 1024
_ORM_PAGE = 2000
_TS_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'
# Free text in CSV: written as a spreadsheet reads it as text (jitportal.spreadsheets).
_CSV_TEXT_COLUMNS = TEXT_FIELDS
_AT = {name: index for index, name in enumerate(EXPORT_FIELDS)}


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
    if not date_in_range(moment):
        raise ValueError(
            f"{name}: {value!r} is outside the years {DATE_MIN.year} to {DATE_MAX.year}."
        )
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


@dataclass
class ExportProgress:
    """What an export has rendered: ``rows`` (events) once the last one is out."""

    rows: int = 0
    finished: bool = False


def audit_export_chunks(
    *,
    window: ExportWindow,
    fmt: str = "jsonl",
    force_orm: bool = False,
    progress: ExportProgress | None = None,
) -> Iterator[bytes]:
    """Yield the export of ``window`` as byte chunks of about ``CHUNK_BYTES``.

    ``progress`` (optional) gets the number of events written and ``finished=True`` after
    the last chunk. Raises ``ValueError`` for an unknown format and ``django.db`` errors
    when the database fails mid-stream.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    progress = progress if progress is not None else ExportProgress()
    if window.up_to_id is not None and window.up_to_id <= window.after_id:
        if fmt == "csv":
            yield _csv_header()
        progress.finished = True
        return
    if connection.vendor == "postgresql" and not force_orm:
        yield from _rechunk(_copy_chunks(window, fmt, progress))
    else:
        yield from _rechunk(_orm_chunks(window, fmt, progress))
    progress.finished = True


@dataclass
class _Sent:
    bytes: int = 0
    lines: int = 0
    error: str = ""


def audit_export_recorded(
    *,
    window: ExportWindow,
    fmt: str,
    actor: AbstractBaseUser | None,
    reason: str,
    data: dict[str, Any] | None = None,
    force_orm: bool = False,
) -> Iterator[bytes]:
    """The export's chunks, recorded in the trail when the stream ends, as it ended.

    - ``audit.trail.exported``: every event of the window was handed on; ``data.rows`` is
      their number, ``data.bytes`` the size.
    - ``audit.trail.export_failed``: an error stopped the stream (``data.error`` names it);
      the error is raised on.
    - ``audit.trail.export_aborted``: the reader stopped reading (a client that went away
      closes the response, and so this generator).

    For the two incomplete outcomes ``data.rows`` is the number of events handed on when it
    is known exactly (JSON Lines: one line each), else ``None``; ``data.bytes`` is exact.
    Who took a copy of the trail, and how much of it, is itself evidence.
    """
    progress = ExportProgress()
    sent = _Sent()
    outcome = "aborted"
    try:
        for chunk in audit_export_chunks(
            window=window, fmt=fmt, force_orm=force_orm, progress=progress
        ):
            sent.bytes += len(chunk)
            if fmt == "jsonl":
                sent.lines += chunk.count(b"\n")
            yield chunk
        outcome = "completed"
    except GeneratorExit:
        outcome = "aborted"
        raise
    except Exception as exc:
        outcome = "failed"
        sent.error = f"{type(exc).__module__}.{type(exc).__qualname__}"
        raise
    finally:
        _export_record(
            outcome=outcome,
            window=window,
            fmt=fmt,
            actor=actor,
            reason=reason,
            data=data or {},
            rows=progress.rows
            if outcome == "completed"
            else sent.lines
            if fmt == "jsonl"
            else None,
            sent=sent,
        )


_OUTCOME_ACTIONS = {
    "completed": "audit.trail.exported",
    "failed": "audit.trail.export_failed",
    "aborted": "audit.trail.export_aborted",
}


def _export_record(
    *,
    outcome: str,
    window: ExportWindow,
    fmt: str,
    actor: AbstractBaseUser | None,
    reason: str,
    data: dict[str, Any],
    rows: int | None,
    sent: _Sent,
) -> None:
    facts: dict[str, Any] = {
        **data,
        "format": fmt,
        "since": window.since,
        "until": window.until,
        "after_id": window.after_id,
        "up_to_id": window.up_to_id,
        "outcome": outcome,
        "rows": rows,
        "bytes": sent.bytes,
    }
    if sent.error:
        facts["error"] = sent.error
    try:
        # A failed COPY can leave the connection unusable; the record needs a working one.
        if connection.connection is not None and not connection.is_usable():
            connection.close()
        audit_event_record(action=_OUTCOME_ACTIONS[outcome], actor=actor, reason=reason, data=facts)
    except Exception:
        # The export's own outcome stands; the missing record is in the server log.
        logger.exception("Could not record the audit-trail export (%s): %s", outcome, facts)


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
        line = " || ',' || ".join(_json_member_sql(name, stamp) for name in EXPORT_FIELDS)
        line = f"'{{' || {line} || '}}'"
        sql = (
            f"COPY (SELECT {line} FROM {table} WHERE {where} ORDER BY id) TO STDOUT "  # noqa: S608
            "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
        )
    else:
        # Free text as a spreadsheet reads it as text (OWASP CSV Injection); the id,
        # timestamps, numbers and digests are the portal's own.
        expressions = {name: spreadsheet_text_sql(name) for name in _CSV_TEXT_COLUMNS}
        expressions["occurred_at"] = stamp
        # JSON text begins with a trigger only for a negative number; the test on the type
        # keeps the conversion to text to one per row.
        expressions["data"] = (
            "CASE WHEN jsonb_typeof(data) = 'number' "
            f"THEN {spreadsheet_text_sql('data::text')} ELSE data::text END"
        )
        columns = ", ".join(
            f"{expressions[name]} AS {name}" if name in expressions else name
            for name in EXPORT_FIELDS
        )
        inner = f"SELECT {columns} FROM {table} WHERE {where} ORDER BY id"  # noqa: S608
        sql = f"COPY ({inner}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    return sql, params


def _json_member_sql(name: str, stamp: str) -> str:
    """SQL text of one ``"name":value`` member of an exported JSON line."""
    if name == "occurred_at":
        value = f"'\"' || {stamp} || '\"'"
    elif name == "id":
        value = "id"
    elif name == "actor_id":
        value = "coalesce(actor_id::text, 'null')"
    elif name == "data":
        value = "data::text"
    elif name in ("prev_hash", "hash"):
        # Hex digits: nothing to escape.
        value = f"'\"' || {name} || '\"'"
    else:
        value = f"to_json({name})::text"
    return f"'\"{name}\":' || {value}"


def _copy_chunks(window: ExportWindow, fmt: str, progress: ExportProgress) -> Iterator[bytes]:
    sql, params = copy_statement(window, fmt)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        # Django's cursor wrapper for DEBUG=True passes no parameters to copy(); psycopg's
        # cursor underneath does. The statement is still logged like every other query
        # under DEBUG, and errors still come out as django.db errors.
        raw = cursor.cursor
        debug_sql = getattr(cursor, "debug_sql", None)
        logged = debug_sql(sql, params) if debug_sql is not None else contextlib.nullcontext()
        with logged, connection.wrap_database_errors, raw.copy(sql, params) as copy:
            for data in copy:
                yield bytes(data)
        progress.rows = raw.rowcount


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


def _orm_chunks(window: ExportWindow, fmt: str, progress: ExportProgress) -> Iterator[bytes]:
    if fmt == "jsonl":
        for row in _rows(window):
            progress.rows += 1
            record = dict(zip(EXPORT_FIELDS, row, strict=True))
            record["occurred_at"] = _ts(record["occurred_at"])
            line = json.dumps(
                record, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
            )
            yield (line + "\n").encode()
        return
    yield _csv_header()
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\n")
    for row in _rows(window):
        progress.rows += 1
        values = list(row)
        values[_AT["occurred_at"]] = _ts(values[_AT["occurred_at"]])
        values[_AT["data"]] = json.dumps(
            values[_AT["data"]], cls=DjangoJSONEncoder, ensure_ascii=False
        )
        writer.writerow(values)
        yield out.getvalue().encode()
        out.seek(0)
        out.truncate()
