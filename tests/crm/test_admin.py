"""The admin of the governed rows: for anyone but a superuser, only under a live grant."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.crm.models import Customer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:crm_customer_changelist"
TICKETS = "admin:crm_supportticket_changelist"


@pytest.fixture
def admin_approver(client, approver):
    client.force_login(approver)
    return client


def test_no_grant_no_admin_pages(admin_approver, crm_role, ada):
    # given an approver (admin user) without a grant on the customers
    changelist = admin_approver.get(reverse(CHANGELIST))
    change = admin_approver.get(reverse("admin:crm_customer_change", args=[ada.pk]))
    index = admin_approver.get(reverse("admin:index"))
    # then the pages refuse and the CRM is not even listed
    assert changelist.status_code == 403
    assert change.status_code in (302, 403)
    assert reverse(CHANGELIST) not in index.content.decode()
    assert not AuditEvent.objects.filter(action__startswith="access.record").exists()


def test_live_grant_opens_the_admin_read_only(admin_approver, approver, crm_role, grant_on, ada):
    # given a live view-only grant on the customers and their tickets
    grant = grant_on(approver, role=crm_role)
    # when the approver opens the change list, a change page, search and filters
    changelist = admin_approver.get(reverse(CHANGELIST))
    searched = admin_approver.get(reverse(CHANGELIST), {"q": "Lovelace", "status__exact": "active"})
    change = admin_approver.get(reverse("admin:crm_customer_change", args=[ada.pk]))
    tickets = admin_approver.get(reverse(TICKETS))
    # then they open, read only: no save, no add, no delete
    assert changelist.status_code == searched.status_code == change.status_code == 200
    assert tickets.status_code == 200
    assert list(searched.context["cl"].result_list) == [ada]
    html = change.content.decode()
    assert "Ada Lovelace" in html
    assert 'name="_save"' not in html
    assert admin_approver.get(reverse("admin:crm_customer_add")).status_code == 403
    delete = admin_approver.get(reverse("admin:crm_customer_delete", args=[ada.pk]))
    assert delete.status_code == 403
    # the Customers asset holds Art. 9 data, so its notes are shown under this grant
    assert "Hearing impaired" in html
    # and the views are logged under the grant
    viewed = AuditEvent.objects.get(action="access.record.viewed", target_type="crm.customer")
    assert viewed.data["grant"] == grant.pk and viewed.actor == approver
    listed = AuditEvent.objects.filter(action="access.records.listed", data__model="crm.customer")
    assert listed.count() == 2
    assert all(event.data["grant"] == grant.pk for event in listed)


def test_a_view_only_grant_cannot_change(admin_approver, approver, crm_role, grant_on, ada):
    grant_on(approver, role=crm_role)
    response = admin_approver.post(
        reverse("admin:crm_customer_change", args=[ada.pk]),
        {"external_ref": ada.external_ref, "full_name": "Changed", "status": "active"},
    )
    assert response.status_code == 403
    ada.refresh_from_db()
    assert ada.full_name == "Ada Lovelace"


def test_admin_refused_after_the_end(admin_approver, approver, crm_role, grant_on, ada):
    grant = grant_on(approver, role=crm_role, hours=1)
    assert admin_approver.get(reverse(CHANGELIST)).status_code == 200
    with time_machine.travel(grant.ends_at + timedelta(seconds=1)):
        assert admin_approver.get(reverse(CHANGELIST)).status_code == 403
        change = admin_approver.get(reverse("admin:crm_customer_change", args=[ada.pk]))
        assert change.status_code in (302, 403)


def test_health_notes_hidden_under_an_ordinary_grant(
    admin_approver, approver, contacts_asset, grant_on, ada
):
    grant_on(approver, asset=contacts_asset)
    response = admin_approver.get(reverse("admin:crm_customer_change", args=[ada.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada Lovelace" in html
    assert "Hearing impaired" not in html
    # tickets are another asset: no inline for them, and no ticket admin
    assert "Invoice shows the wrong amount" not in html
    assert admin_approver.get(reverse(TICKETS)).status_code == 403


def test_superuser_reads_without_a_grant_and_is_logged(client, ada):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.get(reverse(CHANGELIST)).status_code == 200
    response = client.get(reverse("admin:crm_customer_change", args=[ada.pk]))
    assert response.status_code == 200
    assert "Hearing impaired" in response.content.decode()
    event = AuditEvent.objects.get(action="access.record.viewed_as_superuser")
    assert event.actor == root and event.target_id == str(ada.pk)
    assert AuditEvent.objects.filter(action="access.records.listed_as_superuser").exists()


def test_staff_without_admin_access_cannot_use_it_even_with_a_grant(
    client, staff_user, crm_role, grant_on, ada
):
    # given a grant, but no admin account (is_staff off)
    grant_on(staff_user, role=crm_role)
    client.force_login(staff_user)
    response = client.get(reverse(CHANGELIST))
    # then the admin sends them to its login
    assert response.status_code == 302
    assert Customer.objects.count() == 1
