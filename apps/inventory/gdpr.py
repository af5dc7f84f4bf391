"""GDPR reference values used as model choices (DESIGN.md, GDPR reference; shared/gdpr/)."""

from django.db import models


class CategoryKind(models.TextChoices):
    ORDINARY = "ordinary", "Ordinary personal data"
    SPECIAL = "special", "Special category (Art. 9)"
    CRIMINAL = "criminal", "Criminal convictions and offences (Art. 10)"


class LawfulBasis(models.TextChoices):
    CONSENT = "6(1)(a)", "6(1)(a) Consent"
    CONTRACT = "6(1)(b)", "6(1)(b) Contract"
    LEGAL_OBLIGATION = "6(1)(c)", "6(1)(c) Legal obligation"
    VITAL_INTERESTS = "6(1)(d)", "6(1)(d) Vital interests"
    PUBLIC_TASK = "6(1)(e)", "6(1)(e) Public task"
    LEGITIMATE_INTERESTS = "6(1)(f)", "6(1)(f) Legitimate interests"


class Art9Condition(models.TextChoices):
    A = "9(2)(a)", "9(2)(a) Explicit consent"
    B = "9(2)(b)", "9(2)(b) Employment and social security and social protection law"
    C = "9(2)(c)", "9(2)(c) Vital interests where the data subject cannot consent"
    D = "9(2)(d)", "9(2)(d) Not-for-profit body (members and former members)"
    E = "9(2)(e)", "9(2)(e) Data manifestly made public by the data subject"
    F = "9(2)(f)", "9(2)(f) Legal claims or courts acting in their judicial capacity"
    G = "9(2)(g)", "9(2)(g) Substantial public interest on the basis of law"
    H = "9(2)(h)", "9(2)(h) Preventive or occupational medicine, health or social care"
    I = "9(2)(i)", "9(2)(i) Public interest in public health"  # noqa: E741
    J = "9(2)(j)", "9(2)(j) Archiving, scientific or historical research or statistics"


class Sensitivity(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class OrganisationRole(models.TextChoices):
    CONTROLLER = "controller", "Controller"
    JOINT_CONTROLLER = "joint_controller", "Joint controller"
    PROCESSOR = "processor", "Processor (Art. 30(2))"


class RecipientKind(models.TextChoices):
    INTERNAL = "internal", "Internal"
    PROCESSOR = "processor", "Processor"
    THIRD_PARTY = "third_party", "Third party (controller)"
    PUBLIC_AUTHORITY = "public_authority", "Public authority"


class TransferMechanism(models.TextChoices):
    ADEQUACY = "adequacy", "Adequacy decision (Art. 45)"
    SCCS = "sccs", "Standard contractual clauses (Art. 46(2)(c))"
    BCRS = "bcrs", "Binding corporate rules (Art. 47)"
    OTHER_46 = "art46_other", "Other Art. 46 safeguard (code, certification, treaty)"
    DEROGATION = "art49", "Art. 49 derogation"


class DpiaRequired(models.TextChoices):
    UNKNOWN = "", "Not assessed"
    YES = "yes", "Yes"
    NO = "no", "No (screening done)"


class DpiaStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


# EU member states plus Iceland, Liechtenstein and Norway.
EEA_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)
# Countries with a European Commission adequacy decision (Art. 45). The US one covers
# organisations certified under the EU-US Data Privacy Framework only.
ADEQUATE_COUNTRIES = frozenset(
    ["AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "GB", "UY", "US"]
)
