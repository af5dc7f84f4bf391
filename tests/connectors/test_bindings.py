"""Targets and bindings are checked against the real target when saved, and refused with a
clear message: an unknown table, a schema the portal cannot reach, a URL variable not set."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.connectors.forms import TargetBindingForm, TargetForm
from apps.connectors.models import Target, TargetBinding
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
