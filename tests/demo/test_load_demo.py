"""The load_demo command: refuses without DEBUG, prints the logins, changes nothing twice."""

from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.test import override_settings

from apps.crm.models import Customer
from apps.demo.inventory import DEMO_USERS
from apps.inventory import models as inv

pytestmark = pytest.mark.django_db

User = get_user_model()


def _counts():
    """Rows in every table of every installed app (through tables included)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in django_apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def _load_demo(*args):
    out = StringIO()
    call_command("load_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


# --- load_demo ------------------------------------------------------------------------------


def test_load_demo_refuses_when_debug_is_off():
    # given production-like settings (DEBUG off, as in the test settings)
    with override_settings(DEBUG=False):
        before = _counts()
        # when the demo is loaded without --force
        with pytest.raises(CommandError, match="--force"):
            _load_demo()
    # then nothing was created
    assert _counts() == before
    assert not User.objects.filter(username="dpo").exists()


@override_settings(DEBUG=False, PORTAL_BASE_URL="https://jit.example.org")
def test_load_demo_runs_with_force_and_prints_logins():
    text = _load_demo("--force")
    assert "Portal: https://jit.example.org/" in text
    for user in DEMO_USERS:
        assert user.username in text and user.password in text


@override_settings(DEBUG=True)
def test_load_demo_twice_changes_nothing_the_second_time():
    # given the demo loaded once
    _load_demo()
    first = _counts()
    # when it is loaded again
    text = _load_demo()
    # then no table gained or lost a row (auditlog's LogEntry included: nothing was
    # saved with a change), and it says so
    assert _counts() == first
    assert "already loaded" in text
    # and the CRM's own loader ran after the inventory's (its rows are there once)
    assert Customer.objects.exists()
    assert (
        inv.ProcessingActivity.objects.values("name").distinct().count()
        == first["inventory.ProcessingActivity"]
    )


@override_settings(DEBUG=True)
def test_demo_users_log_in_with_the_printed_passwords(client):
    _load_demo()
    for spec in DEMO_USERS:
        user = User.objects.get(username=spec.username)
        assert user.check_password(spec.password)
        assert set(user.groups.values_list("name", flat=True)) >= set(spec.groups)
        assert user.is_staff == spec.is_staff and user.is_superuser == spec.is_superuser
    assert client.login(request=HttpRequest(), username="dpo", password="dpo-demo-pass")
    assert client.get("/admin/inventory/processingactivity/").status_code == 200
    client.logout()
    assert client.login(request=HttpRequest(), username="staff", password="staff-demo-pass")
    assert client.get("/admin/inventory/processingactivity/").status_code == 302


@override_settings(DEBUG=True)
def test_load_demo_resets_a_changed_demo_password():
    _load_demo()
    dpo = User.objects.get(username="dpo")
    dpo.set_password("something-else")
    dpo.save()
    text = _load_demo()
    dpo.refresh_from_db()
    assert dpo.check_password("dpo-demo-pass")
    assert "reset the demo password of dpo" in text
