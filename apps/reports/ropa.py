"""The record of processing activities (GDPR Art. 30) as one JSON-able document.

``ropa_build()`` reads the inventory in a fixed number of queries (whatever the number of
activities) and returns the document every format is rendered from: the admin page, the
XLSX laid out like the UK ICO controller template, CSV, JSON, the printable page, and the
frozen snapshots. Its shape is versioned (``SCHEMA_VERSION``, docs/reports.md).

Completeness comes from the inventory's own rules (apps.inventory.completeness, one SQL
condition per requirement): a required value that is missing is a *gap*. Other template
columns that are empty where they apply are listed as *recommended* blanks, so every
column of every activity is filled, not applicable, or flagged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django_countries import countries

from apps.inventory.completeness import REQUIREMENTS
from apps.inventory.gdpr import (
    EEA_COUNTRIES,
    SCHEDULE1_FOR_ART9,
    Art9Condition,
    CategoryKind,
    DpiaRequired,
    LawfulBasis,
    OrganisationRole,
    RecipientKind,
    TransferMechanism,
)
from apps.inventory.models import (
    DataAsset,
    DataCategory,
    DataSubjectCategory,
    Organisation,
    ProcessingActivity,
    Recipient,
    System,
    Transfer,
)

from .retention import RetentionFacts, retention_facts_for_assets

SCHEMA = "jitportal.ropa"
SCHEMA_VERSION = 2
CONTROLLER = "controller"
PROCESSOR = "processor"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    required_by: str
    notes: str = ""


# The UK ICO controller template, in its order (shared/gdpr/ropa_columns.csv).
CONTROLLER_COLUMNS: tuple[Column, ...] = (
    Column("business_function", "Business function", "ICO template"),
    Column("purposes", "Purpose of processing", "Art. 30(1)(b)"),
    Column("joint_controller", "Name and contact details of joint controller", "Art. 30(1)(a)"),
    Column("data_subjects", "Categories of individuals", "Art. 30(1)(c)"),
    Column("data_categories", "Categories of personal data", "Art. 30(1)(c)"),
    Column("recipients", "Categories of recipients", "Art. 30(1)(d)"),
    Column("processor_contract", "Link to contract with processor", "ICO template"),
    Column(
        "third_countries",
        "Names of third countries or international organisations data is transferred to",
        "Art. 30(1)(e)",
    ),
    Column("safeguards", "Safeguards for exceptional transfers", "Art. 30(1)(e)"),
    Column("retention", "Retention schedule", "Art. 30(1)(f)"),
    Column(
        "retention_policy_link",
        "Link to retention and erasure policy document",
        "ICO template",
    ),
    Column(
        "security_measures",
        "General description of technical and organisational security measures",
        "Art. 30(1)(g)",
    ),
    Column("lawful_basis", "Article 6 lawful basis", "ICO template"),
    Column("art9_condition", "Article 9 condition for processing", "ICO template"),
    Column("legitimate_interests", "Legitimate interests for the processing", "ICO template"),
    Column("lia_link", "Link to legitimate interests assessment", "ICO template"),
    Column("rights_available", "Rights available to individuals", "ICO template"),
    Column(
        "automated_decision_making",
        "Existence of automated decision-making including profiling",
        "ICO template",
    ),
    Column("source_of_data", "Source of personal data", "ICO template"),
    Column("consent_record_link", "Link to record of consent", "ICO template"),
    Column("location", "Location of personal data", "ICO template"),
    Column("dpia_required", "DPIA required?", "ICO template"),
    Column("dpia_status", "DPIA progress", "ICO template"),
    Column("dpia_link", "Link to DPIA", "ICO template"),
    Column("breach_occurred", "Has a personal data breach occurred?", "ICO template"),
    Column("breach_record_link", "Link to record of breach", "ICO template"),
)

# UK organisations (JITPORTAL_ROPA_UK): the Data Protection Act 2018 s. 10 condition, after
# the Art. 9 column.
UK_COLUMNS: tuple[Column, ...] = (
    Column(
        "dpa2018_schedule1_condition",
        "DPA 2018 Schedule 1 condition for special category or criminal offence data",
        "DPA 2018 s. 10 (UK)",
    ),
)

# Art. 30(2): what a processor keeps for the processing it does for controllers.
PROCESSOR_COLUMNS: tuple[Column, ...] = (
    Column(
        "controller_on_behalf",
        "Name and contact details of each controller on whose behalf we act",
        "Art. 30(2)(a)",
    ),
    Column(
        "purposes",
        "Categories of processing carried out on behalf of each controller",
        "Art. 30(2)(b)",
    ),
    Column("data_subjects", "Categories of individuals", "ICO template"),
    Column("data_categories", "Categories of personal data", "ICO template"),
    Column("recipients", "Sub-processors and other recipients", "Art. 28(2)"),
    Column("processor_contract", "Link to contract with the controller", "Art. 28(3)"),
    Column(
        "third_countries",
        "Names of third countries or international organisations data is transferred to",
        "Art. 30(2)(c)",
    ),
    Column("safeguards", "Safeguards for exceptional transfers", "Art. 30(2)(c)"),
    Column(
        "security_measures",
        "General description of technical and organisational security measures",
        "Art. 30(2)(d)",
    ),
    Column("location", "Location of personal data", "ICO template"),
    Column("breach_occurred", "Has a personal data breach occurred?", "ICO template"),
    Column("breach_record_link", "Link to record of breach", "ICO template"),
)

# Columns around the template's: who the row is, and the report's own findings.
LEAD_COLUMNS: tuple[Column, ...] = (
    Column("reference", "Reference", "register"),
    Column("name", "Processing activity", "register"),
)
TRAIL_COLUMNS: tuple[Column, ...] = (
    Column("retained_per_policy", "Retained per policy?", "Art. 5(1)(e)"),
    Column("last_reviewed_on", "Last reviewed", "Art. 5(2)"),
    Column("next_review_on", "Next review due", "Art. 5(2)"),
    Column("gaps", "Gaps (required, missing)", "Art. 30"),
)

# The organisation block above the table (shared/gdpr/ropa_header.csv).
HEADER_FIELDS: tuple[Column, ...] = (
    Column("controller_name", "Controller name", "Art. 30(1)(a)"),
    Column("controller_address", "Controller address", "Art. 30(1)(a)"),
    Column("controller_email", "Controller email", "Art. 30(1)(a)"),
    Column("controller_telephone", "Controller telephone", "Art. 30(1)(a)"),
    Column("dpo_name", "Data protection officer name", "Art. 30(1)(a)"),
    Column("dpo_address", "Data protection officer address", "Art. 30(1)(a)"),
    Column("dpo_email", "Data protection officer email", "Art. 30(1)(a)"),
    Column("dpo_telephone", "Data protection officer telephone", "Art. 30(1)(a)"),
    Column("representative_name", "Representative name", "Art. 30(1)(a), Art. 27"),
    Column("representative_address", "Representative address", "Art. 30(1)(a), Art. 27"),
    Column("representative_email", "Representative email", "Art. 30(1)(a), Art. 27"),
    Column("representative_telephone", "Representative telephone", "Art. 30(1)(a), Art. 27"),
)

# Which report column a requirement of apps.inventory.completeness is about.
REQUIREMENT_COLUMN = {
    "joint_controller": "joint_controller",
    "controller_on_behalf": "controller_on_behalf",
    "purposes": "purposes",
    "lawful_basis": "lawful_basis",
    "legitimate_interests": "legitimate_interests",
    "consent_record_link": "consent_record_link",
    "art9_condition": "art9_condition",
    "art10_authority": "art9_condition",
    "dpa2018_schedule1": "dpa2018_schedule1_condition",
    "data_subjects": "data_subjects",
    "data_categories": "data_categories",
    "recipients": "recipients",
    "processor_contract": "processor_contract",
    "transfers": "third_countries",
    "retention": "retention",
    "security_measures": "security_measures",
    "dpia_required": "dpia_required",
    "dpia_status": "dpia_status",
    "breach_record_link": "breach_record_link",
    "next_review_on": "next_review_on",
}
# Organisation-wide: reported once in the header, not on every row.
ORGANISATION_REQUIREMENTS = {"controller_contact"}


def uk_columns_enabled() -> bool:
    """``JITPORTAL_ROPA_UK``: the record carries the UK's DPA 2018 columns."""
    return bool(settings.JITPORTAL.get("ROPA_UK", False))


