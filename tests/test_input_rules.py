"""The input rules of jitportal.inputs, each example of the kind, and the walks over every
model field and every admin inline that keep the kind from coming back."""

from __future__ import annotations

import time
from datetime import date, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import models
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.crm.models import Customer
from apps.inventory.models import ProcessingActivity
from apps.retention.models import HoldBasis, HoldScope, LegalHold
from apps.retention.services import legal_hold_place
from jitportal.admin_base import INLINE_MAX_NUM
from jitportal.inputs import (
    BIGINT_MAX,
    TextValidator,
    has_visible_text,
    parse_bounded_int,
    parse_db_integer,
    parse_id,
    parse_page,
    text_problem,
    validate_date_range,
)
from tests.factories import DataAssetFactory, DataCategoryFactory, UserFactory
from tests.inventory.formdata import form_data
from tests.retention.factories import CustomerFactory

HUGE = "99999999999999999999"


# --- the helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", 1),
        ("0042", 42),
        (str(BIGINT_MAX), BIGINT_MAX),
        (str(BIGINT_MAX + 1), None),
        (HUGE, None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1 ", None),
        ("²", None),
        ("٣", None),
        ("1e3", None),
        ("", None),
        (None, None),
        (True, None),
        (7, 7),
    ],
)
def test_parse_id_takes_ascii_digits_within_bigint_only(raw, expected):
    assert parse_id(raw) == expected


def test_page_limit_and_raw_key_parsers():
    assert parse_page("²") == 1 and parse_page(HUGE) == 1 and parse_page("3") == 3
    assert parse_bounded_int("", default=5, minimum=1, maximum=10) == 5
    assert parse_bounded_int("٣", default=5, minimum=1, maximum=10) is None
    assert parse_bounded_int("11", default=5, minimum=1, maximum=10) is None
    assert parse_db_integer("-12") == -12 and parse_db_integer(HUGE) is None
    assert parse_db_integer("-²") is None


@pytest.mark.parametrize(
    "text, multiline, required, problem",
    [
        ("Customer case 17", True, True, None),
        ("Line one\r\n\tLine two", True, True, None),
        ("Line one\nLine two", False, True, "U+000A"),
        ("Ticket\tINC-1", False, True, None),
        ("\u200b\u200c\u200d\u2060\ufeff", True, True, "Enter visible text"),
        ("\u3164\u2800 \u00a0", True, True, "Enter visible text"),
        ("\u200b", True, False, None),
        ("a\x1b[31m", True, True, "U+001B"),
        ("a\x00", True, True, "U+0000"),
        ("a\x7f", True, True, "U+007F"),
        ("a\x9b", True, True, "U+009B"),
        ("a\u202ecod.exe", True, True, "U+202E"),
        ("Zoë, 日本, مرحبا, 🙂", False, True, None),
    ],
)
def test_text_problem(text, multiline, required, problem):
    found = text_problem(text, multiline=multiline, required=required)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_visible_text():
    assert has_visible_text("x") and has_visible_text("·")
    assert not has_visible_text(" \t\n\u200b\u0301")


# --- every text field of every model ------------------------------------------------------


def test_every_editable_text_field_of_every_model_refuses_control_and_invisible_text():
    # given every installed model (the project's and third-party apps')
    fields = [
        field
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.get_fields()
        if isinstance(field, models.CharField | models.TextField)
        and field.editable
        and not field.choices
    ]
    assert len(fields) > 50
    for field in fields:
        validators = [v for v in field.validators if isinstance(v, TextValidator)]
        # then each carries one text validator, multi-line only for a TextField
        assert len(validators) == 1, field
        assert validators[0].multiline == isinstance(field, models.TextField), field
        assert validators[0].required == (not field.blank), field
        # and it refuses ESC
        with pytest.raises(ValidationError):
            field.run_validators("a\x1b[2J")


def test_every_editable_date_field_of_every_model_refuses_the_ends_of_the_calendar():
    fields = [
        field
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.get_fields()
        if isinstance(field, models.DateField) and field.editable
    ]
    assert fields
    for field in fields:
        assert validate_date_range in field.validators, field
        with pytest.raises(ValidationError):
            field.run_validators(date(9999, 12, 31))


@pytest.mark.django_db
def test_an_admin_model_form_refuses_a_name_of_zero_width_characters(client, dpo):
    # given the DPO on the add page of a data category
    client.force_login(dpo)
    url = reverse("admin:inventory_datacategory_add")
    data = form_data(client.get(url).content.decode(), name="\u200b\u200b", slug="zw")
    # when the name is only zero-width characters
    response = client.post(url, data)
    # then the form says so and nothing is saved
    assert response.status_code == 200
    assert "Enter visible text" in response.content.decode()
    from apps.inventory.models import DataCategory

    assert not DataCategory.objects.filter(slug="zw").exists()


