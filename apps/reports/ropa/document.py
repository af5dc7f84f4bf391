"""The record as one JSON-able document: its organisation block, one row per activity (the
cells of ``letters``, the gaps found by the inventory's rules, the detail behind them) and a
summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.inventory.completeness import REQUIREMENTS
from apps.inventory.gdpr import EEA_COUNTRIES
from apps.inventory.models import Organisation, ProcessingActivity

from ..retention import RetentionFacts, retention_facts_for_assets
from .columns import (
    CONTROLLER,
    HEADER_FIELDS,
    ORGANISATION_REQUIREMENTS,
    PROCESSOR,
    REQUIREMENT_COLUMN,
    record_columns,
    report_columns,
)
from .inventory import Inventory, record_inventory
from .letters import RowFacts, art30_1_a_organisation, join, row_cells

SCHEMA = "jitportal.ropa"
SCHEMA_VERSION = 2


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _gaps(row: RowFacts, missing: set[str]) -> list[dict[str, Any]]:
    """The inventory's requirements the activity misses, each placed on its column."""
    columns = {c.key for c in record_columns(row.record)} | {"next_review_on"}
    gaps: list[dict[str, Any]] = []
    for requirement in REQUIREMENTS:
        if requirement.key in ORGANISATION_REQUIREMENTS or requirement.key not in missing:
            continue
        column = REQUIREMENT_COLUMN.get(requirement.key, "")
        gaps.append(
            {
                "requirement": requirement.key,
                "column": column if column in columns else None,
                "label": str(requirement.label),
                "required_by": str(requirement.source),
                "when": str(requirement.when),
            }
        )
    return gaps


def _detail(row: RowFacts) -> dict[str, Any]:
    """What the row's cells were made from, as structured values."""
    return {
        "data_categories": [{"name": c.name, "kind": c.kind} for c in row.categories],
        "data_subjects": [{"name": s.name, "vulnerable": s.is_vulnerable} for s in row.subjects],
        "recipients": [
            {
                "name": r.name,
                "kind": r.kind,
                "country": r.country,
                "international_organisation": r.is_international_organisation,
                "contract_link": r.contract_link,
            }
            for r in row.recipients
        ],
        "transfers": [
            {
                "country": t.country,
                "international_organisation": t.international_organisation,
                "recipient": t.recipient,
                "mechanism": t.mechanism,
                "safeguard_link": t.safeguard_link,
                "outside_eea": t.outside_eea,
            }
            for t in row.transfers
        ],
        "assets": [
            {
                "id": a.pk,
                "name": a.name,
                "system": a.system.name,
                "special": a.is_special,
                "hosting_country": a.system.country,
                "hosted_outside_eea": bool(a.system.country)
                and a.system.country not in EEA_COUNTRIES,
            }
            for a in sorted(row.assets, key=lambda a: (a.system.name, a.name))
        ],
    }


def _row(
    activity: ProcessingActivity,
    *,
    record: str,
    today: date,
    inv: Inventory,
    retention: RetentionFacts,
) -> dict[str, Any]:
    row = RowFacts.read(activity, record=record, inv=inv, retention=retention)
    cells = row_cells(row)
    values, na = cells.values, cells.not_applicable
    gaps = _gaps(row, inv.missing.get(activity.pk, set()))
    gap_columns = {g["column"] for g in gaps}
    recommended = [
        c.key
        for c in record_columns(record)
        if not values.get(c.key) and c.key not in na and c.key not in gap_columns
    ]
    retained = retention.retained_per_policy({a.pk: str(a) for a in row.assets})
    overdue = activity.next_review_on is not None and activity.next_review_on < today
    row_values = {c.key: values.get(c.key, "") for c in record_columns(record)}
    row_values["reference"] = activity.reference
    row_values["name"] = activity.name
    row_values["retained_per_policy"] = retained["label"]
    row_values["last_reviewed_on"] = _iso(activity.last_reviewed_on) or ""
    row_values["next_review_on"] = (_iso(activity.next_review_on) or "") + (
        " " + _("(overdue)") if overdue else ""
    )
    row_values["gaps"] = join(g["label"] for g in gaps)
    return {
        "id": activity.pk,
        "reference": activity.reference,
        "name": activity.name,
        "role": activity.role,
        "owner": activity.owner.get_username() if activity.owner else None,
        "values": row_values,
        "not_applicable": sorted(na & set(row_values)),
        "gaps": gaps,
        "recommended_blank": recommended,
        "review": {
            "last_reviewed_on": _iso(activity.last_reviewed_on),
            "next_review_on": _iso(activity.next_review_on),
            "overdue": overdue,
        },
        "retention": retained,
        "processes_special_category_data": row.special,
        "processes_criminal_offence_data": row.criminal,
        "detail": _detail(row),
    }


def ropa_build(
    *,
    processor: bool = False,
    activity_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The controller record (Art. 30(1)) or, with ``processor``, the processor record
    (Art. 30(2)) of the active processing activities, as a JSON-able document.

    Labels, headers and the values that are words (yes, no, none, ...) are in the active
    language: a download is in its reader's language, a snapshot in the organisation's
    (``ropa_snapshot_take``).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    record = PROCESSOR if processor else CONTROLLER
    org_values, org_gaps = art30_1_a_organisation(Organisation.current())
    activities, inventory = record_inventory(record, activity_ids)
    retention = retention_facts_for_assets(inventory.assets.keys(), now=now)
    rows = [
        _row(a, record=record, today=today, inv=inventory, retention=retention) for a in activities
    ]

    gaps_by_column: Counter[str] = Counter()
    for row in rows:
        for gap in row["gaps"]:
            gaps_by_column[gap["requirement"]] += 1
    summary = {
        "activities": len(rows),
        "complete": sum(1 for r in rows if not r["gaps"]),
        "with_gaps": sum(1 for r in rows if r["gaps"]),
        "gaps_total": sum(len(r["gaps"]) for r in rows),
        "gaps_by_requirement": dict(sorted(gaps_by_column.items())),
        "recommended_blank_total": sum(len(r["recommended_blank"]) for r in rows),
        "organisation_gaps": org_gaps,
        "review_overdue": [
            {"id": r["id"], "name": r["name"], "next_review_on": r["review"]["next_review_on"]}
            for r in rows
            if r["review"]["overdue"]
        ],
        "no_review_date": [
            {"id": r["id"], "name": r["name"]} for r in rows if not r["review"]["next_review_on"]
        ],
        "retained_per_policy": dict(
            sorted(Counter(r["retention"]["status"] for r in rows).items())
        ),
        "special_category_activities": sum(1 for r in rows if r["processes_special_category_data"]),
    }
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "record": record,
        "title": (
            _("Record of processing activities: processor (Art. 30(2) GDPR)")
            if processor
            else _("Record of processing activities: controller (Art. 30(1) GDPR)")
        ),
        "generated_at": now.isoformat(),
        "as_at": None,
        "organisation": org_values,
        "header": [
            {
                "key": f.key,
                "label": str(f.label),
                "required_by": str(f.required_by),
                "value": org_values[f.key],
            }
            for f in HEADER_FIELDS
        ],
        "columns": [
            {"key": c.key, "label": str(c.label), "required_by": str(c.required_by)}
            for c in report_columns(record)
        ],
        "activities": rows,
        "summary": summary,
    }