def record_columns(record: str) -> tuple[Column, ...]:
    """The template's columns of ``record``; with ``JITPORTAL_ROPA_UK``, a controller record
    also has the DPA 2018 Schedule 1 column right after the Art. 9 condition."""
    if record != CONTROLLER:
        return PROCESSOR_COLUMNS
    if not uk_columns_enabled():
        return CONTROLLER_COLUMNS
    at = next(i for i, c in enumerate(CONTROLLER_COLUMNS) if c.key == "art9_condition") + 1
    return CONTROLLER_COLUMNS[:at] + UK_COLUMNS + CONTROLLER_COLUMNS[at:]


def report_columns(record: str) -> tuple[Column, ...]:
    """Every column of a report, in order: lead, the template's, trailing."""
    return LEAD_COLUMNS + record_columns(record) + TRAIL_COLUMNS


# --- reading the inventory ------------------------------------------------------------------


@dataclass(slots=True)
class _Category:
    name: str
    kind: str


@dataclass(slots=True)
class _Subject:
    name: str
    is_vulnerable: bool


@dataclass(slots=True)
class _Recipient:
    name: str
    kind: str
    kind_label: str
    country: str
    country_name: str
    is_international_organisation: bool
    contract_link: str


@dataclass(slots=True)
class _System:
    name: str
    hosting_location: str
    country: str
    country_name: str


