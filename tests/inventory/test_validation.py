from datetime import date

import pytest
from django.core.exceptions import ValidationError

from apps.inventory.gdpr import (
    Art9Condition,
    DpiaStatus,
    LawfulBasis,
    OrganisationRole,
    TransferMechanism,
)
from apps.inventory.models import ProcessingActivity, Transfer
from apps.inventory.validation import (
    processing_activity_errors,
    processing_activity_validate,
    transfer_errors,
)
from tests.factories import ProcessingActivityFactory, RecipientFactory
from tests.inventory.factories import TransferFactory, category, special_asset

pytestmark = pytest.mark.django_db


def _values(**kw):
    base = {
        "role": OrganisationRole.CONTROLLER,
        "lawful_basis": LawfulBasis.CONTRACT,
        "legitimate_interests": "",
        "art9_condition": "",
        "art10_authority": "",
        "dpia_status": "",
        "dpia_link": "",
        "last_reviewed_on": None,
        "next_review_on": None,
        "no_recipients": False,
    }
    return {**base, **kw}


def _errors(values=None, *, data_categories=(), assets=(), recipients=()):
    return processing_activity_errors(
        values or _values(),
        data_categories=data_categories,
        assets=assets,
        recipients=recipients,
    )


# --- special-category data ------------------------------------------------------------------


def test_special_category_in_the_activity_needs_an_art9_condition():
    # given an activity listing health data and no Art. 9(2) condition
    errors = _errors(data_categories=[category("health")])
    # then the condition is asked for, naming the category
    assert list(errors) == ["art9_condition"]
    message = errors["art9_condition"][0]
    assert "Data concerning health" in message and "Art. 9(2)" in message


def test_special_category_reached_through_an_asset_needs_an_art9_condition():
    # given an activity whose only special data is in one of its assets
    asset = special_asset("biometric-identification")
    errors = _errors(assets=[asset])
    # then the condition is required all the same
    assert "Biometric data for uniquely identifying a person" in errors["art9_condition"][0]


def test_a_condition_satisfies_the_special_category_rule():
    errors = _errors(_values(art9_condition=Art9Condition.H), data_categories=[category("health")])
    assert errors == {}


def test_criminal_data_needs_art10_authority_not_an_art9_condition():
    # given criminal-offence data via an asset
    errors = _errors(assets=[special_asset("criminal-record-checks")])
    # then the Art. 10 authority is asked for, and only that
    assert list(errors) == ["art10_authority"]
    assert "Art. 10" in errors["art10_authority"][0]
    assert "Criminal record checks" in errors["art10_authority"][0]
    # and naming the authority is enough
    assert (
        _errors(
            _values(art10_authority="Vetting Act 2012"),
            assets=[special_asset("criminal-record-checks")],
        )
        == {}
    )


def test_a_processor_activity_does_not_carry_the_controllers_conditions():
    errors = _errors(
        _values(role=OrganisationRole.PROCESSOR, lawful_basis=""),
        data_categories=[category("health"), category("criminal-record-checks")],
    )
    assert errors == {}


def test_ordinary_data_needs_no_condition():
    assert _errors(data_categories=[category("contact-email")]) == {}


# --- lawful basis, review, DPIA, recipients --------------------------------------------------


def test_legitimate_interests_basis_needs_the_interest_stated():
    errors = _errors(_values(lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS))
    assert "state the interest" in errors["legitimate_interests"][0]
    blank = _errors(
        _values(lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS, legitimate_interests="   ")
    )
    assert "legitimate_interests" in blank


def test_consent_without_a_consent_record_link_is_not_an_error():
    # (it is a missing field of the record instead; see test_completeness)
    assert _errors(_values(lawful_basis=LawfulBasis.CONSENT)) == {}


def test_next_review_cannot_be_before_the_last_review():
    errors = _errors(_values(last_reviewed_on=date(2025, 6, 1), next_review_on=date(2025, 5, 1)))
    assert errors["next_review_on"] == [
        "The next review (1 May 2025) cannot be before the last review (1 Jun 2025)."
    ]
    same_day = _values(last_reviewed_on=date(2025, 6, 1), next_review_on=date(2025, 6, 1))
    assert _errors(same_day) == {}


