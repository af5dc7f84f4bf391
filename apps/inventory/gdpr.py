"""GDPR reference values used as model choices; each names the article it comes from
(docs/inventory.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CategoryKind(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary personal data")
    SPECIAL = "special", _("Special category (Art. 9)")
    CRIMINAL = "criminal", _("Criminal convictions and offences (Art. 10)")


class LawfulBasis(models.TextChoices):
    CONSENT = "6(1)(a)", _("6(1)(a) Consent")
    CONTRACT = "6(1)(b)", _("6(1)(b) Contract")
    LEGAL_OBLIGATION = "6(1)(c)", _("6(1)(c) Legal obligation")
    VITAL_INTERESTS = "6(1)(d)", _("6(1)(d) Vital interests")
    PUBLIC_TASK = "6(1)(e)", _("6(1)(e) Public task")
    LEGITIMATE_INTERESTS = "6(1)(f)", _("6(1)(f) Legitimate interests")


class Art9Condition(models.TextChoices):
    A = "9(2)(a)", _("9(2)(a) Explicit consent")
    B = "9(2)(b)", _("9(2)(b) Employment and social security and social protection law")
    C = "9(2)(c)", _("9(2)(c) Vital interests where the data subject cannot consent")
    D = "9(2)(d)", _("9(2)(d) Not-for-profit body (members and former members)")
    E = "9(2)(e)", _("9(2)(e) Data manifestly made public by the data subject")
    F = "9(2)(f)", _("9(2)(f) Legal claims or courts acting in their judicial capacity")
    G = "9(2)(g)", _("9(2)(g) Substantial public interest on the basis of law")
    H = "9(2)(h)", _("9(2)(h) Preventive or occupational medicine, health or social care")
    I = "9(2)(i)", _("9(2)(i) Public interest in public health")  # noqa: E741
    J = "9(2)(j)", _("9(2)(j) Archiving, scientific or historical research or statistics")


class Dpa2018Schedule1Condition(models.TextChoices):
    """The conditions of the UK Data Protection Act 2018, Schedule 1, by paragraph.

    Under s. 10 DPA 2018, special-category data processed under Art. 9(2)(b), (h), (i) or (j)
    UK GDPR needs a Part 1 condition, under Art. 9(2)(g) a Part 2 condition, and
    criminal-offence data (Art. 10) a condition from Part 1, 2 or 3.
    """

    P1 = "S1-1", _("Sch. 1 para 1: employment, social security and social protection")
    P2 = "S1-2", _("Sch. 1 para 2: health or social care purposes")
    P3 = "S1-3", _("Sch. 1 para 3: public health")
    P4 = "S1-4", _("Sch. 1 para 4: research etc")
    P6 = "S1-6", _("Sch. 1 para 6: statutory etc and government purposes")
    P7 = "S1-7", _("Sch. 1 para 7: administration of justice and parliamentary purposes")
    P8 = "S1-8", _("Sch. 1 para 8: equality of opportunity or treatment")
    P9 = "S1-9", _("Sch. 1 para 9: racial and ethnic diversity at senior levels")
    P10 = "S1-10", _("Sch. 1 para 10: preventing or detecting unlawful acts")
    P11 = "S1-11", _("Sch. 1 para 11: protecting the public")
    P12 = "S1-12", _("Sch. 1 para 12: regulatory requirements")
    P13 = "S1-13", _("Sch. 1 para 13: journalism, academia, art and literature")
    P14 = "S1-14", _("Sch. 1 para 14: preventing fraud")
    P15 = "S1-15", _("Sch. 1 para 15: suspicion of terrorist financing or money laundering")
    P16 = (
        "S1-16",
        _("Sch. 1 para 16: support for individuals with a disability or medical condition"),
    )
    P17 = "S1-17", _("Sch. 1 para 17: counselling")
    P18 = "S1-18", _("Sch. 1 para 18: safeguarding of children and individuals at risk")
    P19 = "S1-19", _("Sch. 1 para 19: safeguarding of economic well-being of certain individuals")
    P20 = "S1-20", _("Sch. 1 para 20: insurance")
    P21 = "S1-21", _("Sch. 1 para 21: occupational pensions")
    P22 = "S1-22", _("Sch. 1 para 22: political parties")
    P23 = "S1-23", _("Sch. 1 para 23: elected representatives responding to requests")
    P24 = "S1-24", _("Sch. 1 para 24: disclosure to elected representatives")
    P25 = "S1-25", _("Sch. 1 para 25: informing elected representatives about prisoners")
    P26 = "S1-26", _("Sch. 1 para 26: publication of legal judgments")
    P27 = "S1-27", _("Sch. 1 para 27: anti-doping in sport")
    P28 = "S1-28", _("Sch. 1 para 28: standards of behaviour in sport")
    P29 = "S1-29", _("Sch. 1 para 29: consent (criminal-offence data)")
    P30 = "S1-30", _("Sch. 1 para 30: protecting an individual's vital interests")
    P31 = "S1-31", _("Sch. 1 para 31: processing by not-for-profit bodies")
    P32 = "S1-32", _("Sch. 1 para 32: personal data in the public domain")
    P33 = "S1-33", _("Sch. 1 para 33: legal claims")
    P34 = "S1-34", _("Sch. 1 para 34: judicial acts")
    P35 = "S1-35", _("Sch. 1 para 35: administration of accounts used in indecency offences")
    P36 = "S1-36", _("Sch. 1 para 36: extension of the Part 2 conditions")
    P37 = "S1-37", _("Sch. 1 para 37: extension of the insurance conditions")


# s. 10 DPA 2018: which Schedule 1 paragraphs can stand beside an Art. 9(2) condition.
SCHEDULE1_PART2 = frozenset(
    c.value for c in Dpa2018Schedule1Condition if 6 <= int(c.value.removeprefix("S1-")) <= 28
)
SCHEDULE1_FOR_ART9: dict[str, frozenset[str]] = {
    Art9Condition.B: frozenset({Dpa2018Schedule1Condition.P1.value}),
    Art9Condition.G: SCHEDULE1_PART2,
    Art9Condition.H: frozenset({Dpa2018Schedule1Condition.P2.value}),
    Art9Condition.I: frozenset({Dpa2018Schedule1Condition.P3.value}),
    Art9Condition.J: frozenset({Dpa2018Schedule1Condition.P4.value}),
}


class Sensitivity(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")
    CONFIDENTIAL = "confidential", _("Confidential")
    RESTRICTED = "restricted", _("Restricted")


class OrganisationRole(models.TextChoices):
    CONTROLLER = "controller", _("Controller")
    JOINT_CONTROLLER = "joint_controller", _("Joint controller")
    PROCESSOR = "processor", _("Processor (Art. 30(2))")


class RecipientKind(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    PROCESSOR = "processor", _("Processor")
    THIRD_PARTY = "third_party", _("Third party (controller)")
    PUBLIC_AUTHORITY = "public_authority", _("Public authority")


class TransferMechanism(models.TextChoices):
    ADEQUACY = "adequacy", _("Adequacy decision (Art. 45)")
    SCCS = "sccs", _("Standard contractual clauses (Art. 46(2)(c))")
    BCRS = "bcrs", _("Binding corporate rules (Art. 47)")
    OTHER_46 = "art46_other", _("Other Art. 46 safeguard (code, certification, treaty)")
    DEROGATION = "art49", _("Art. 49 derogation")


class DpiaRequired(models.TextChoices):
    UNKNOWN = "", _("Not assessed")
    YES = "yes", _("Yes")
    NO = "no", _("No (screening done)")


class DpiaStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


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
