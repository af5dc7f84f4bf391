"""The record's columns: the UK ICO controller template's, the processor record's (Art. 30(2)),
the organisation block above the table, and which column each inventory requirement is about."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CONTROLLER = "controller"
PROCESSOR = "processor"


@dataclass(frozen=True)
class Column:
    """A column: ``label`` and ``required_by`` are translated when a document is built."""

    key: str
    label: str | Promise
    required_by: str | Promise
    notes: str = ""


# The UK ICO controller template, in its order (docs/reference/gdpr/ropa_columns.csv).
CONTROLLER_COLUMNS: tuple[Column, ...] = (
    Column("business_function", _("Business function"), _("ICO template")),
    Column("purposes", _("Purpose of processing"), _("Art. 30(1)(b)")),
    Column(
        "joint_controller", _("Name and contact details of joint controller"), _("Art. 30(1)(a)")
    ),
    Column("data_subjects", _("Categories of individuals"), _("Art. 30(1)(c)")),
    Column("data_categories", _("Categories of personal data"), _("Art. 30(1)(c)")),
    Column("recipients", _("Categories of recipients"), _("Art. 30(1)(d)")),
    Column("processor_contract", _("Link to contract with processor"), _("ICO template")),
    Column(
        "third_countries",
        _("Names of third countries or international organisations data is transferred to"),
        _("Art. 30(1)(e)"),
    ),
    Column("safeguards", _("Safeguards for exceptional transfers"), _("Art. 30(1)(e)")),
    Column("retention", _("Retention schedule"), _("Art. 30(1)(f)")),
    Column(
        "retention_policy_link",
        _("Link to retention and erasure policy document"),
        _("ICO template"),
    ),
    Column(
        "security_measures",
        _("General description of technical and organisational security measures"),
        _("Art. 30(1)(g)"),
    ),
    Column("lawful_basis", _("Article 6 lawful basis"), _("ICO template")),
    Column("art9_condition", _("Article 9 condition for processing"), _("ICO template")),
    Column("legitimate_interests", _("Legitimate interests for the processing"), _("ICO template")),
    Column("lia_link", _("Link to legitimate interests assessment"), _("ICO template")),
    Column("rights_available", _("Rights available to individuals"), _("ICO template")),
    Column(
        "automated_decision_making",
        _("Existence of automated decision-making including profiling"),
        _("ICO template"),
    ),
    Column("source_of_data", _("Source of personal data"), _("ICO template")),
    Column("consent_record_link", _("Link to record of consent"), _("ICO template")),
    Column("location", _("Location of personal data"), _("ICO template")),
    Column("dpia_required", _("DPIA required?"), _("ICO template")),
    Column("dpia_status", _("DPIA progress"), _("ICO template")),
    Column("dpia_link", _("Link to DPIA"), _("ICO template")),
    Column("breach_occurred", _("Has a personal data breach occurred?"), _("ICO template")),
    Column("breach_record_link", _("Link to record of breach"), _("ICO template")),
)

# UK organisations (JITPORTAL_ROPA_UK): the Data Protection Act 2018 s. 10 condition, after
# the Art. 9 column.
UK_COLUMNS: tuple[Column, ...] = (
    Column(
        "dpa2018_schedule1_condition",
        _("DPA 2018 Schedule 1 condition for special category or criminal offence data"),
        _("DPA 2018 s. 10 (UK)"),
    ),
)

# Art. 30(2): what a processor keeps for the processing it does for controllers.
PROCESSOR_COLUMNS: tuple[Column, ...] = (
    Column(
        "controller_on_behalf",
        _("Name and contact details of each controller on whose behalf we act"),
        _("Art. 30(2)(a)"),
    ),
    Column(
        "purposes",
        _("Categories of processing carried out on behalf of each controller"),
        _("Art. 30(2)(b)"),
    ),
    Column("data_subjects", _("Categories of individuals"), _("ICO template")),
    Column("data_categories", _("Categories of personal data"), _("ICO template")),
    Column("recipients", _("Sub-processors and other recipients"), _("Art. 28(2)")),
    Column("processor_contract", _("Link to contract with the controller"), _("Art. 28(3)")),
    Column(
        "third_countries",
        _("Names of third countries or international organisations data is transferred to"),
        _("Art. 30(2)(c)"),
    ),
    Column("safeguards", _("Safeguards for exceptional transfers"), _("Art. 30(2)(c)")),
    Column(
        "security_measures",
        _("General description of technical and organisational security measures"),
        _("Art. 30(2)(d)"),
    ),
    Column("location", _("Location of personal data"), _("ICO template")),
    Column("breach_occurred", _("Has a personal data breach occurred?"), _("ICO template")),
    Column("breach_record_link", _("Link to record of breach"), _("ICO template")),
)

# Columns around the template's: who the row is, and the report's own findings.
LEAD_COLUMNS: tuple[Column, ...] = (
    Column("reference", _("Reference"), _("register")),
    Column("name", _("Processing activity"), _("register")),
)
TRAIL_COLUMNS: tuple[Column, ...] = (
    Column("retained_per_policy", _("Retained per policy?"), _("Art. 5(1)(e)")),
    Column("last_reviewed_on", _("Last reviewed"), _("Art. 5(2)")),
    Column("next_review_on", _("Next review due"), _("Art. 5(2)")),
    Column("gaps", _("Gaps (required, missing)"), _("Art. 30")),
)

# The organisation block above the table (docs/reference/gdpr/ropa_header.csv).
HEADER_FIELDS: tuple[Column, ...] = (
    Column("controller_name", _("Controller name"), _("Art. 30(1)(a)")),
    Column("controller_address", _("Controller address"), _("Art. 30(1)(a)")),
    Column("controller_email", _("Controller email"), _("Art. 30(1)(a)")),
    Column("controller_telephone", _("Controller telephone"), _("Art. 30(1)(a)")),
    Column("dpo_name", _("Data protection officer name"), _("Art. 30(1)(a)")),
    Column("dpo_address", _("Data protection officer address"), _("Art. 30(1)(a)")),
    Column("dpo_email", _("Data protection officer email"), _("Art. 30(1)(a)")),
    Column("dpo_telephone", _("Data protection officer telephone"), _("Art. 30(1)(a)")),
    Column("representative_name", _("Representative name"), _("Art. 30(1)(a), Art. 27")),
    Column("representative_address", _("Representative address"), _("Art. 30(1)(a), Art. 27")),
    Column("representative_email", _("Representative email"), _("Art. 30(1)(a), Art. 27")),
    Column("representative_telephone", _("Representative telephone"), _("Art. 30(1)(a), Art. 27")),
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
