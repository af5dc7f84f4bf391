"""The one writer of CSV and XLSX cells: what leaves the portal in a spreadsheet is data.

Spreadsheet programs read a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula
(and a leading tab or carriage return hides such a start), so text a person typed into the
portal could run as a formula on an auditor's machine ("CSV injection", also called formula
injection). Following the OWASP guidance
(https://owasp.org/www-community/attacks/CSV_Injection), every text cell that begins with one
of those characters is written with a single quote (``'``) in front, so it is read as text
and shown with the quote. In XLSX, cells holding text are always typed as strings (never a
formula or an error value); numbers, dates and booleans the portal computes keep their type.

The rule applies to every export: report tables and the record of processing
(``apps.reports.renderers``), the audit-trail export and its feed (``apps.audit.exports``,
whose PostgreSQL path applies the same rule in SQL through :func:`spreadsheet_text_sql`).
Reading an export back: a text cell that begins with ``'`` followed by one of
:data:`FORMULA_TRIGGERS` holds that text without its first character.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell

# OWASP, CSV Injection: "ensure that no cells begin with any of the following characters".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
_TRIGGER_SET = frozenset(FORMULA_TRIGGERS)
# Values the portal computes; written with their own type.
_TYPED = (bool, int, float, decimal.Decimal, dt.date, dt.time, dt.timedelta)
_ERROR_CODES = frozenset(ERROR_CODES)


class TextStream(Protocol):
    def write(self, text: str, /) -> int: ...


def spreadsheet_text(text: str) -> str:
    """``text`` as a spreadsheet reads it as text: a ``'`` in front if it begins with a
    formula trigger (OWASP CSV Injection), unchanged otherwise."""
    if text and text[0] in _TRIGGER_SET:
        return ESCAPE + text
    return text


def spreadsheet_text_sql(expression: str) -> str:
    """The SQL (PostgreSQL) of :func:`spreadsheet_text` applied to a text ``expression``.

    The first character is compared by its code (``ascii()``: one integer per value, about
    half the cost of comparing ``left(..., 1)`` strings). ``expression`` is put into the
    statement as it is: pass column names and constants, never values from a request.
    """
    codes = ", ".join(str(ord(c)) for c in FORMULA_TRIGGERS)
    return (
        f"CASE WHEN ascii({expression}) IN ({codes}) "
        f"THEN '{ESCAPE}{ESCAPE}' || {expression} ELSE {expression} END"
    )


def csv_value(value: Any) -> Any:
    """One CSV cell: ``None`` is empty, computed numbers and dates stay, the rest is text
    written by :func:`spreadsheet_text`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_text(value)
    if isinstance(value, _TYPED):
        return value
    return spreadsheet_text(str(value))


def csv_write(rows: Iterable[Sequence[Any]], stream: TextStream, *, lineterminator="\r\n") -> None:
    """Write ``rows`` to a text ``stream`` as CSV (RFC 4180 quoting), every cell through
    :func:`csv_value`."""
    writer = csv.writer(stream, lineterminator=lineterminator)
    for row in rows:
        writer.writerow([csv_value(v) for v in row])


def csv_writer(stream: TextStream, *, lineterminator: str = "\r\n") -> _CsvWriter:
    """A writer with ``writerow(row)`` for streamed CSV, every cell through :func:`csv_value`.

    Rows end with ``lineterminator``; a cell holding a line break of either kind (``\r`` or
    ``\n``) is quoted whatever the line end (Python's ``csv`` quotes only the characters
    of its own line terminator).
    """
    return _CsvWriter(stream, lineterminator)


class _CsvWriter:
    def __init__(self, stream: TextStream, lineterminator: str) -> None:
        self._stream = stream
        self._end = lineterminator
        self._line = io.StringIO()
        self._writer = csv.writer(self._line, lineterminator="\r\n")

    def writerow(self, row: Sequence[Any]) -> None:
        self._writer.writerow([csv_value(v) for v in row])
        line = self._line.getvalue()
        self._line.seek(0)
        self._line.truncate()
        self._stream.write(line[:-2] + self._end)


def _xlsx_text(value: str) -> str:
    # XML cannot carry most control characters; openpyxl refuses them. They are shown as
    # U+FFFD so the export still completes and the place is visible.
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return spreadsheet_text(value)


def xlsx_value(ws: Any, value: Any) -> Any:
    """One value for a write-only worksheet's ``append``: computed numbers and dates as they
    are, text (and anything else) typed as a string after :func:`spreadsheet_text`.

    A cell object (``WriteOnlyCell``, for styles) has its value made safe the same way.
    """
    if isinstance(value, Cell):
        if isinstance(value._value, str) or value.data_type in ("f", "e"):
            text = _xlsx_text(str(value._value))
            value._value = text
            value.data_type = "s"
        return value
    if value is None or isinstance(value, _TYPED):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.isoformat()
        return value
    text = _xlsx_text(value if isinstance(value, str) else str(value))
    if text in _ERROR_CODES:
        cell = WriteOnlyCell(ws)
        cell._value = text
        cell.data_type = "s"
        return cell
    return text


def xlsx_cell(ws: Any, value: Any) -> Cell:
    """A ``WriteOnlyCell`` (to be styled) holding ``value`` as :func:`xlsx_value` does."""
    safe = xlsx_value(ws, value)
    if isinstance(safe, Cell):
        return safe
    cell = WriteOnlyCell(ws, value=safe)
    if isinstance(safe, str):
        cell.data_type = "s"
    return cell


def xlsx_append(ws: Any, row: Iterable[Any]) -> None:
    """Append one row to a write-only worksheet, every value through :func:`xlsx_value`."""
    ws.append([xlsx_value(ws, v) for v in row])
