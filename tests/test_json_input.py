"""JSON typed into any form: every model JSONField's form field refuses, with a message,
what would be stored wrongly or crash (NaN and Infinity, thousands of brackets, megabytes),
and an admin page that holds one answers those values without a 500."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models

from apps.connectors.models import Target
from jitportal.forms import JSON_MAX_CHARS, StrictJSONField
from tests.factories import UserFactory

HOSTILE_JSON = [
    '{"a": NaN}',
    '{"a": Infinity}',
    "[-Infinity]",
    "[" * 5000 + "]" * 5000,
    "[" * 40 + "]" * 40,
    '"' + "x" * (JSON_MAX_CHARS + 1) + '"',
    "{not json",
]


def _json_fields() -> list[models.JSONField]:
    return [
        field
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.JSONField) and field.editable
    ]


def test_every_model_json_field_refuses_hostile_json_with_a_message():
    # given every editable JSONField of every installed model
    fields = _json_fields()
    assert len(fields) >= 5
    for field in fields:
        formfield = field.formfield()
        # then its form field is the strict one
        assert isinstance(formfield, StrictJSONField), field
        for value in HOSTILE_JSON:
            # and every hostile value is a validation error, never another exception
            with pytest.raises(ValidationError):
                formfield.clean(value)
            # and a form shown again with it renders the text back, not a crash
            formfield.bound_data(value, None)
    # and plain JSON still goes through
    assert StrictJSONField().clean('{"host": "crm-db", "port": 5432}') == {
        "host": "crm-db",
        "port": 5432,
    }


@pytest.mark.django_db
def test_the_target_admin_answers_hostile_options_with_a_message(client):
    # given a superuser on the target's add page
    client.force_login(UserFactory(username="json-root", is_staff=True, is_superuser=True))
    url = "/admin/connectors/target/add/"
    assert Target in admin.site._registry
    for value in [*HOSTILE_JSON, "[1]", "5"]:
        # when options are hostile (or not an object)
        response = client.post(
            url,
            {
                "name": "o",
                "kind": "guardian",
                "account_prefix": "oo_",
                "enabled": "on",
                "options": value,
            },
        )
        # then the form comes back with a message and nothing is saved
        assert response.status_code == 200, (value[:20], response.status_code)
        assert response.context["adminform"].form.errors.get("options"), value[:20]
    assert not Target.objects.exists()
