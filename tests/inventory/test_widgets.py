"""The admin's autocomplete widgets never put a value no key column holds into a query:
SQLite, the demo's database, raises OverflowError for an integer past 64 bits (a 500), and
PostgreSQL would compare it as numeric. Every admin using the widgets is walked."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from apps.inventory.admin.widgets import ValidAutocompleteMixin
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HUGE = ["99999999999999999999", "-99999999999999999999", "9223372036854775808"]


def test_no_autocomplete_widget_queries_a_number_past_the_key_range():
    # given every registered admin that uses the checked autocomplete widgets
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="widget-root", is_staff=True, is_superuser=True)
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, ValidAutocompleteMixin):
            continue
        for name in model_admin.get_autocomplete_fields(request):
            db_field = model._meta.get_field(name)
            if db_field.many_to_many:
                formfield = model_admin.formfield_for_manytomany(db_field, request)
            else:
                formfield = model_admin.formfield_for_foreignkey(db_field, request)
            widget = formfield.widget
            widget = getattr(widget, "widget", widget)  # unwrap the related-field wrapper
            # when it renders a selection of numbers no key column holds
            with CaptureQueriesContext(connection) as queries:
                groups = widget.optgroups(name, HUGE)
            checked += 1
            # then nothing is selected and no query carries them
            assert not any(option["selected"] for _g, options, _i in groups for option in options)
            assert not any(h.lstrip("-") in q["sql"] for q in queries for h in HUGE), (
                model,
                name,
            )
    assert checked >= 5
