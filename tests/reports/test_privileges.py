"""Standing privileges: permissions on personal data that no live grant stands behind."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.reports.privileges import standing_privileges
from tests.access.factories import GrantFactory
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db


def _perm(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _kinds(findings, who) -> set[str]:
    return {f["kind"] for f in findings if f["who"] == who}


@pytest.fixture
def crm_asset(db):
    from django.contrib.contenttypes.models import ContentType

    from apps.crm.models import Customer

    return DataAssetFactory(
        name="Customers", governed_model=ContentType.objects.get_for_model(Customer)
    )


def test_each_kind_of_standing_privilege_is_found(groups, crm_asset):
    # given a superuser
    UserFactory(username="root", is_superuser=True, is_staff=True)
    # a user given permissions directly on governed rows and on the inventory
    direct = UserFactory(username="direct")
    direct.user_permissions.add(_perm("crm.view_customer"), _perm("inventory.change_dataasset"))
    # a group holding the asset-wide data permission as a model permission
    analysts = Group.objects.create(name="Analysts")
    analysts.permissions.add(_perm("inventory.view_data"))
    UserFactory(username="analyst", groups=["Analysts"])
    # a guardian row without a grant, and one backed by a live grant
    orphan = UserFactory(username="orphan")
    assign_perm("inventory.export_data", orphan, crm_asset)
    holder = UserFactory(username="holder")
    GrantFactory(user=holder, assets=[crm_asset])
    assign_perm("inventory.view_data", holder, crm_asset)
    # a group object permission on an asset
    assign_perm("inventory.view_data", analysts, crm_asset)
    # staff who reach governed rows through a group; a non-staff member of it does not count
    support = Group.objects.create(name="Support desk")
    support.permissions.add(_perm("crm.change_customer"))
    UserFactory(username="deskstaff", is_staff=True, groups=["Support desk"])
    UserFactory(username="desknonstaff", groups=["Support desk"])
    # an inactive superuser is no privilege
    UserFactory(username="gone", is_superuser=True, is_active=False)

    # when the report runs
    findings = standing_privileges(now=timezone.now())

    # then each is found, once, with what and why
    assert _kinds(findings, "root") == {"superuser"}
    assert _kinds(findings, "direct") == {"direct_permission"}
    assert {f["permission"] for f in findings if f["who"] == "direct"} == {
        "crm.view_customer",
        "inventory.change_dataasset",
    }
    analyst = [f for f in findings if f["who"] == "analyst"]
    assert [(f["kind"], f["permission"]) for f in analyst] == [
        ("model_data_permission", "inventory.view_data")
    ]
    assert "through group Analysts" in analyst[0]["detail"]
    [orphaned] = [f for f in findings if f["who"] == "orphan"]
    assert orphaned["kind"] == "orphan_object_permission"
    assert orphaned["permission"] == "inventory.export_data"
    assert orphaned["object"] == str(crm_asset)
    assert "holder" not in {f["who"] for f in findings}
    [group_row] = [f for f in findings if f["kind"] == "group_object_permission"]
    assert group_row["who"] == "group Analysts" and "every member (1)" in group_row["detail"]
    [desk] = [f for f in findings if f["who"] == "deskstaff"]
    assert desk["kind"] == "staff_governed_model_permission"
    assert desk["permission"] == "crm.change_customer (group Support desk)"
    assert "desknonstaff" not in {f["who"] for f in findings}
    assert "gone" not in {f["who"] for f in findings}


def test_a_mirror_row_left_behind_after_the_grant_ends_is_found(groups, crm_asset):
    # given a live grant with its guardian mirror row
    holder = UserFactory(username="holder")
    grant = GrantFactory(user=holder, assets=[crm_asset], can_change=True)
    assign_perm("inventory.view_data", holder, crm_asset)
    assign_perm("inventory.change_data", holder, crm_asset)
    assert not standing_privileges(now=timezone.now())
    # when the window has passed and nobody removed the rows
    later = grant.ends_at + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        findings = standing_privileges(now=later)
    # then both rows are standing privileges
    assert sorted(f["permission"] for f in findings) == [
        "inventory.change_data",
        "inventory.view_data",
    ]
    assert {f["kind"] for f in findings} == {"orphan_object_permission"}


def test_a_grant_for_viewing_does_not_cover_a_change_row(groups, crm_asset):
    holder = UserFactory(username="holder")
    GrantFactory(user=holder, assets=[crm_asset], can_view=True, can_change=False)
    assign_perm("inventory.change_data", holder, crm_asset)
    [finding] = standing_privileges(now=timezone.now())
    assert finding["permission"] == "inventory.change_data"


def test_the_portals_own_groups_hold_no_standing_privilege(dpo, approver, auditor, staff_user):
    # The groups the apps declare reach governed data only through grants.
    assert standing_privileges(now=timezone.now()) == []


def test_page_and_downloads(client, groups, auditor, crm_asset):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(auditor)
    url = reverse("admin:reports_privileges")
    page = client.get(url).content.decode()
    assert "root" in page and "Superuser" in page
    doc = json.loads(client.get(url, {"format": "json"}).content)
    assert doc["schema"] == "jitportal.standing_privileges"
    assert any(f["who"] == "root" for f in doc["findings"])
    assert (
        client.get(url, {"format": "csv"})
        .content.decode("utf-8-sig")
        .startswith("Finding,User or group,Permission,Object,Why it is standing")
    )
    assert client.get(url, {"format": "xlsx"}).status_code == 200