@dataclass(slots=True)
class _Asset:
    pk: int
    name: str
    system_id: int
    system: _System
    is_special: bool
    categories: list[int]
    subjects: list[int]

    def __str__(self) -> str:
        return f"{self.system.name} / {self.name}"


@dataclass(slots=True)
class _Transfer:
    country: str
    country_name: str
    international_organisation: str
    recipient: str | None
    mechanism: str
    mechanism_label: str
    safeguard_link: str
    description: str

    @property
    def outside_eea(self) -> bool:
        return bool(self.international_organisation) or (
            bool(self.country) and self.country not in EEA_COUNTRIES
        )

    @property
    def where(self) -> str:
        return self.international_organisation or self.country_name


@dataclass
class _Inventory:
    """What the rows refer to, each read once as plain values, keyed by id."""

    categories: dict[int, _Category]
    subjects: dict[int, _Subject]
    recipients: dict[int, _Recipient]
    assets: dict[int, _Asset]
    activity_assets: dict[int, list[int]]
    activity_categories: dict[int, list[int]]
    activity_subjects: dict[int, list[int]]
    activity_recipients: dict[int, list[int]]
    transfers: dict[int, list[_Transfer]]
    # activity id -> keys of the inventory's requirements it misses
    missing: dict[int, set[str]] = field(default_factory=dict)


def _links(through, left: str, right: str, activities) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for a, b in through.objects.filter(**{f"{left}__in": activities}).values_list(
        f"{left}_id", f"{right}_id"
    ):
        out.setdefault(a, []).append(b)
    return out


