"""The record of processing activities (GDPR Art. 30) as one JSON-able document.

``ropa_build()`` reads the inventory in a fixed number of queries (whatever the number of
activities) and returns the document every format is rendered from: the admin page, the
XLSX laid out like the UK ICO controller template, CSV, JSON, the printable page, and the
frozen snapshots. Its shape is versioned (``SCHEMA_VERSION``, docs/reports.md).

Completeness comes from the inventory's own rules (apps.inventory.completeness, one SQL
condition per requirement): a required value that is missing is a *gap*. Other template
columns that are empty where they apply are listed as *recommended* blanks, so every
column of every activity is filled, not applicable, or flagged.

Where things are:

- ``columns``: the columns (the ICO template's, the processor record's, the organisation
  block) with the article that asks for each;
- ``letters``: where each column's value comes from, one function per letter of Art. 30(1)
  (a to g) and one per group of the ICO template's further columns;
- ``inventory``: which activities the record lists and reading what they refer to;
- ``document``: ``ropa_build()``, the rows with their gaps, and the summary.
"""

from .columns import (
    CONTROLLER,
    CONTROLLER_COLUMNS,
    HEADER_FIELDS,
    LEAD_COLUMNS,
    PROCESSOR,
    PROCESSOR_COLUMNS,
    TRAIL_COLUMNS,
    UK_COLUMNS,
    Column,
    record_columns,
    report_columns,
    uk_columns_enabled,
)
from .document import SCHEMA, SCHEMA_VERSION, ropa_build
from .inventory import missing_requirements_by_activity, record_activities, record_completeness

__all__ = [
    "CONTROLLER",
    "CONTROLLER_COLUMNS",
    "HEADER_FIELDS",
    "LEAD_COLUMNS",
    "PROCESSOR",
    "PROCESSOR_COLUMNS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "TRAIL_COLUMNS",
    "UK_COLUMNS",
    "Column",
    "missing_requirements_by_activity",
    "record_activities",
    "record_columns",
    "record_completeness",
    "report_columns",
    "ropa_build",
    "uk_columns_enabled",
]
