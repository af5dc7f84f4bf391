from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.inventory.completeness import REQUIREMENTS
from apps.inventory.gdpr import (
    Art9Condition,
    DpiaRequired,
    LawfulBasis,
    OrganisationRole,
    RecipientKind,
)
from apps.inventory.models import Organisation, ProcessingActivity
from apps.inventory.selectors import (
    processing_activity_categories,
    processing_activity_missing_fields,
    processing_activity_missing_keys,
    processing_activity_restricted_categories,
)
from tests.factories import (
    DataAssetFactory,
    DataSubjectCategoryFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)
from tests.inventory.factories import (
    TransferFactory,
    category,
    complete_activity,
    special_asset,
)

pytestmark = pytest.mark.django_db


def _missing(activity):
    return processing_activity_missing_keys(activity)


def test_a_complete_activity_misses_nothing():
    activity = complete_activity()
    assert processing_activity_missing_fields(activity) == []
    assert list(ProcessingActivity.objects.complete()) == [activity]
    assert not ProcessingActivity.objects.missing_any().exists()


def test_an_empty_activity_misses_every_unconditional_column():
    # given no organisation and a bare activity
    activity = ProcessingActivity.objects.create(name="Bare")
    # then the always-required columns are listed by their ROPA names, in ROPA order
    assert processing_activity_missing_fields(activity) == [
        "Controller name and contact details",
        "Purpose of processing",
        "Article 6 lawful basis",
        "Categories of individuals",
        "Categories of personal data",
        "Categories of recipients",
        "Retention schedule",
        "Technical and organisational security measures",
        "Next review date",
    ]


@pytest.mark.parametrize(
    ("field", "key"),
    [
        ("purposes", "purposes"),
        ("lawful_basis", "lawful_basis"),
        ("retention_description", "retention"),
        ("security_measures", "security_measures"),
        ("next_review_on", "next_review_on"),
    ],
)
def test_each_plain_column_is_reported_when_blank(field, key):
    activity = complete_activity()
    ProcessingActivity.objects.filter(pk=activity.pk).update(
        **{field: None if field == "next_review_on" else ""}
    )
    assert _missing(activity) == [key]
    assert list(ProcessingActivity.objects.missing(key)) == [activity]


def test_controller_contact_comes_from_the_organisation():
    activity = complete_activity()
    Organisation.objects.update(address="", email="", telephone="")
    assert _missing(activity) == ["controller_contact"]


def test_subjects_and_categories_may_come_from_the_assets():
    # given an activity with no subjects or categories of its own
    activity = complete_activity()
    activity.data_subjects.clear()
    activity.data_categories.clear()
    assert _missing(activity) == ["data_subjects", "data_categories"]
    # when it gets an asset that has both
    asset = DataAssetFactory(categories=[category("contact-postal-address")])
    asset.subjects.add(DataSubjectCategoryFactory(name="Customers"))
    activity.assets.add(asset)
    # then the record is complete again
    assert _missing(activity) == []
    assert [c.slug for c in processing_activity_categories(activity)] == ["contact-postal-address"]


def test_no_recipients_is_an_explicit_answer():
    activity = complete_activity()
    activity.recipients.clear()
    assert _missing(activity) == ["recipients"]
    ProcessingActivity.objects.filter(pk=activity.pk).update(no_recipients=True)
    assert _missing(activity) == []


def test_special_data_via_an_asset_without_a_condition_is_missing():
    # given a complete activity whose asset later gets health data (no form saw it)
    activity = complete_activity(dpia_required=DpiaRequired.NO)
    asset = DataAssetFactory()
    activity.assets.add(asset)
    asset.categories.add(category("health"))
    # then the Art. 9 condition is missing
    assert _missing(activity) == ["art9_condition"]
    assert [c.slug for c in processing_activity_restricted_categories(activity)] == ["health"]
    assert ProcessingActivity.objects.special_data().get() == activity
    # and once given, it is not
    ProcessingActivity.objects.filter(pk=activity.pk).update(art9_condition=Art9Condition.B)
    assert _missing(activity) == []


def test_criminal_data_needs_the_art10_authority():
    activity = complete_activity()
    activity.assets.add(special_asset("criminal-record-checks"))
    assert _missing(activity) == ["art10_authority"]


