"""UK organisations: the Data Protection Act 2018 s. 10 and Schedule 1 condition.

Checked where the DPO enters it (the activity rules, the admin form), counted as a gap of the
record of processing, and left out of sight where the setting is off.
"""

from __future__ import annotations

import importlib

import pytest
from django.urls import reverse

from apps.inventory import models as inv
from apps.inventory.gdpr import Art9Condition, Dpa2018Schedule1Condition, LawfulBasis
from apps.inventory.validation import processing_activity_errors
from apps.reports.ropa import ropa_build
from tests.factories import DataAssetFactory, OrganisationFactory, ProcessingActivityFactory
from tests.inventory.factories import category
from tests.inventory.formdata import form_data

pytestmark = pytest.mark.django_db

FIELD = "dpa2018_schedule1_condition"


@pytest.fixture
def uk(settings):
    settings.JITPORTAL = {**settings.JITPORTAL, "ROPA_UK": True}


def _errors(*, slug: str, art9: str = "", schedule1: str = "", art10: str = "") -> list[str]:
    values = {
        "role": "controller",
        "lawful_basis": LawfulBasis.LEGAL_OBLIGATION,
        "art9_condition": art9,
        "art10_authority": art10,
        FIELD: schedule1,
    }
    errors = processing_activity_errors(
        values, data_categories=[category(slug)], assets=[], recipients=[]
    )
    return errors.get(FIELD, [])


@pytest.mark.parametrize(
    ("art9", "fits", "does_not_fit"),
    [
        (Art9Condition.B, "S1-1", "S1-2"),
        (Art9Condition.G, "S1-10", "S1-1"),
        (Art9Condition.H, "S1-2", "S1-3"),
        (Art9Condition.I, "S1-3", "S1-4"),
        (Art9Condition.J, "S1-4", "S1-6"),
    ],
)
def test_special_data_under_these_art9_conditions_needs_the_matching_schedule1_condition(
    uk, art9, fits, does_not_fit
):
    # given a UK organisation processing health data under an Art. 9(2) condition that
    # s. 10 DPA 2018 ties to Schedule 1
    # then a missing condition is asked for
    assert "Schedule 1 to the Data Protection Act 2018" in _errors(slug="health", art9=art9)[0]
    # and one of the wrong Part is refused, naming what fits
    refused = _errors(slug="health", art9=art9, schedule1=does_not_fit)
    assert refused and "does not fit" in refused[0]
    # and the matching one is accepted
    assert _errors(slug="health", art9=art9, schedule1=fits) == []


def test_explicit_consent_needs_no_schedule1_condition(uk):
    assert _errors(slug="health", art9=Art9Condition.A) == []


def test_criminal_offence_data_needs_any_schedule1_condition(uk):
    assert _errors(slug="criminal-record-checks", art10="Vetting Act 2012")
    assert _errors(slug="criminal-record-checks", art10="Vetting Act 2012", schedule1="S1-33") == []


def test_outside_the_uk_nothing_is_asked(settings):
    assert not settings.JITPORTAL.get("ROPA_UK")
    assert _errors(slug="health", art9=Art9Condition.H) == []
    assert _errors(slug="criminal-record-checks", art10="Vetting Act 2012") == []


def test_an_activity_saved_before_the_setting_shows_the_gap_in_the_record(settings):
    # given an activity under Art. 9(2)(h), saved while the setting was off
    OrganisationFactory()
    activity = ProcessingActivityFactory(
        name="Occupational health", purposes="Fitness", art9_condition=Art9Condition.H
    )
    activity.assets.set([DataAssetFactory(categories=[category("health")])])
    row = next(a for a in ropa_build()["activities"] if a["id"] == activity.pk)
    assert "dpa2018_schedule1" not in {g["requirement"] for g in row["gaps"]}
    # when the organisation turns the UK columns on
    settings.JITPORTAL = {**settings.JITPORTAL, "ROPA_UK": True}
    row = next(a for a in ropa_build()["activities"] if a["id"] == activity.pk)
    # then the record shows the gap on the UK column
    gap = next(g for g in row["gaps"] if g["requirement"] == "dpa2018_schedule1")
    assert gap["column"] == FIELD
    # and filling it in closes the gap
    activity.dpa2018_schedule1_condition = Dpa2018Schedule1Condition.P2
    activity.save()
    row = next(a for a in ropa_build()["activities"] if a["id"] == activity.pk)
    assert "dpa2018_schedule1" not in {g["requirement"] for g in row["gaps"]}
    assert row["values"][FIELD] == "Sch. 1 para 2: health or social care purposes"


def _add_url() -> str:
    return reverse("admin:inventory_processingactivity_add")


def test_the_admin_form_shows_the_field_only_to_uk_organisations(dpo_client, settings):
    assert f'name="{FIELD}"' not in dpo_client.get(_add_url()).content.decode()
    settings.JITPORTAL = {**settings.JITPORTAL, "ROPA_UK": True}
    assert f'name="{FIELD}"' in dpo_client.get(_add_url()).content.decode()


def test_the_admin_form_refuses_a_mismatched_condition_and_saves_nothing(dpo_client, uk):
    # given an asset holding health data and a form under Art. 9(2)(h)
    asset = DataAssetFactory(categories=[category("health")])
    data = form_data(
        dpo_client.get(_add_url()).content.decode(),
        name="Occupational health",
        purposes="Fitness for work",
        lawful_basis="6(1)(c)",
        art9_condition=Art9Condition.H,
        assets=[str(asset.pk)],
        **{FIELD: "S1-20"},
    )
    # when the DPO saves with a Part 2 condition
    response = dpo_client.post(_add_url(), data)
    # then the form says which paragraph fits and nothing is saved
    assert response.status_code == 200
    assert "Sch. 1 para 2" in response.content.decode()
    assert not inv.ProcessingActivity.objects.exists()
    # and with the matching condition it saves
    data[FIELD] = "S1-2"
    assert dpo_client.post(_add_url(), data).status_code == 302
    assert inv.ProcessingActivity.objects.get().dpa2018_schedule1_condition == "S1-2"


def test_free_text_contacts_are_split_when_migrating():
    migration = importlib.import_module(
        "apps.inventory.migrations.0005_organisation_contacts_retention_policy_uk"
    )
    assert migration._split("dpo@lumen-health.example, +353 1 555 0199") == (
        "dpo@lumen-health.example",
        "+353 1 555 0199",
        "",
    )
    assert migration._split("lumen@repwise.example, 20 Fleet Street, London EC4Y 1AA") == (
        "lumen@repwise.example",
        "",
        "20 Fleet Street, London EC4Y 1AA",
    )
    assert migration._split("") == ("", "", "")