def test_completed_dpia_needs_a_link():
    errors = _errors(_values(dpia_status=DpiaStatus.COMPLETED))
    assert "link to the DPIA" in errors["dpia_link"][0]
    assert _errors(_values(dpia_status=DpiaStatus.COMPLETED, dpia_link="https://x.example/d")) == {}


def test_no_recipients_ticked_with_recipients_listed():
    errors = _errors(_values(no_recipients=True), recipients=[RecipientFactory()])
    assert "untick it or remove the recipients" in errors["no_recipients"][0]


def test_model_full_clean_runs_the_plain_field_rules():
    # given an unsaved activity with legitimate interests and no interest stated
    activity = ProcessingActivity(
        name="Fraud checks", lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS
    )
    # when it is fully cleaned
    with pytest.raises(ValidationError) as exc:
        activity.full_clean()
    # then the message is on the field
    assert "legitimate_interests" in exc.value.message_dict


def test_validate_reads_stored_links_for_a_saved_activity():
    # given a saved activity whose asset holds health data, with no condition
    activity = ProcessingActivityFactory()
    activity.assets.add(special_asset())
    # when a service validates it
    with pytest.raises(ValidationError) as exc:
        processing_activity_validate(activity=activity)
    # then the stored links are taken into account
    assert "art9_condition" in exc.value.message_dict
    # and links passed in replace the stored ones (what the service is about to save)
    processing_activity_validate(activity=activity, assets=[])


# --- transfers ----------------------------------------------------------------------------


def _transfer(**kw):
    base = {"country": "", "international_organisation": "", "mechanism": "", "description": ""}
    return transfer_errors(**{**base, **kw})


def test_transfer_outside_the_eea_needs_a_mechanism():
    errors = _transfer(country="US")
    assert "leaves the EEA" in errors["mechanism"][0]
    assert _transfer(country="US", mechanism=TransferMechanism.SCCS) == {}


def test_transfer_to_an_international_organisation_needs_a_mechanism():
    errors = _transfer(international_organisation="World Health Organization")
    assert "World Health Organization" in errors["mechanism"][0]


def test_transfer_within_the_eea_needs_no_mechanism():
    assert _transfer(country="DE") == {}


def test_adequacy_needs_an_adequacy_decision():
    # given a country without an adequacy decision
    errors = _transfer(country="IN", mechanism=TransferMechanism.ADEQUACY)
    assert "no adequacy decision for IN" in errors["mechanism"][0]
    # and countries with one
    for code in ("CH", "GB", "JP", "US"):
        assert _transfer(country=code, mechanism=TransferMechanism.ADEQUACY) == {}
    # and never for an international organisation
    errors = _transfer(international_organisation="UN", mechanism=TransferMechanism.ADEQUACY)
    assert "No adequacy decision covers" in errors["mechanism"][0]


def test_art49_derogation_needs_a_description():
    errors = _transfer(country="BR", mechanism=TransferMechanism.DEROGATION)
    assert "Art. 49 derogation must be documented" in errors["description"][0]
    assert (
        _transfer(
            country="BR",
            mechanism=TransferMechanism.DEROGATION,
            description="Art. 49(1)(b): necessary for the contract with the traveller.",
        )
        == {}
    )


def test_transfer_needs_exactly_one_destination():
    both = _transfer(country="US", international_organisation="UN", mechanism="sccs")
    assert "not both" in both["__all__"][0]
    neither = _transfer()
    assert "a country or an international organisation" in neither["__all__"][0]


def test_transfer_full_clean_uses_the_rules():
    # given a transfer to India under "adequacy"
    transfer = TransferFactory.build(
        activity=ProcessingActivityFactory(), country="IN", mechanism=TransferMechanism.ADEQUACY
    )
    # then full_clean refuses it with the message on the mechanism
    with pytest.raises(ValidationError) as exc:
        transfer.full_clean()
    assert "no adequacy decision" in exc.value.message_dict["mechanism"][0]
    assert not Transfer.objects.exists()
