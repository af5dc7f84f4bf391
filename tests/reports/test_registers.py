"""Access registers over time-travelled grants made through the access services."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.access import services
from apps.access.models import Grant
from apps.reports.registers import REGISTER_COLUMNS, access_register
from jitportal.formats import datetime_display
from tests.access.factories import AccessRoleFactory
from tests.factories import DataAssetFactory, ProcessingActivityFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _at(days: float, hours: float = 0) -> datetime:
    return DAY1 + timedelta(days=days, hours=hours)


@pytest.fixture
def history(groups, approver, dpo, staff_user, django_capture_on_commit_callbacks):
    """Three weeks of access to one asset, and one grant on another asset."""
    asset = DataAssetFactory(name="Customer records")
    other = DataAssetFactory(name="Invoices")
    role = AccessRoleFactory(
        name="Support read",
        assets=[asset],
        approver_groups=[Group.objects.get(name="Approvers")],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    invoices = AccessRoleFactory(
        name="Invoices read",
        assets=[other],
        approver_groups=[Group.objects.get(name="Approvers")],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    purpose = ProcessingActivityFactory(name="Customer support")
    alice = UserFactory(username="alice", groups=["Staff"])

    def grant(user, role, start, hours, why, **kw):
        with time_machine.travel(start - timedelta(minutes=30), tick=False):
            request = services.access_request_submit(
                requester=user,
                role=role,
                starts_at=start,
                ends_at=start + timedelta(hours=hours),
                justification=why,
                **kw,
            )
            with django_capture_on_commit_callbacks(execute=True):
                services.access_request_approve(
                    request_id=request.pk, approver=approver, comment="fine"
                )
        return Grant.objects.get(request=request)

    first = grant(staff_user, role, _at(0), 4, "Complaint #1", processing_activity=purpose)
    second = grant(alice, role, _at(1), 6, "Refund check")
    with time_machine.travel(_at(1, 2), tick=False):
        services.grant_revoke(grant_id=second.pk, actor=approver, reason="Done early")
    with time_machine.travel(_at(2), tick=False):
        glass = services.grant_break_glass(
            user=dpo, asset=asset, duration=timedelta(hours=1), reason="Regulator deadline"
        )
    elsewhere = grant(staff_user, invoices, _at(2), 2, "Invoice query")
    later = grant(alice, role, _at(20), 2, "Much later")
    return {
        "asset": asset,
        "other": other,
        "alice": alice,
        "first": first,
        "second": second,
        "glass": glass,
        "elsewhere": elsewhere,
        "later": later,
    }


def test_asset_register_over_a_period(history, staff_user, approver, dpo):
    # when the register of the asset is read for the first three days
    rows = access_register(
        start=_at(0, -9), end=_at(3, -9), now=_at(30), asset_id=history["asset"].pk
    )
    # then the three grants of those days are there, in order, and not the later one
    assert [r["grant"] for r in rows] == [
        history["first"].pk,
        history["second"].pk,
        history["glass"].pk,
    ]
    first, second, glass = rows
    # who, when, why, who approved, which policy
    assert first["user"] == staff_user.username
    assert first["held_from"] == _at(0) and first["held_until"] == _at(0, 4)
    assert first["justification"] == "Complaint #1"
    assert first["purpose"] == "Customer support"
    assert first["approved_by"] == f"approver at {datetime_display(_at(0, -0.5))}: fine"
    assert first["decided_by"] == "approver"
    assert first["policy"] == "Support read"
    assert "1 approval(s)" in first["policy_terms"]
    assert first["ended"] == "expired at the end of its window"
    assert first["rights"] == "view"
    # a revoked grant is held until it was revoked, and says by whom and why
    assert second["held_until"] == _at(1, 2)
    assert second["ended"] == "revoked by approver: Done early"
    # break-glass: nobody approved, flagged
    assert glass["break_glass"] == "yes"
    assert glass["approved_by"] == "nobody: break-glass, self-granted"
    assert glass["user"] == dpo.username
    assert glass["policy"] == "direct request for the asset"


def test_period_boundaries(history):
    asset = history["asset"].pk
    # a period on day 2 from 10:00 to 11:00 only overlaps the revoked grant (held 09-11)
    rows = access_register(start=_at(1, 1), end=_at(1, 2), now=_at(30), asset_id=asset)
    assert [r["grant"] for r in rows] == [history["second"].pk]
    # after it was revoked, it is not in the register any more
    rows = access_register(start=_at(1, 2), end=_at(1, 6), now=_at(30), asset_id=asset)
    assert rows == []


def test_user_register_spans_assets(history, staff_user):
    rows = access_register(start=_at(-1), end=_at(10), now=_at(30), user_id=staff_user.pk)
    assert [r["grant"] for r in rows] == [history["first"].pk, history["elsewhere"].pk]
    assert rows[1]["assets"].endswith("Invoices")


def test_live_and_scheduled_grants_say_so(history):
    asset = history["asset"].pk
    # as seen during the later grant's window
    with time_machine.travel(_at(20, 1), tick=False):
        rows = access_register(start=_at(19), end=_at(21), now=_at(20, 1), asset_id=asset)
    assert rows[0]["ended"] == "still live"
    rows = access_register(start=_at(19), end=_at(21), now=_at(19), asset_id=asset)
    assert rows[0]["ended"] == "scheduled"


def test_register_pages_and_downloads(client, history, auditor):
    client.force_login(auditor)
    url = reverse("admin:reports_asset_register")
    params = {"asset": history["asset"].pk, "start": "2026-03-01", "end": "2026-03-04"}
    page = client.get(url, params)
    assert page.status_code == 200
    body = page.content.decode()
    assert "3 grants for" in body and "Complaint #1" in body and "break-glass" in body
    # CSV
    rows = list(
        csv.reader(
            io.StringIO(client.get(url, {**params, "format": "csv"}).content.decode("utf-8-sig"))
        )
    )
    assert rows[0] == [label for _, label in REGISTER_COLUMNS]
    assert len(rows) == 4
    # XLSX
    xlsx = client.get(url, {**params, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    values = [r for r in sheet.iter_rows(values_only=True) if r and r[0] is not None]
    assert values[0][0] == "Access register"
    assert any(r[0] == history["first"].pk for r in values)
    # JSON
    doc = json.loads(client.get(url, {**params, "format": "json"}).content)
    assert doc["schema"] == "jitportal.access_register"
    assert [g["grant"] for g in doc["grants"]] == [
        history["first"].pk,
        history["second"].pk,
        history["glass"].pk,
    ]
    # the person register
    page = client.get(
        reverse("admin:reports_user_register"),
        {"user": history["alice"].pk, "start": "2026-03-01", "end": "2026-03-31"},
    )
    assert "2 grants for alice" in page.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"asset": "999999"}, "Select a valid choice"),
        ({"asset": "", "start": "2026-01-01"}, "This field is required"),
        ({"start": "2026-03-05", "end": "2026-03-01"}, "The period ends before it starts."),
        ({"start": "1990-01-01", "end": "2026-03-01"}, "at most ten years"),
        ({"start": "yesterday"}, "Enter a valid date"),
    ],
)
def test_bad_register_input_is_explained(client, history, auditor, params, message):
    client.force_login(auditor)
    if "asset" not in params:
        params = {**params, "asset": history["asset"].pk}
    page = client.get(reverse("admin:reports_asset_register"), params)
    assert page.status_code == 200
    assert message in page.content.decode()
