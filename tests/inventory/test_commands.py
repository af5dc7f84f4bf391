"""The setup_groups command: the groups with exactly the permissions the apps declare."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.inventory.roles import ALL_GROUPS

pytestmark = pytest.mark.django_db


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


def test_setup_groups_creates_missing_permissions_first():
    # given a database whose model permissions are gone (flushed without post-migrate)
    from django.contrib.auth.models import Permission

    Permission.objects.filter(content_type__app_label="inventory").delete()
    # when the command runs
    call_command("setup_groups", "--quiet-perms", stdout=StringIO())
    # then the permissions are back and the groups hold them
    dpo = Group.objects.get(name="DPO")
    assert dpo.permissions.filter(codename="change_dataasset").exists()
    assert Permission.objects.filter(content_type__app_label="inventory").count() > 20