def test_dpia_decision_is_needed_for_special_vulnerable_or_automated():
    # given complete activities without a DPIA screening decision
    special = complete_activity(dpia_required="", art9_condition=Art9Condition.A)
    special.data_categories.add(category("health"))
    vulnerable = complete_activity(dpia_required="")
    vulnerable.data_subjects.add(DataSubjectCategoryFactory(name="Minors"))
    automated = complete_activity(dpia_required="", automated_decision_making=True)
    plain = complete_activity(dpia_required="")
    # then all but the plain one miss it
    assert set(ProcessingActivity.objects.missing("dpia_required")) == {
        special,
        vulnerable,
        automated,
    }
    assert _missing(plain) == []
    # and a "yes" then needs the DPIA progress
    ProcessingActivity.objects.filter(pk=special.pk).update(dpia_required=DpiaRequired.YES)
    assert _missing(special) == ["dpia_status"]


def test_conditional_columns_by_lawful_basis():
    consent = complete_activity(lawful_basis=LawfulBasis.CONSENT)
    assert _missing(consent) == ["consent_record_link"]
    interests = complete_activity(lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS)
    assert _missing(interests) == ["legitimate_interests"]


def test_roles_decide_what_a_record_needs():
    # given a processor activity (Art. 30(2)) without controller-only columns
    processor = ProcessingActivityFactory(
        role=OrganisationRole.PROCESSOR,
        lawful_basis="",
        purposes="Payroll for a client",
        security_measures="MFA",
        next_review_on=date(2030, 1, 1),
    )
    complete_activity()  # makes the organisation row
    # then only the controller it acts for is missing
    assert _missing(processor) == ["controller_on_behalf"]
    joint = complete_activity(role=OrganisationRole.JOINT_CONTROLLER)
    assert _missing(joint) == ["joint_controller"]


def test_processor_recipient_without_contract():
    activity = complete_activity()
    activity.recipients.add(RecipientFactory(kind=RecipientKind.PROCESSOR, contract_link=""))
    assert _missing(activity) == ["processor_contract"]
    ProcessingActivity.objects.filter(pk=activity.pk).update(
        processor_contract_link="https://example.org/dpa"
    )
    assert _missing(activity) == []


def test_third_country_recipient_needs_a_recorded_transfer():
    activity = complete_activity()
    us = RecipientFactory(country="US", contract_link="https://example.org/dpa")
    activity.recipients.add(us)
    assert _missing(activity) == ["transfers"]
    TransferFactory(activity=activity, recipient=us, country="US")
    assert _missing(activity) == []


def test_international_organisation_recipient_needs_a_transfer():
    activity = complete_activity()
    activity.recipients.add(
        RecipientFactory(
            country="", is_international_organisation=True, kind=RecipientKind.THIRD_PARTY
        )
    )
    assert _missing(activity) == ["transfers"]


def test_breach_needs_its_record_link():
    activity = complete_activity(breach_occurred=True)
    assert _missing(activity) == ["breach_record_link"]


def test_review_due_queryset():
    today = timezone.localdate()
    due = complete_activity(next_review_on=today)
    never = ProcessingActivityFactory(next_review_on=None)
    complete_activity(next_review_on=today + timedelta(days=1))
    assert set(ProcessingActivity.objects.review_due()) == {due, never}


def test_selector_count_and_filters_agree_on_every_requirement():
    # given a mix of activities
    activities = [
        complete_activity(),
        complete_activity(lawful_basis=LawfulBasis.CONSENT, next_review_on=None),
        ProcessingActivity.objects.create(name="Bare"),
        ProcessingActivityFactory(role=OrganisationRole.PROCESSOR, lawful_basis=""),
    ]
    activities[1].assets.add(special_asset())
    counts = dict(
        ProcessingActivity.objects.with_missing_count().values_list("pk", "missing_count")
    )
    for activity in activities:
        keys = _missing(activity)
        # then the count annotation equals the selector's list
        assert counts[activity.pk] == len(keys)
        # and each per-requirement filter includes the activity exactly when listed
        for requirement in REQUIREMENTS:
            listed = ProcessingActivity.objects.missing(requirement.key).filter(pk=activity.pk)
            assert listed.exists() == (requirement.key in keys), (activity, requirement.key)
    missing_any = set(ProcessingActivity.objects.missing_any().values_list("pk", flat=True))
    assert missing_any == {a.pk for a in activities if _missing(a)}


def test_unsaved_activity_cannot_be_checked():
    with pytest.raises(ValueError, match="saved"):
        processing_activity_missing_fields(ProcessingActivity(name="x"))