# --- out-of-range values -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.postgres
def test_an_asset_register_ending_9999_12_31_is_a_form_error(client, dpo):
    # given a data asset and the DPO
    asset = DataAssetFactory(name="Orders")
    client.force_login(dpo)
    # when the asset register is asked up to the last day of the calendar
    response = client.get(
        reverse("admin:reports_asset_register"), {"asset": asset.pk, "end": "9999-12-31"}
    )
    # then the form says which dates it takes
    assert response.status_code == 200
    assert "Enter a date between 1900-01-01 and 9000-12-31." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_category_filter_beyond_bigint_on_the_activity_changelist_is_no_500(client, dpo):
    DataCategoryFactory(name="Health", slug="health")
    client.force_login(dpo)
    response = client.get(
        reverse("admin:inventory_processingactivity_changelist"), {"category": HUGE}
    )
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_legal_hold_on_an_id_beyond_bigint_is_refused(client, dpo):
    # given a customer the DPO may hold
    customer = CustomerFactory()
    customers = ContentType.objects.get_for_model(Customer)
    client.force_login(dpo)
    url = reverse("admin:retention_legalhold_add")
    data = form_data(
        client.get(url).content.decode(),
        scope=HoldScope.RECORDS,
        content_type=str(customers.pk),
        object_ids=f"{customer.pk} {HUGE}",
        basis=HoldBasis.ART_17_3_E,
        reason="Pending claim",
        review_on=(timezone.localdate() + timedelta(days=30)).isoformat(),
    )
    # when the hold names an id beyond the database's integer range
    response = client.post(url, data)
    # then the form names it and no hold is placed
    assert response.status_code == 200
    assert f"whole numbers from 1 to {BIGINT_MAX}: {HUGE}" in response.content.decode()
    assert not LegalHold.objects.exists()
    # and the service refuses it too, as well as a Unicode digit
    for bad in (HUGE, "²"):
        with pytest.raises(ValidationError, match="whole numbers"):
            legal_hold_place(
                scope=HoldScope.RECORDS,
                basis=HoldBasis.ART_17_3_E,
                reason="Pending claim",
                review_on=timezone.localdate() + timedelta(days=30),
                content_type=customers,
                object_ids=[bad],
                actor=dpo,
            )
    assert not LegalHold.objects.exists()


# --- unbounded formsets --------------------------------------------------------------------


def test_every_admin_inline_builds_a_bounded_number_of_forms():
    # given every inline of every admin registered on the site
    request = RequestFactory().get("/")
    request.user = UserFactory.build(is_superuser=True, is_staff=True, is_active=True)
    inlines = [
        inline_class(model, admin.site)
        for model, model_admin in admin.site._registry.items()
        for inline_class in model_admin.inlines
    ]
    assert inlines
    for inline in inlines:
        # then its formset builds at most INLINE_MAX_NUM forms for a new parent
        formset = inline.get_formset(request, None)
        assert formset.absolute_max <= INLINE_MAX_NUM, inline


@pytest.mark.django_db
def test_a_huge_total_forms_on_the_activity_add_form_is_answered_at_once(client, dpo):
    # given the DPO on the processing-activity add form
    client.force_login(dpo)
    url = reverse("admin:inventory_processingactivity_add")
    data = form_data(client.get(url).content.decode(), name="Payroll", purposes="Pay people")
    data["transfers-TOTAL_FORMS"] = "99999999"
    # when the post claims 99,999,999 transfer forms
    started = time.monotonic()
    response = client.post(url, data)
    # then it is answered within seconds with the formset's error, and nothing is saved
    assert time.monotonic() - started < 10
    assert response.status_code == 200
    assert f"Please submit at most {INLINE_MAX_NUM} forms." in response.content.decode()
    assert not ProcessingActivity.objects.filter(name="Payroll").exists()


# --- management commands -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "command, args",
    [
        ("purge", ["--run", "²"]),
        ("purge", ["--run", HUGE]),
        ("ropa", ["--format", "json", "--output", "-", "--as-at", "²"]),
        ("ropa", ["--format", "json", "--output", "-", "--as-at", HUGE]),
        ("audit_export", ["--after-id", "²"]),
        ("audit_export", ["--after-id", HUGE]),
        ("audit_export", ["--since", "0001-01-01"]),
        ("audit_verify", ["--chunk-size", "٣"]),
    ],
)
def test_commands_refuse_unicode_digits_and_huge_ids_with_a_message(command, args):
    with pytest.raises(CommandError):
        call_command(command, *args, stdout=StringIO(), stderr=StringIO())