def _read_inventory(qs) -> _Inventory:
    """Everything the rows of ``qs`` show, in a fixed number of queries.

    Plain values rather than model instances: an asset shared by many activities is read
    once, and nothing pays for datetime columns or descriptors the report never shows.
    """
    names = {c.code: c.name for c in countries}
    kind_labels = {value: str(label) for value, label in RecipientKind.choices}
    mechanisms = {value: str(label) for value, label in TransferMechanism.choices}
    pa = ProcessingActivity
    activity_assets = _links(pa.assets.through, "processingactivity", "dataasset", qs)
    activity_categories = _links(
        pa.data_categories.through, "processingactivity", "datacategory", qs
    )
    activity_subjects = _links(
        pa.data_subjects.through, "processingactivity", "datasubjectcategory", qs
    )
    activity_recipients = _links(pa.recipients.through, "processingactivity", "recipient", qs)
    # The record of processing says what is processed now: archived assets are left out.
    asset_ids = pa.assets.through.objects.filter(
        processingactivity__in=qs, dataasset__archived_at__isnull=True
    ).values("dataasset_id")
    asset_categories = _links(DataAsset.categories.through, "dataasset", "datacategory", asset_ids)
    asset_subjects = _links(
        DataAsset.subjects.through, "dataasset", "datasubjectcategory", asset_ids
    )
    systems = {
        pk: _System(name, location, code, names.get(code, code))
        for pk, name, location, code in System.objects.filter(assets__in=asset_ids)
        .distinct()
        .values_list("pk", "name", "hosting_location", "hosting_country")
    }
    assets = {
        pk: _Asset(
            pk,
            name,
            system_id,
            systems[system_id],
            special,
            asset_categories.get(pk, []),
            asset_subjects.get(pk, []),
        )
        for pk, name, system_id, special in DataAsset.objects.filter(pk__in=asset_ids).values_list(
            "pk", "name", "system_id", "is_special"
        )
    }
    recipients = {
        pk: _Recipient(
            name, kind, kind_labels.get(kind, kind), code, names.get(code, code), io, link
        )
        for pk, name, kind, code, io, link in Recipient.objects.filter(activities__in=qs)
        .distinct()
        .values_list(
            "pk", "name", "kind", "country", "is_international_organisation", "contract_link"
        )
    }
    transfers: dict[int, list[_Transfer]] = {}
    for activity_id, code, org, recipient, mechanism, link, description in (
        Transfer.objects.filter(activity__in=qs)
        .order_by("activity_id", "country", "pk")
        .values_list(
            "activity_id",
            "country",
            "international_organisation",
            "recipient__name",
            "mechanism",
            "safeguard_link",
            "description",
        )
    ):
        transfers.setdefault(activity_id, []).append(
            _Transfer(
                code,
                names.get(code, code),
                org,
                recipient,
                mechanism,
                mechanisms.get(mechanism, mechanism),
                link,
                description,
            )
        )
    return _Inventory(
        categories={
            pk: _Category(name, kind)
            for pk, name, kind in DataCategory.objects.values_list("pk", "name", "kind")
        },
        subjects={
            pk: _Subject(name, vulnerable)
            for pk, name, vulnerable in DataSubjectCategory.objects.values_list(
                "pk", "name", "is_vulnerable"
            )
        },
        recipients=recipients,
        assets=assets,
        activity_assets=activity_assets,
        activity_categories=activity_categories,
        activity_subjects=activity_subjects,
        activity_recipients=activity_recipients,
        transfers=transfers,
    )


def _activities(
    record: str, activity_ids: Iterable[int] | None
) -> tuple[list[ProcessingActivity], _Inventory]:
    """The activities of the record, what their rows refer to, and what each misses."""
    qs = record_activities(record)
    if activity_ids is not None:
        qs = qs.filter(pk__in=list(activity_ids))
    activities = list(qs.select_related("owner").order_by("reference", "name"))
    inventory = _read_inventory(qs.values("pk"))
    inventory.missing = missing_requirements_by_activity(qs)
    return activities, inventory


def record_activities(record: str) -> QuerySet[ProcessingActivity]:
    """The activities a record of processing lists: the active ones in which the organisation
    acts as controller or joint controller (Art. 30(1)), or as processor (Art. 30(2)).

    The one definition of which activities count, for the record and every count of its
    completeness (the dashboard included).
    """
    qs = ProcessingActivity.objects.filter(is_active=True)
    return qs.as_processor() if record == PROCESSOR else qs.as_controller()


