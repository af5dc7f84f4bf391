"""Render report documents (plain dicts) as XLSX, CSV, JSON and HTML.

Every renderer takes the document ``ropa_build()`` returns (or a frozen snapshot of one),
so live reports and snapshots print the same way. Every CSV and XLSX cell goes through
``jitportal.spreadsheets`` (text never becomes a formula: OWASP CSV Injection).
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from jitportal.spreadsheets import csv_write, xlsx_append, xlsx_cell, xlsx_value

# Cell texts, in the reader's language (``str()`` them where a cell is written).
MISSING = gettext_lazy("MISSING (required)")
BLANK = gettext_lazy("not filled")
NOT_APPLICABLE = gettext_lazy("n/a")

FORMATS = ("xlsx", "csv", "json", "html")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
}

_RED = PatternFill("solid", fgColor="FBE4E2")
_AMBER = PatternFill("solid", fgColor="FDF0DC")
_GREY = PatternFill("solid", fgColor="EEF1F7")
_HEAD = PatternFill("solid", fgColor="1D2433")
_WRAP = Alignment(wrap_text=True, vertical="top")


# --- cells with their state ------------------------------------------------------------------


def ropa_cells(doc: dict[str, Any], activity: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, state) for every column of one activity; state is ok|missing|blank|na."""
    missing = {g["column"] for g in activity["gaps"] if g["column"]}
    blank = set(activity["recommended_blank"])
    na = set(activity["not_applicable"])
    cells = []
    missing_text, blank_text, na_text = str(MISSING), str(BLANK), str(NOT_APPLICABLE)
    for column in doc["columns"]:
        key = column["key"]
        value = activity["values"].get(key, "")
        if key in missing:
            cells.append((value or missing_text, "missing"))
        elif key in na and not value:
            cells.append((na_text, "na"))
        elif key in blank:
            cells.append((blank_text, "blank"))
        elif key == "retained_per_policy":
            status = activity["retention"]["status"]
            cells.append((value, {"yes": "ok", "no": "missing"}.get(status, "blank")))
        else:
            cells.append((value, "ok"))
    return cells


