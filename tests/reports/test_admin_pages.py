"""Every report page: who may open it, and that it renders and downloads."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from django.urls import reverse

from apps.reports.models import RopaSnapshot

pytestmark = pytest.mark.django_db

ROPA_PAGES = [
    "admin:reports_ropa",
    "admin:reports_ropa_processor",
    "admin:reports_ropa_print",
    "admin:reports_datamap",
    "admin:reports_ropasnapshot_changelist",
    "admin:reports_ropasnapshot_compare",
]
REGISTER_PAGES = [
    "admin:reports_asset_register",
    "admin:reports_user_register",
    "admin:reports_privileges",
    "admin:reports_approvals",
]
ALL_PAGES = [
    "admin:reports_dashboard",
    "admin:reports_report_changelist",
    *ROPA_PAGES,
    *REGISTER_PAGES,
]


@pytest.mark.parametrize("name", ALL_PAGES)
def test_dpo_and_auditor_open_every_page(client, ropa_world, dpo, auditor, name):
    for user in (dpo, auditor):
        client.force_login(user)
        response = client.get(reverse(name))
        assert response.status_code == 200, (user, name)


@pytest.mark.parametrize("name", ROPA_PAGES + REGISTER_PAGES)
def test_approvers_get_403_on_reports(client, approver, name):
    client.force_login(approver)
    assert client.get(reverse(name)).status_code == 403


def test_approvers_see_the_dashboard_only(client, approver):
    client.force_login(approver)
    assert client.get(reverse("admin:reports_dashboard")).status_code == 200
    hub = client.get(reverse("admin:reports_report_changelist"))
    assert hub.status_code == 200
    assert reverse("admin:reports_dashboard").encode() in hub.content
    assert reverse("admin:reports_ropa").encode() not in hub.content
    # the admin index links the reports for them
    index = client.get(reverse("admin:index"))
    assert reverse("admin:reports_report_changelist").encode() in index.content


@pytest.mark.parametrize("name", ALL_PAGES)
def test_people_outside_the_admin_are_sent_to_login(client, staff_user, name):
    client.force_login(staff_user)
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.logout()
    assert client.get(reverse(name)).status_code == 302


def test_staff_without_report_permissions_get_403(client, db):
    from tests.factories import UserFactory

    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    for name in (
        "admin:reports_ropa",
        "admin:reports_dashboard",
        "admin:reports_report_changelist",
    ):
        assert client.get(reverse(name)).status_code == 403
    assert (
        reverse("admin:reports_report_changelist").encode()
        not in client.get(reverse("admin:index")).content
    )


def test_admin_index_links_the_reports_for_the_dpo(client, dpo):
    client.force_login(dpo)
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:reports_report_changelist") in index
    hub = client.get(reverse("admin:reports_report_changelist")).content.decode()
    for name in (
        "admin:reports_ropa",
        "admin:reports_asset_register",
        "admin:reports_privileges",
        "admin:reports_approvals",
        "admin:reports_datamap",
        "admin:reports_dashboard",
        "admin:audit_auditevent_verify",
        "admin:audit_auditevent_export",
    ):
        assert reverse(name) in hub, name


def test_ropa_page_shows_summary_gaps_and_downloads(client, ropa_world, auditor):
    client.force_login(auditor)
    page = client.get(reverse("admin:reports_ropa")).content.decode()
    assert "Health outreach" in page and "Customer accounts" in page
    assert 'class="cell-missing"' in page
    assert "overdue since 2020-05-01" in page
    assert "Take snapshot" not in page  # auditors cannot freeze
    xlsx = client.get(reverse("admin:reports_ropa"), {"format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("admin:reports_ropa"), {"format": "csv"}).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert len(rows) == 4
    doc = json.loads(
        client.get(reverse("admin:reports_ropa_processor"), {"format": "json"}).content
    )
    assert doc["record"] == "processor"
    printable = client.get(reverse("admin:reports_ropa_print"))
    assert (
        printable["Content-Type"].startswith("text/html") and b"@media print" in printable.content
    )
    bad = client.get(reverse("admin:reports_ropa"), {"format": "docx"})
    assert bad.status_code == 302
    assert not RopaSnapshot.objects.exists()


def test_dpo_sees_the_snapshot_button(client, ropa_world, dpo):
    client.force_login(dpo)
    assert b"Take snapshot" in client.get(reverse("admin:reports_ropa")).content


def test_the_report_model_has_no_row_pages(client, dpo):
    # Report has no table: only the hub and the report pages exist under it.
    client.force_login(dpo)
    for url in (
        "/admin/reports/report/1/change/",
        "/admin/reports/report/add/",
        "/admin/reports/report/1/delete/",
        "/admin/reports/report/1/history/",
    ):
        assert client.get(url).status_code == 404, url