def record_completeness(record: str) -> tuple[int, int]:
    """``(complete, total)`` activities of ``record``: complete means no required value is
    missing (the same requirements the record flags as gaps)."""
    qs = record_activities(record)
    total = qs.count()
    return total - len(missing_requirements_by_activity(qs)), total


def missing_requirements_by_activity(qs) -> dict[int, set[str]]:
    """Activity id -> keys of the inventory's requirements it misses.

    One query per requirement, each the inventory's own condition in a WHERE clause:
    PostgreSQL runs those EXISTS as semi-joins over the whole table, where the same
    conditions as per-row SELECT annotations (one subplan per row and requirement) take
    seconds for a few thousand activities.
    """
    missing: dict[int, set[str]] = {}
    for requirement in REQUIREMENTS:
        if requirement.key in ORGANISATION_REQUIREMENTS:
            continue
        for pk in qs.filter(requirement.condition()).values_list("pk", flat=True):
            missing.setdefault(pk, set()).add(requirement.key)
    return missing


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _join(parts: Iterable[str]) -> str:
    return "; ".join(p for p in parts if p)


def _kind_tag(kind: str) -> str:
    if kind == CategoryKind.SPECIAL:
        return " [Art. 9]"
    if kind == CategoryKind.CRIMINAL:
        return " [Art. 10]"
    return ""


def _organisation_block(org: Organisation | None) -> tuple[dict[str, str], list[str]]:
    if org is None:
        values = {f.key: "" for f in HEADER_FIELDS}
    else:
        values = {
            "controller_name": org.legal_name,
            "controller_address": org.address,
            "controller_email": org.email,
            "controller_telephone": org.telephone,
            "dpo_name": org.dpo_name,
            "dpo_address": org.dpo_address,
            "dpo_email": org.dpo_email,
            "dpo_telephone": org.dpo_telephone,
            "representative_name": org.representative_name,
            "representative_address": org.representative_address,
            "representative_email": org.representative_email,
            "representative_telephone": org.representative_telephone,
        }
    gaps = []
    if not values["controller_name"]:
        gaps.append("controller_name")
    # Art. 30(1)(a) asks for "contact details": one way to reach the controller, and the DPO.
    contact = ("address", "email", "telephone")
    if not any(values[f"controller_{c}"] for c in contact):
        gaps.extend(f"controller_{c}" for c in contact)
    if not values["dpo_name"]:
        gaps.append("dpo_name")
    if not any(values[f"dpo_{c}"] for c in contact):
        gaps.extend(f"dpo_{c}" for c in contact)
    return values, gaps


# --- one row --------------------------------------------------------------------------------