def ropa_table(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for templates: the activity and its cells."""
    return [{"activity": a, "cells": ropa_cells(doc, a)} for a in doc["activities"]]


# --- XLSX ---------------------------------------------------------------------------------------


def _cell(ws, value: Any, *, bold: bool = False, fill=None, color: str | None = None, size=None):
    cell = xlsx_cell(ws, value)
    if bold or color or size:
        cell.font = Font(bold=bold, color=color, size=size)
    if fill is not None:
        cell.fill = fill
    cell.alignment = _WRAP
    return cell


_STATE_FILL = {"missing": _RED, "blank": _AMBER, "na": _GREY}


class _StyledCells:
    """Cells of one sheet in a few fixed styles.

    Assigning style objects hashes them into the workbook's style table on every cell,
    which costs more than writing the row; each style is resolved once here and its
    resolved index array copied onto the next cells.
    """

    def __init__(self, ws) -> None:
        self.ws = ws
        self.arrays: dict[str, Any] = {}
        for state in ("missing", "blank", "na"):
            template = _cell(ws, "", fill=_STATE_FILL.get(state))
            self.arrays[state] = template._style

    def __call__(self, value: Any, state: str = "ok") -> Any:
        if state == "ok":
            # Plain values for the bulk of the sheet: half the cost of a styled cell.
            return xlsx_value(self.ws, value)
        cell = xlsx_cell(self.ws, value)
        cell._style = copy.copy(self.arrays[state])
        return cell


def _about_lines(doc: dict[str, Any]) -> list[str]:
    lines = [_("Generated at %(at)s") % {"at": doc["generated_at"]}]
    if doc.get("as_at"):
        snap = doc["as_at"]
        lines.append(
            _("As at snapshot #%(id)s taken %(at)s by %(by)s; SHA-256 %(digest)s")
            % {
                "id": snap["snapshot_id"],
                "at": snap["taken_at"],
                "by": snap.get("taken_by") or _("unknown"),
                "digest": snap["digest"],
            }
        )
    return lines


def ropa_xlsx(doc: dict[str, Any], stream: io.BufferedIOBase | io.BytesIO) -> None:
    """Write the XLSX (write-only mode: rows stream to the file as they are made)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(
        (
            pgettext("spreadsheet tab", "Controller")
            if doc["record"] == "controller"
            else pgettext("spreadsheet tab", "Processor")
        )[:31]
    )
    widths = {"reference": 10, "name": 28, "gaps": 40, "retained_per_policy": 30}
    for index, column in enumerate(doc["columns"], start=1):
        ws.column_dimensions[get_column_letter(index)].width = widths.get(column["key"], 26)
    # Title, about lines, blank, organisation block, blank, summary, article row, labels.
    first_data_row = 1 + len(_about_lines(doc)) + 1 + len(doc["header"]) + 4 + 1
    ws.freeze_panes = f"C{first_data_row}"
    ws.append([_cell(ws, doc["title"], bold=True, size=14)])
    for line in _about_lines(doc):
        ws.append([_cell(ws, line, color="5B6475")])
    ws.append([])
    org_gaps = set(doc["summary"]["organisation_gaps"])
    for field in doc["header"]:
        missing = field["key"] in org_gaps
        ws.append(
            [
                _cell(ws, field["label"], bold=True),
                _cell(
                    ws,
                    field["value"] or (str(MISSING) if missing else ""),
                    fill=_RED if missing else None,
                ),
                _cell(ws, field["required_by"], color="5B6475"),
            ]
        )
    ws.append([])
    s = doc["summary"]
    ws.append(
        [
            _cell(ws, _("Summary"), bold=True),
            _cell(
                ws,
                _(
                    "%(activities)s activities; %(complete)s complete; %(with_gaps)s with "
                    "%(gaps)s required value(s) missing; %(blank)s recommended value(s) not "
                    "filled; %(overdue)s past their review date"
                )
                % {
                    "activities": s["activities"],
                    "complete": s["complete"],
                    "with_gaps": s["with_gaps"],
                    "gaps": s["gaps_total"],
                    "blank": s["recommended_blank_total"],
                    "overdue": len(s["review_overdue"]),
                },
            ),
        ]
    )
    ws.append([_cell(ws, c["required_by"], color="5B6475") for c in doc["columns"]])
    ws.append(
        [_cell(ws, c["label"], bold=True, fill=_HEAD, color="FFFFFF") for c in doc["columns"]]
    )
    styled = _StyledCells(ws)
    for activity in doc["activities"]:
        ws.append([styled(text, state) for text, state in ropa_cells(doc, activity)])

    gaps = wb.create_sheet(_("Gaps")[:31])
    for letter, width in zip("ABCDE", (10, 30, 40, 24, 50), strict=True):
        gaps.column_dimensions[letter].width = width
    gaps.append([_cell(gaps, _("Gaps per activity"), bold=True, size=13)])
    gaps.append(
        [
            _cell(gaps, h, bold=True)
            for h in (
                _("Reference"),
                _("Processing activity"),
                _("Missing"),
                _("Required by"),
                _("When"),
            )
        ]
    )
    for activity in doc["activities"]:
        for gap in activity["gaps"]:
            xlsx_append(
                gaps,
                [
                    activity["reference"],
                    activity["name"],
                    gap["label"],
                    gap["required_by"],
                    gap["when"],
                ],
            )
    gaps.append([])
    gaps.append([_cell(gaps, _("Overall"), bold=True)])
    xlsx_append(gaps, [_("Activities"), s["activities"]])
    xlsx_append(gaps, [_("Complete"), s["complete"]])
    xlsx_append(gaps, [_("With gaps"), s["with_gaps"]])
    xlsx_append(gaps, [_("Required values missing"), s["gaps_total"]])
    for key, count in s["gaps_by_requirement"].items():
        xlsx_append(gaps, [f"  {key}", count])
    xlsx_append(gaps, [_("Recommended values not filled"), s["recommended_blank_total"]])
    gaps.append([])
    gaps.append([_cell(gaps, _("Past their review date"), bold=True)])
    for item in s["review_overdue"]:
        xlsx_append(gaps, [item["id"], item["name"], item["next_review_on"]])
    wb.save(stream)


# --- CSV and JSON -----------------------------------------------------------------------------


def ropa_csv_rows(doc: dict[str, Any]) -> Iterator[list[str]]:
    yield [c["label"] for c in doc["columns"]]
    for activity in doc["activities"]:
        yield [text for text, _state in ropa_cells(doc, activity)]


def write_csv(rows: Iterable[Sequence[Any]], stream: io.TextIOBase) -> None:
    """CSV (CRLF line ends) through the one spreadsheet writer."""
    csv_write(rows, stream)


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


def render_ropa(doc: dict[str, Any], fmt: str) -> bytes:
    """The whole report in one format, as bytes."""
    if fmt == "xlsx":
        out = io.BytesIO()
        ropa_xlsx(doc, out)
        return out.getvalue()
    if fmt == "csv":
        text = io.StringIO()
        write_csv(ropa_csv_rows(doc), text)
        # A byte-order mark so spreadsheet programs read the UTF-8 as such.
        return ("\ufeff" + text.getvalue()).encode()
    if fmt == "json":
        return to_json(doc).encode()
    if fmt == "html":
        return render_to_string(
            "reports/ropa_print.html", {"doc": doc, "rows": ropa_table(doc)}
        ).encode()
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")  # for code, not people


# --- generic tables (registers) ------------------------------------------------------------------


def table_xlsx(
    title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stream, about: str = ""
) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    for index in range(len(headers)):
        ws.column_dimensions[get_column_letter(index + 1)].width = 22
    ws.freeze_panes = "A5" if about else "A4"
    ws.append([_cell(ws, title, bold=True, size=13)])
    if about:
        ws.append([_cell(ws, about, color="5B6475")])
    ws.append([])
    ws.append([_cell(ws, h, bold=True, fill=_HEAD, color="FFFFFF") for h in headers])
    for row in rows:
        xlsx_append(ws, row)
    wb.save(stream)


def tables_xlsx(
    sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]], stream, about: str = ""
) -> None:
    """Several plain tables, one sheet each (first row of each is its header)."""
    wb = Workbook(write_only=True)
    for title, rows in sheets:
        ws = wb.create_sheet(title[:31])
        for index in range(max((len(r) for r in rows), default=0)):
            ws.column_dimensions[get_column_letter(index + 1)].width = 24
        if about:
            ws.append([_cell(ws, about, color="5B6475")])
        for i, row in enumerate(rows):
            if i == 0:
                ws.append([_cell(ws, h, bold=True, fill=_HEAD, color="FFFFFF") for h in row])
            else:
                xlsx_append(ws, row)
    wb.save(stream)
