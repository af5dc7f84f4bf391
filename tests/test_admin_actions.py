"""Every admin action of every registered model admin refuses a selection that names no row.

Django's change list runs ``queryset.filter(pk__in=selection)`` for an action; a value that
is no key of the model (``'²'``, ``'abc'``, a number past the column's range) makes that query
raise, a 500. The portal's admin site checks the selection first
(``jitportal.admin_site.selection_is_valid``), for the project's admins and the libraries'.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import RequestFactory

from apps.audit.models import AuditEvent
from jitportal.admin_site import PortalAdminSite
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOSTILE_SELECTIONS = [
    ["²"],
    ["abc"],
    ["1.5"],
    ["-1"],
    [" 1"],
    ["0"],
    ["99999999999999999999"],
    ["9223372036854775808"],
    ["1", "٣"],
    [""],
]


def _model_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in admin.site._registry
        if model._meta.managed  # unmanaged: a page of the reports app, no table
    }


def test_every_admin_action_refuses_a_selection_that_names_no_row(client):
    # given a superuser and every action of every registered admin
    root = UserFactory(username="actions-root", is_staff=True, is_superuser=True)
    client.force_login(root)
    request = RequestFactory().get("/admin/")
    request.user = root
    tried = 0
    failures: list[str] = []
    before = _model_counts()
    events = AuditEvent.objects.count()
    for model, model_admin in admin.site._registry.items():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for action in model_admin.get_actions(request):
            for selection in HOSTILE_SELECTIONS:
                # when the action is posted with a selection that names no row
                response = client.post(
                    url, {"action": action, ACTION_CHECKBOX_NAME: selection, "index": "0"}
                )
                tried += 1
                # then the page answers without a 500 and says why nothing was done
                if response.status_code >= 500:
                    failures.append(f"{url} {action} {selection!r}: {response.status_code}")
                elif response.status_code == 302:
                    page = client.get(response["Location"])
                    if "not a row of this list" not in page.content.decode():
                        failures.append(f"{url} {action} {selection!r}: no message")
                else:
                    failures.append(f"{url} {action} {selection!r}: {response.status_code}")
    assert tried > 50
    assert not failures, "\n".join(failures)
    # and nothing was changed or recorded by any action
    assert _model_counts() == before
    assert AuditEvent.objects.count() == events


def test_no_code_reads_digits_with_isdigit_outside_the_input_rules():
    # given every module of the project's apps (Unicode digits pass str.isdigit(), int() of
    # them raises, and the database refuses numbers past its column: jitportal/inputs.py
    # parses ids, pages and keys for everyone)
    root = Path(__file__).resolve().parent.parent
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("apps", "jitportal")
        for path in sorted((root / folder).rglob("*.py"))
        if path.name != "inputs.py" and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.isdigit\(\)|\.isnumeric\(\)|\.isdecimal\(\)", line)
    ]
    # then none reads digits on its own
    assert not offenders, offenders


def test_every_registered_model_admin_is_on_the_portal_site():
    # given the admin site every admin registers on
    # then it is the portal's, whose change lists check a selection before an action
    assert isinstance(admin.site, PortalAdminSite)
    assert apps.get_app_config("admin").default_site.endswith("PortalAdminSite")
