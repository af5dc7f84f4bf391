from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.test import override_settings

from apps.crm.management.commands.load_demo import optional_loader
from apps.crm.models import Customer
from apps.inventory import models as inv
from apps.inventory.demo import DEMO_USERS, load_inventory_demo
from apps.inventory.roles import ALL_GROUPS

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


# --- setup_groups ---------------------------------------------------------------------------


def test_setup_groups_creates_groups_and_prints_their_permissions():
    # given no groups at all
    Group.objects.all().delete()
    out = StringIO()
    # when the command runs
    call_command("setup_groups", stdout=out)
    text = out.getvalue()
    # then the four groups exist and each is listed with its permissions
    assert set(ALL_GROUPS) <= set(Group.objects.values_list("name", flat=True))
    for name in ALL_GROUPS:
        assert f"{name}: " in text
    assert "  inventory.add_processingactivity" in text
    assert "Staff: 0 permissions" in text and "no admin access" in text
    dpo = Group.objects.get(name="DPO")
    assert dpo.permissions.filter(codename="change_dataasset").exists()
    approvers = Group.objects.get(name="Approvers")
    assert approvers.permissions.filter(codename="view_dataasset").exists()
    assert not approvers.permissions.filter(codename="change_dataasset").exists()


def test_setup_groups_removes_permissions_nobody_declared():
    # given a permission added to the Approvers group by hand
    call_command("setup_groups", stdout=StringIO())
    approvers = Group.objects.get(name="Approvers")
    from django.contrib.auth.models import Permission

    approvers.permissions.add(Permission.objects.get(codename="delete_system"))
    # when the command runs again
    call_command("setup_groups", "--quiet-perms", stdout=StringIO())
    # then the group has exactly what the apps declare
    assert not approvers.permissions.filter(codename="delete_system").exists()


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


def test_optional_loader_skips_what_does_not_exist_and_finds_what_does():
    assert optional_loader("apps.nowhere.demo", "load_nowhere_demo") is None
    assert optional_loader("apps.inventory.demo", "load_nothing") is None
    assert optional_loader("apps.inventory.demo", "load_inventory_demo") is load_inventory_demo


def test_optional_loader_does_not_hide_a_broken_import(tmp_path, monkeypatch):
    # given a demo module that exists but imports something missing
    package = tmp_path / "brokenapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "demo.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # then the error surfaces instead of the loader being skipped
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
        optional_loader("brokenapp.demo", "load_brokenapp_demo")
