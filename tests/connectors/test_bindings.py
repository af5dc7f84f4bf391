"""Targets and bindings are checked against the real target when saved, and refused with a
clear message: an unknown table, a schema the portal cannot reach, a URL variable not set."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.connectors.forms import TargetBindingForm, TargetForm
from apps.connectors.models import Target, TargetBinding
from tests.connectors.conftest import TARGET_DB
from tests.factories import DataAssetFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def binding_errors(target, **values):
    asset = DataAssetFactory()
    data = {
        "target": target.pk,
        "asset": asset.pk,
        "schema": "public",
        "tables": '["customers"]',
        "privileges": "{}",
        "options": "{}",
        **values,
    }
    form = TargetBindingForm(data=data)
    return form.is_valid(), form.errors


def test_a_binding_of_an_existing_table_is_accepted(pg_target):
    ok, errors = binding_errors(pg_target)
    assert ok, errors


def test_an_unknown_table_is_refused(pg_target):
    ok, errors = binding_errors(pg_target, tables='["customers", "invoices"]')
    assert not ok
    assert errors["tables"] == ["Schema “public” has no table “invoices”."]


def test_a_schema_the_portal_cannot_reach_is_refused(pg_target):
    _ok, errors = binding_errors(pg_target, schema="hidden", tables='["secrets"]')
    assert errors["schema"] == ["The portal's user cannot reach schema “hidden”."]
    _ok, errors = binding_errors(pg_target, schema="nowhere")
    assert errors["schema"] == ["The target has no schema “nowhere”."]


def test_a_privilege_that_is_not_one_is_refused(pg_target):
    ok, errors = binding_errors(pg_target, privileges='{"view": ["SELECT; DROP TABLE x"]}')
    assert not ok and "must be among" in errors["privileges"][0]
    ok, errors = binding_errors(pg_target, privileges='{"read": ["SELECT"]}')
    assert errors["privileges"] == ["“read” is not an action (view, change, export)."]


def test_a_target_whose_url_variable_is_not_set_is_refused(db, monkeypatch):
    monkeypatch.delenv("JP_NOT_SET_ANYWHERE_TARGET_URL", raising=False)
    form = TargetForm(
        data={
            "name": "Billing",
            "kind": "postgresql",
            "url_setting": "JP_NOT_SET_ANYWHERE_TARGET_URL",
            "account_prefix": "jpb_",
            "enabled": "on",
        }
    )
    assert not form.is_valid()
    assert form.errors["url_setting"] == [
        "Neither a setting nor an environment variable “JP_NOT_SET_ANYWHERE_TARGET_URL” is set on this server."
    ]
    assert not Target.objects.exists()


def test_a_bad_prefix_is_refused(target_db, db):
    form = TargetForm(
        data={
            "name": "Billing",
            "kind": "postgresql",
            "url_setting": "JITPORTAL_TEST_TARGET_URL",
            "account_prefix": "Robert'); --",
            "enabled": "on",
        }
    )
    assert not form.is_valid()
    assert "lower-case" in form.errors["account_prefix"][0]


@pytest.mark.parametrize(
    ("existing", "new", "refused"),
    [
        ("jp_", "jp_g", True),  # the new prefix starts with the other
        ("jp_g", "jp_", True),  # the other starts with the new one
        ("jp_", "jp_", True),
        ("jp_", "hr_", False),
        ("jpx_", "jp_", False),  # neither starts with the other
    ],
)
def test_prefixes_on_one_connection_never_overlap(target_db, db, existing, new, refused):
    # Given a target on the test connection with a prefix,
    Target.objects.create(
        name="CRM",
        kind="postgresql",
        url_setting="JITPORTAL_TEST_TARGET_URL",
        account_prefix=existing,
    )
    # when a second target on the same connection is saved with another prefix,
    form = TargetForm(
        data={
            "name": "Billing",
            "kind": "postgresql",
            "url_setting": "JITPORTAL_TEST_TARGET_URL",
            "account_prefix": new,
            "enabled": "on",
        }
    )
    # then one that starts with the other, or that the other starts with, is refused by name.
    assert form.is_valid() is not refused, form.errors
    if refused:
        assert "Target “CRM” on the same connection" in form.errors["account_prefix"][0]


def test_two_settings_holding_one_database_are_one_connection(target_db, db, monkeypatch):
    # Given a target reading its URL from one setting, and another setting holding the same
    # server and database with other credentials,
    url = target_db.portal_url(TARGET_DB)
    host_and_db = url.split("@", 1)[1] if "@" in url else url.split("://", 1)[1]
    monkeypatch.setenv("JP_SAME_DB_TARGET_URL", f"postgresql://someone_else:pw@{host_and_db}")
    Target.objects.create(
        name="CRM", kind="postgresql", url_setting="JITPORTAL_TEST_TARGET_URL", account_prefix="jp_"
    )
    # then a target on the other setting may not take an overlapping prefix either.
    probe = Target(
        name="Billing",
        kind="postgresql",
        url_setting="JP_SAME_DB_TARGET_URL",
        account_prefix="jp_b",
    )
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert "account_prefix" in error.value.message_dict


def test_targets_without_a_url_share_the_portals_own_database(db):
    # Given a Django groups target (no URL: the portal's own database),
    Target.objects.create(name="Groups", kind="django_groups", account_prefix="grp_")
    # then a second one with an overlapping prefix is refused by the model itself.
    with pytest.raises(ValidationError):
        Target(name="More groups", kind="django_groups", account_prefix="grp_x").full_clean()
    Target(name="Other groups", kind="django_groups", account_prefix="oth_").full_clean()


def test_the_admin_refuses_a_bad_binding_and_saves_nothing(pg_target, admin_client):
    # Given the binding admin's add page, when a binding of an unknown table is posted
    asset = DataAssetFactory()
    response = admin_client.post(
        reverse("admin:connectors_targetbinding_add"),
        {
            "target": pg_target.pk,
            "asset": asset.pk,
            "schema": "public",
            "tables": '["nope"]',
            "privileges": "{}",
            "options": "{}",
        },
    )
    # Then the form comes back with the reason, and nothing is saved
    assert response.status_code == 200
    assert "Schema “public” has no table “nope”." in response.content.decode()
    assert not TargetBinding.objects.exists()


def test_the_target_admin_page_says_what_the_connector_guarantees(pg_target, admin_client):
    response = admin_client.get(reverse("admin:connectors_target_change", args=[pg_target.pk]))
    assert response.status_code == 200
    assert "VALID UNTIL" in response.content.decode()
