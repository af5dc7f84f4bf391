"""The record's columns: the UK ICO controller template's, the processor record's (Art. 30(2)),
the organisation block above the table, and which column each inventory requirement is about."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

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