def _row(
    activity: ProcessingActivity,
    *,
    record: str,
    today: date,
    inv: _Inventory,
    retention: RetentionFacts,
) -> dict[str, Any]:
    pk = activity.pk
    assets = [inv.assets[a] for a in inv.activity_assets.get(pk, []) if a in inv.assets]
    # Categories and subjects: declared on the activity, or held by one of its assets.
    category_ids = set(inv.activity_categories.get(pk, []))
    subject_ids = set(inv.activity_subjects.get(pk, []))
    for asset in assets:
        category_ids.update(asset.categories)
        subject_ids.update(asset.subjects)
    categories_sorted = sorted((inv.categories[c] for c in category_ids), key=lambda c: c.name)
    subjects_sorted = sorted((inv.subjects[s] for s in subject_ids), key=lambda s: s.name)
    recipients = sorted(
        (inv.recipients[r] for r in inv.activity_recipients.get(pk, [])), key=lambda r: r.name
    )
    transfers = inv.transfers.get(pk, [])
    systems = {a.system_id: a.system for a in assets}
    kinds = {c.kind for c in categories_sorted}
    special = CategoryKind.SPECIAL in kinds
    criminal = CategoryKind.CRIMINAL in kinds
    processors = [r for r in recipients if r.kind == RecipientKind.PROCESSOR]
    basis = activity.lawful_basis

    values: dict[str, str] = {}
    na: set[str] = set()

    values["business_function"] = activity.business_function
    values["purposes"] = activity.purposes
    values["controller_on_behalf"] = activity.controller_on_behalf
    if activity.role == OrganisationRole.JOINT_CONTROLLER:
        values["joint_controller"] = activity.joint_controller
    else:
        values["joint_controller"] = ""
        na.add("joint_controller")
    values["data_subjects"] = _join(
        s.name + (" (vulnerable)" if s.is_vulnerable else "") for s in subjects_sorted
    )
    values["data_categories"] = _join(c.name + _kind_tag(c.kind) for c in categories_sorted)
    if recipients:
        values["recipients"] = _join(
            f"{r.name} ({r.kind_label}"
            + (f", {r.country_name}" if r.country else "")
            + (", international organisation" if r.is_international_organisation else "")
            + ")"
            for r in recipients
        )
    else:
        values["recipients"] = (
            "None: not disclosed outside the organisation" if activity.no_recipients else ""
        )
    contract_parts = []
    if activity.processor_contract_link:
        contract_parts.append(activity.processor_contract_link)
    contract_parts += [f"{r.name}: {r.contract_link}" for r in processors if r.contract_link]
    values["processor_contract"] = _join(contract_parts)
    if not contract_parts and not processors and record == CONTROLLER:
        na.add("processor_contract")
    if transfers:
        values["third_countries"] = _join(t.where for t in transfers)
        values["safeguards"] = _join(
            f"{t.where}: "
            + _join(
                [
                    t.mechanism_label if t.mechanism else "no mechanism recorded",
                    t.safeguard_link,
                    t.description,
                ]
            )
            for t in transfers
        )
    else:
        values["third_countries"] = "None"
        values["safeguards"] = ""
        na.add("safeguards")
    values["retention"] = "\n".join(
        p
        for p in (activity.retention_description, retention.schedule_for(a.pk for a in assets))
        if p
    )
    values["retention_policy_link"] = activity.retention_policy_link
    values["security_measures"] = activity.security_measures
    values["lawful_basis"] = activity.get_lawful_basis_display() if basis else ""
    art9 = []
    if activity.art9_condition:
        art9.append(activity.get_art9_condition_display())
    if activity.art10_authority:
        art9.append(f"Art. 10: {activity.art10_authority}")
    values["art9_condition"] = _join(art9)
    if not (special or criminal or art9):
        na.add("art9_condition")
    values["dpa2018_schedule1_condition"] = (
        activity.get_dpa2018_schedule1_condition_display()
        if activity.dpa2018_schedule1_condition
        else ""
    )
    if not (criminal or activity.dpa2018_schedule1_condition) and (
        not special or activity.art9_condition not in SCHEDULE1_FOR_ART9
    ):
        na.add("dpa2018_schedule1_condition")
    values["legitimate_interests"] = activity.legitimate_interests
    values["lia_link"] = activity.lia_link
    if basis != LawfulBasis.LEGITIMATE_INTERESTS:
        if not activity.legitimate_interests:
            na.add("legitimate_interests")
        if not activity.lia_link:
            na.add("lia_link")
    values["rights_available"] = activity.rights_available
    values["automated_decision_making"] = (
        "Yes"
        + (
            f": {activity.automated_decision_details}"
            if activity.automated_decision_details
            else ""
        )
        if activity.automated_decision_making
        else "No"
    )
    values["source_of_data"] = activity.source_of_data
    values["consent_record_link"] = activity.consent_record_link
    consent_based = basis == LawfulBasis.CONSENT or activity.art9_condition == Art9Condition.A
    if not consent_based and not activity.consent_record_link:
        na.add("consent_record_link")
    locations = [activity.data_location] if activity.data_location else []
    for system in sorted(systems.values(), key=lambda s: s.name):
        where = ", ".join(p for p in (system.hosting_location, system.country_name) if p)
        locations.append(f"{system.name} ({where})" if where else system.name)
    values["location"] = _join(locations)
    values["dpia_required"] = (
        activity.get_dpia_required_display()
        if activity.dpia_required != DpiaRequired.UNKNOWN
        else ""
    )
    values["dpia_status"] = activity.get_dpia_status_display() if activity.dpia_status else ""
    values["dpia_link"] = activity.dpia_link
    if activity.dpia_required != DpiaRequired.YES:
        if not activity.dpia_status:
            na.add("dpia_status")
        if not activity.dpia_link:
            na.add("dpia_link")
    values["breach_occurred"] = "Yes" if activity.breach_occurred else "No"
    values["breach_record_link"] = activity.breach_record_link
    if not activity.breach_occurred and not activity.breach_record_link:
        na.add("breach_record_link")

    # Gaps: the inventory's requirements this activity misses, placed on their column.
    columns = {c.key for c in record_columns(record)} | {"next_review_on"}
    gaps: list[dict[str, Any]] = []
    for requirement in REQUIREMENTS:
        if requirement.key in ORGANISATION_REQUIREMENTS:
            continue
        if requirement.key not in inv.missing.get(pk, ()):
            continue
        column = REQUIREMENT_COLUMN.get(requirement.key, "")
        gaps.append(
            {
                "requirement": requirement.key,
                "column": column if column in columns else None,
                "label": requirement.label,
                "required_by": requirement.source,
                "when": requirement.when,
            }
        )
    gap_columns = {g["column"] for g in gaps}
    recommended = [
        c.key
        for c in record_columns(record)
        if not values.get(c.key) and c.key not in na and c.key not in gap_columns
    ]
    retained = retention.retained_per_policy({a.pk: str(a) for a in assets})
    overdue = activity.next_review_on is not None and activity.next_review_on < today
    row_values = {c.key: values.get(c.key, "") for c in record_columns(record)}
    row_values["reference"] = activity.reference
    row_values["name"] = activity.name
    row_values["retained_per_policy"] = retained["label"]
    row_values["last_reviewed_on"] = _iso(activity.last_reviewed_on) or ""
    row_values["next_review_on"] = (_iso(activity.next_review_on) or "") + (
        " (overdue)" if overdue else ""
    )
    row_values["gaps"] = _join(g["label"] for g in gaps)
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
        "processes_special_category_data": special,
        "processes_criminal_offence_data": criminal,
        "detail": {
            "data_categories": [{"name": c.name, "kind": c.kind} for c in categories_sorted],
            "data_subjects": [
                {"name": s.name, "vulnerable": s.is_vulnerable} for s in subjects_sorted
            ],
            "recipients": [
                {
                    "name": r.name,
                    "kind": r.kind,
                    "country": r.country,
                    "international_organisation": r.is_international_organisation,
                    "contract_link": r.contract_link,
                }
                for r in recipients
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
                for t in transfers
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
                for a in sorted(assets, key=lambda a: (a.system.name, a.name))
            ],
        },
    }


# --- the document ---------------------------------------------------------------------------


def ropa_build(
    *,
    processor: bool = False,
    activity_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The controller record (Art. 30(1)) or, with ``processor``, the processor record
    (Art. 30(2)) of the active processing activities, as a JSON-able document."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    record = PROCESSOR if processor else CONTROLLER
    org_values, org_gaps = _organisation_block(Organisation.current())
    activities, inventory = _activities(record, activity_ids)
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
            "Record of processing activities: processor (Art. 30(2) GDPR)"
            if processor
            else "Record of processing activities: controller (Art. 30(1) GDPR)"
        ),
        "generated_at": now.isoformat(),
        "as_at": None,
        "organisation": org_values,
        "header": [
            {
                "key": f.key,
                "label": f.label,
                "required_by": f.required_by,
                "value": org_values[f.key],
            }
            for f in HEADER_FIELDS
        ],
        "columns": [
            {"key": c.key, "label": c.label, "required_by": c.required_by}
            for c in report_columns(record)
        ],
        "activities": rows,
        "summary": summary,
    }
