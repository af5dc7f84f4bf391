"""Approval statistics, the dashboard, the SVG helper and the data map."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.access import services
from apps.access.models import Grant
from apps.reports import svg
from apps.reports.approvals import approval_statistics
from apps.reports.dashboard import dashboard_data
from apps.reports.datamap import data_map_build, data_map_svg
from tests.access.factories import AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

T = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def _parse(text):
    return ET.fromstring(text)  # noqa: S314 - the portal's own output, not untrusted input


@pytest.fixture
def decisions(groups, approver, dpo, staff_user, django_capture_on_commit_callbacks):
    asset = DataAssetFactory(name="Customer records")
    role = AccessRoleFactory(
        name="Support read",
        assets=[asset],
        approver_groups=[Group.objects.get(name="Approvers")],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    people = [UserFactory(username=f"clerk{i}", groups=["Staff"]) for i in range(4)]

    def submit(user, at):
        with time_machine.travel(at, tick=False):
            return services.access_request_submit(
                requester=user,
                role=role,
                starts_at=at + timedelta(hours=8),
                ends_at=at + timedelta(hours=10),
                justification="work",
            )

    # approved after 2 h, denied after 4 h, one left pending, one cancelled
    approved = submit(people[0], T)
    with (
        time_machine.travel(T + timedelta(hours=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.access_request_approve(request_id=approved.pk, approver=approver)
    denied = submit(people[1], T)
    with time_machine.travel(T + timedelta(hours=4), tick=False):
        services.access_request_deny(request_id=denied.pk, approver=approver, reason="No ticket")
    submit(people[2], T + timedelta(hours=1))
    cancelled = submit(people[3], T + timedelta(hours=1))
    with time_machine.travel(T + timedelta(hours=1, minutes=5), tick=False):
        services.access_request_cancel(request_id=cancelled.pk, actor=people[3])
    # the approved grant is revoked an hour into its window
    grant = Grant.objects.get(request=approved)
    with time_machine.travel(T + timedelta(hours=9), tick=False):
        services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Not needed")
    # a break-glass use
    with time_machine.travel(T + timedelta(hours=3), tick=False):
        services.grant_break_glass(
            user=dpo, asset=asset, duration=timedelta(hours=1), reason="Outage"
        )
    return {"asset": asset}


def test_approval_statistics(decisions):
    stats = approval_statistics(start=T - timedelta(days=1), end=T + timedelta(days=1))
    assert stats["requests"] == 5
    assert stats["outcomes"] == {
        "pending": 1,
        "approved": 2,  # one by the approver, one break-glass
        "denied": 1,
        "cancelled": 1,
        "lapsed": 0,
    }
    # median of 2 h and 4 h (break-glass is not a decision)
    assert stats["decided"] == 2
    assert stats["median_decision_seconds"] == 3 * 3600
    assert stats["median_decision"] == "3.0 h"
    assert stats["break_glass_uses"] == 1 and stats["break_glass_unreviewed"] == 1
    assert stats["revoked_early"] == 1
    assert stats["revoked_early_rows"][0]["unused_hours"] == 1.0
    [asset] = stats["per_asset"]
    assert asset["asset"] == str(decisions["asset"])
    assert (asset["requests"], asset["approved"], asset["denied"], asset["break_glass"]) == (
        5,
        2,
        1,
        1,
    )
    [approver] = stats["per_approver"]
    assert (approver["approver"], approver["approved"], approver["denied"]) == ("approver", 1, 1)
    assert approver["median_decision_seconds"] == 3 * 3600


def test_statistics_of_an_empty_period(decisions):
    stats = approval_statistics(start=T + timedelta(days=5), end=T + timedelta(days=6))
    assert stats["requests"] == 0 and stats["median_decision"] == "–"
    assert stats["per_asset"] == [] and stats["per_approver"] == []


def test_statistics_page_and_downloads(client, decisions, auditor):
    client.force_login(auditor)
    url = reverse("admin:reports_approvals")
    params = {"start": "2026-05-03", "end": "2026-05-05"}
    body = client.get(url, params).content.decode()
    assert "3.0 h" in body and "Customer records" in body
    rows = list(
        csv.reader(
            io.StringIO(client.get(url, {**params, "format": "csv"}).content.decode("utf-8-sig"))
        )
    )
    assert ["Requests made", "5"] in rows
    wb = openpyxl.load_workbook(io.BytesIO(client.get(url, {**params, "format": "xlsx"}).content))
    assert wb.sheetnames == ["Summary", "Per asset", "Per approver"]
    doc = json.loads(client.get(url, {**params, "format": "json"}).content)
    assert doc["schema"] == "jitportal.approval_statistics" and doc["requests"] == 5
    bad = client.get(url, {"start": "2026-05-05", "end": "2026-05-01"})
    assert "The period ends before it starts." in bad.content.decode()


# --- dashboard ---------------------------------------------------------------------------


def test_dashboard_counts(groups, staff_user):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    asset = DataAssetFactory()
    with time_machine.travel(now, tick=False):
        GrantFactory(
            user=staff_user,
            assets=[asset],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
        )
        GrantFactory(
            assets=[asset], starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2)
        )
        GrantFactory(
            assets=[asset],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=3),
            is_break_glass=True,
            needs_review=True,
        )
    from tests.access.factories import AccessRequestFactory

    AccessRequestFactory(created_at=now - timedelta(minutes=30))
    AccessRequestFactory(created_at=now - timedelta(days=3))
    data = dashboard_data(now=now)
    assert data["live_grants"] == 2
    assert data["break_glass_live"] == 1 and data["break_glass_unreviewed"] == 1
    assert data["pending"] == 2
    assert data["expiring_7d"] == 2 and len(data["expiring_24h"]) == 1
    assert [p["age"] for p in data["pending_oldest"]] == ["3.0 days", "30 min"]
    # the charts are SVG documents that parse
    for key in ("pending_age_chart", "grants_chart", "grants_sparkline", "gaps_chart"):
        root = _parse(str(data[key]))
        assert root.tag.endswith("svg")
    # the grants chart counted the grants that were live on each day
    assert "grants live that day" in str(data["grants_chart"])


def test_dashboard_page_for_approvers(client, approver, ropa_world):
    client.force_login(approver)
    page = client.get(reverse("admin:reports_dashboard"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="live-grants"' in body and "<svg" in body
    # counted as the record of processing counts them: the processor activity apart
    assert "ROPA complete: 1 of 3 controller activities; processor record: 0 of 1" in body
    # no link to reports approvers may not open
    assert reverse("admin:reports_ropa") not in body
    assert "<script" not in body.split('id="content-main"')[1]


# --- SVG helper ----------------------------------------------------------------------------


def test_svg_charts_escape_labels_and_scale():
    chart = str(svg.bar_chart([("<b>&", 3), ("two", 6)], title='x"y'))
    root = _parse(chart)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<b>&" in texts  # the label survives escaping
    widths = [float(r.get("width")) for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert widths[1] == pytest.approx(2 * widths[0])
    line = _parse(str(svg.line_chart({"a": [0, 5, 10]}, ["d1", "d2", "d3"], title="t")))
    points = next(line.iter("{http://www.w3.org/2000/svg}polyline")).get("points").split()
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[0] > ys[1] > ys[2]  # higher values are drawn higher
    spark = _parse(str(svg.sparkline([1, 2, 3], title="s")))
    assert spark.get("width") == "120"
    assert "No data" in str(svg.bar_chart([], title="empty"))


# --- data map ------------------------------------------------------------------------------


def test_data_map_layers_and_special_flows(ropa_world):
    dm = data_map_build()
    layers = {n.key: n.layer for n in dm.nodes.values()}
    assert layers[f"sys:{ropa_world.assets.customer_records.system_id}"] == 0
    assert layers[f"asset:{ropa_world.assets.health_notes.pk}"] == 1
    assert layers[f"pa:{ropa_world.gappy.pk}"] == 2
    assert layers[f"rcp:{ropa_world.recipients.us_vendor.pk}"] == 3
    assert layers["dest:US"] == 4
    # the inactive activity is not drawn
    assert f"pa:{ropa_world.inactive.pk}" not in layers
    # flows of special-category data are marked: health notes -> health outreach
    special = {(a, b) for a, b, s, _ in dm.edges if s}
    assert (f"asset:{ropa_world.assets.health_notes.pk}", f"pa:{ropa_world.gappy.pk}") in special
    assert (
        f"asset:{ropa_world.assets.customer_records.pk}",
        f"pa:{ropa_world.complete.pk}",
    ) not in special
    # the joint activity's transfer goes through its recipient to the US, with its mechanism
    assert (
        f"rcp:{ropa_world.recipients.us_vendor.pk}",
        "dest:US",
        True,
        "Standard contractual clauses (Art. 46(2)(c))",
    ) in dm.edges
    drawing = str(data_map_svg(dm))
    root = _parse(drawing)
    assert len(
        [g for g in root.iter("{http://www.w3.org/2000/svg}g") if "node" in (g.get("class") or "")]
    ) == len(dm.nodes)
    assert 'class="edge special"' in drawing


def test_data_map_filtered_by_activity(ropa_world):
    dm = data_map_build(activity_id=ropa_world.complete.pk)
    assert {n.key for n in dm.nodes.values() if n.layer == 2} == {f"pa:{ropa_world.complete.pk}"}
    assert f"asset:{ropa_world.assets.health_notes.pk}" not in dm.nodes
    only_special = data_map_build(special_only=True)
    assert {n.label for n in only_special.nodes.values() if n.layer == 2} == {
        "Health outreach",
        "Joint research",
    }


def test_data_map_page_and_svg_download(client, ropa_world, dpo):
    client.force_login(dpo)
    url = reverse("admin:reports_datamap")
    page = client.get(url, {"activity": ropa_world.gappy.pk}).content.decode()
    assert "Health outreach" in page and "<svg" in page
    download = client.get(url, {"activity": ropa_world.gappy.pk, "format": "svg"})
    assert download["Content-Type"].startswith("image/svg+xml")
    assert "attachment" in download["Content-Disposition"]
    root = _parse(download.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # an unknown activity is a form error, not a 500
    bad = client.get(url, {"activity": "999999"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()
