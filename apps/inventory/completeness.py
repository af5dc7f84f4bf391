"""What an Art. 30 record needs, and when: one SQL condition per requirement.

Each requirement is written once, as a condition that is true when the activity misses it.
The same conditions filter the changelist, count what is missing per row and list what is
missing for one activity, so the three can never disagree and no filter runs per-row Python.

Which columns are required, and when, follows Art. 30(1) (controller), Art. 30(2)
(processor) and the regulators' template columns of docs/reference/gdpr/ropa_columns.csv; see
docs/inventory.md for the table.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from django.conf import settings
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .gdpr import (
    EEA_COUNTRIES,
    SCHEDULE1_FOR_ART9,
    CategoryKind,
    DpiaRequired,
    LawfulBasis,
    OrganisationRole,
    RecipientKind,
)
from .models import DataAsset, Organisation, ProcessingActivity, Transfer

_PA_CATEGORIES = ProcessingActivity.data_categories.through
_PA_ASSETS = ProcessingActivity.assets.through
_PA_SUBJECTS = ProcessingActivity.data_subjects.through
_PA_RECIPIENTS = ProcessingActivity.recipients.through
_ASSET_CATEGORIES = DataAsset.categories.through
_ASSET_SUBJECTS = DataAsset.subjects.through


def _blank(field: str) -> Q:
    return Q(**{field: ""})


def has_category_kind(*kinds: str) -> Q:
    """The activity processes data of these kinds, listed on it or on one of its assets."""
    return Q(
        Exists(
            _PA_CATEGORIES.objects.filter(
                processingactivity_id=OuterRef("pk"), datacategory__kind__in=kinds
            )
        )
    ) | Q(
        Exists(
            _ASSET_CATEGORIES.objects.filter(
                dataasset__activities=OuterRef("pk"), datacategory__kind__in=kinds
            )
        )
    )


def has_special() -> Q:
    return has_category_kind(CategoryKind.SPECIAL)


def has_criminal() -> Q:
    return has_category_kind(CategoryKind.CRIMINAL)


def has_restricted() -> Q:
    return has_category_kind(CategoryKind.SPECIAL, CategoryKind.CRIMINAL)


def _has_categories() -> Q:
    return Q(Exists(_PA_CATEGORIES.objects.filter(processingactivity_id=OuterRef("pk")))) | Q(
        Exists(_ASSET_CATEGORIES.objects.filter(dataasset__activities=OuterRef("pk")))
    )


def _has_subjects(**extra: object) -> Q:
    own = {f"datasubjectcategory__{k}": v for k, v in extra.items()}
    return Q(Exists(_PA_SUBJECTS.objects.filter(processingactivity_id=OuterRef("pk"), **own))) | Q(
        Exists(_ASSET_SUBJECTS.objects.filter(dataasset__activities=OuterRef("pk"), **own))
    )


def _has_recipients() -> Q:
    return Q(Exists(_PA_RECIPIENTS.objects.filter(processingactivity_id=OuterRef("pk"))))


def _processor_without_contract() -> Q:
    return Q(
        Exists(
            _PA_RECIPIENTS.objects.filter(
                processingactivity_id=OuterRef("pk"),
                recipient__kind=RecipientKind.PROCESSOR,
                recipient__contract_link="",
            )
        )
    )


def _third_country_recipient_without_transfer() -> Q:
    covered = Transfer.objects.filter(activity_id=OuterRef("processingactivity_id")).filter(
        Q(recipient_id=OuterRef("recipient_id"))
        | (Q(recipient__isnull=True) & Q(country=OuterRef("recipient__country")))
    )
    outside = Q(recipient__is_international_organisation=True) | (
        ~Q(recipient__country="") & ~Q(recipient__country__in=sorted(EEA_COUNTRIES))
    )
    return Q(
        Exists(
            _PA_RECIPIENTS.objects.filter(processingactivity_id=OuterRef("pk"))
            .filter(outside)
            .exclude(Exists(covered))
        )
    )


def _controller_contact_missing() -> Q:
    complete = Organisation.objects.exclude(legal_name="").filter(
        ~Q(address="") | ~Q(email="") | ~Q(telephone="")
    )
    return ~Q(Exists(complete))


_AS_CONTROLLER = ~Q(role=OrganisationRole.PROCESSOR)


def _schedule1_missing() -> Q:
    """UK only (``JITPORTAL_ROPA_UK``): DPA 2018 s. 10 asks for a Schedule 1 condition."""
    if not settings.JITPORTAL.get("ROPA_UK", False):
        return Q(pk__in=[])
    needs = (has_special() & Q(art9_condition__in=sorted(SCHEDULE1_FOR_ART9))) | has_criminal()
    return _AS_CONTROLLER & _blank("dpa2018_schedule1_condition") & needs


@dataclass(frozen=True)
class Requirement:
    key: str
    label_text: str | Promise
    source: str
    when_text: str | Promise
    missing: Callable[[], Q]

    @property
    def label(self) -> str:
        """The column name, in the active language."""
        return str(self.label_text)

    @property
    def when(self) -> str:
        """When the requirement applies, in the active language."""
        return str(self.when_text)

    def condition(self) -> Q:
        """True for the activities that miss this requirement."""
        return self.missing()


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "controller_contact",
        _("Controller name and contact details"),
        "Art. 30(1)(a), 30(2)(a)",
        _("always: the organisation record has a legal name and an address, email or telephone"),
        _controller_contact_missing,
    ),
    Requirement(
        "joint_controller",
        _("Joint controller name and contact"),
        "Art. 30(1)(a)",
        _("when the role is joint controller"),
        lambda: Q(role=OrganisationRole.JOINT_CONTROLLER) & _blank("joint_controller"),
    ),
    Requirement(
        "controller_on_behalf",
        _("Controller(s) acted for"),
        "Art. 30(2)(a)",
        _("when the role is processor"),
        lambda: Q(role=OrganisationRole.PROCESSOR) & _blank("controller_on_behalf"),
    ),
    Requirement(
        "purposes",
        _("Purpose of processing"),
        "Art. 30(1)(b), 30(2)(b)",
        _("always (for a processor: the categories of processing done for each controller)"),
        lambda: _blank("purposes"),
    ),
    Requirement(
        "lawful_basis",
        _("Article 6 lawful basis"),
        "Art. 6(1), ICO template",
        _("as controller or joint controller"),
        lambda: _AS_CONTROLLER & _blank("lawful_basis"),
    ),
    Requirement(
        "legitimate_interests",
        _("Legitimate interests for the processing"),
        "Art. 6(1)(f), ICO template",
        _("when the lawful basis is 6(1)(f)"),
        lambda: Q(lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS) & _blank("legitimate_interests"),
    ),
    Requirement(
        "consent_record_link",
        _("Link to record of consent"),
        "Art. 7(1), ICO template",
        _("when the lawful basis is 6(1)(a) consent"),
        lambda: Q(lawful_basis=LawfulBasis.CONSENT) & _blank("consent_record_link"),
    ),
    Requirement(
        "art9_condition",
        _("Article 9 condition for processing"),
        "Art. 9(2), ICO template",
        _("as controller, when special-category data is processed (own or assets' categories)"),
        lambda: _AS_CONTROLLER & _blank("art9_condition") & has_special(),
    ),
    Requirement(
        "art10_authority",
        _("Article 10 authority"),
        "Art. 10",
        _("as controller, when criminal offence data is processed (own or assets' categories)"),
        lambda: _AS_CONTROLLER & _blank("art10_authority") & has_criminal(),
    ),
    Requirement(
        "dpa2018_schedule1",
        _("DPA 2018 Schedule 1 condition"),
        "DPA 2018 s. 10, Sch. 1 (UK)",
        _(
            "UK organisations (JITPORTAL_ROPA_UK), as controller: criminal offence data, or "
            "special-category data under Art. 9(2)(b), (g), (h), (i) or (j)"
        ),
        _schedule1_missing,
    ),
    Requirement(
        "data_subjects",
        _("Categories of individuals"),
        "Art. 30(1)(c)",
        _("as controller: on the activity or on one of its data assets"),
        lambda: _AS_CONTROLLER & ~_has_subjects(),
    ),
    Requirement(
        "data_categories",
        _("Categories of personal data"),
        "Art. 30(1)(c)",
        _("as controller: on the activity or on one of its data assets"),
        lambda: _AS_CONTROLLER & ~_has_categories(),
    ),
    Requirement(
        "recipients",
        _("Categories of recipients"),
        "Art. 30(1)(d)",
        _("as controller: at least one recipient, or “no recipients” ticked"),
        lambda: _AS_CONTROLLER & Q(no_recipients=False) & ~_has_recipients(),
    ),
    Requirement(
        "processor_contract",
        _("Link to contract with processor"),
        "Art. 28(3), ICO template",
        _("when a recipient is a processor with no contract link of its own"),
        lambda: _blank("processor_contract_link") & _processor_without_contract(),
    ),
    Requirement(
        "transfers",
        _("Transfers to third countries or international organisations"),
        "Art. 30(1)(e), 30(2)(c)",
        _(
            "when a recipient is outside the EEA or an international organisation and no "
            "transfer to it is recorded"
        ),
        _third_country_recipient_without_transfer,
    ),
    Requirement(
        "retention",
        _("Retention schedule"),
        "Art. 30(1)(f)",
        _("as controller"),
        lambda: _AS_CONTROLLER & _blank("retention_description"),
    ),
    Requirement(
        "security_measures",
        _("Technical and organisational security measures"),
        "Art. 30(1)(g), 30(2)(d)",
        _("always"),
        lambda: _blank("security_measures"),
    ),
    Requirement(
        "dpia_required",
        _("DPIA required?"),
        "Art. 35, ICO template",
        _(
            "as controller, when special/criminal data, vulnerable data subjects or automated "
            "decision-making are involved: the screening decision"
        ),
        lambda: (
            _AS_CONTROLLER
            & Q(dpia_required=DpiaRequired.UNKNOWN)
            & (
                has_restricted()
                | _has_subjects(is_vulnerable=True)
                | Q(automated_decision_making=True)
            )
        ),
    ),
    Requirement(
        "dpia_status",
        _("DPIA progress"),
        "Art. 35, ICO template",
        _("when a DPIA is required"),
        lambda: Q(dpia_required=DpiaRequired.YES) & _blank("dpia_status"),
    ),
    Requirement(
        "breach_record_link",
        _("Link to record of breach"),
        "Art. 33(5), ICO template",
        _("when a personal data breach occurred"),
        lambda: Q(breach_occurred=True) & _blank("breach_record_link"),
    ),
    Requirement(
        "next_review_on",
        _("Next review date"),
        "Art. 5(2), 24(1) accountability",
        _("always"),
        lambda: Q(next_review_on__isnull=True),
    ),
)

REQUIREMENTS_BY_KEY = {r.key: r for r in REQUIREMENTS}


def missing_condition(key: str) -> Q:
    return REQUIREMENTS_BY_KEY[key].condition()


def missing_any_condition() -> Q:
    return reduce(operator.or_, (r.condition() for r in REQUIREMENTS))


def missing_count_expression() -> Case:
    """An integer expression: how many requirements the row misses."""
    terms = [
        Case(When(r.condition(), then=Value(1)), default=Value(0), output_field=IntegerField())
        for r in REQUIREMENTS
    ]
    return reduce(operator.add, terms)


def missing_flags_annotations() -> dict[str, Case]:
    return {
        f"missing__{r.key}": Case(
            When(r.condition(), then=Value(1)), default=Value(0), output_field=IntegerField()
        )
        for r in REQUIREMENTS
    }
