"""The approver's journey in a real headless Chromium, with the Content-Security-Policy on:
the purpose beside each request, the queue's filters, revoking from who holds access now,
and the grant list at a laptop's width (1366 px) with no column cut off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from apps.access.models import GrantStatus
from apps.inventory.gdpr import LawfulBasis
from tests.access.factories import AccessRequestFactory, AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, ProcessingActivityFactory, UserFactory

from .csp import csp_watch
from .test_browser import browser, log_in  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(groups):
    """A role the Approvers decide, over one asset."""
    asset = DataAssetFactory(name="Support tickets")
    role = AccessRoleFactory(
        name="Ticket desk",
        assets=[asset],
        approver_groups=[Group.objects.get(name="Approvers")],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    return {"asset": asset, "role": role}


def _page(browser, live_server, user, width=1366, height=768):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": height})
    reports = csp_watch(context)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, live_server.url, user.username)
    return page, reports


def test_the_approver_sees_the_purpose_in_the_queue_and_on_the_decision_page(
    live_server,
    browser,  # noqa: F811
    desk,
    approver,
    tmp_path,
):
    # given a request made for a processing activity
    activity = ProcessingActivityFactory(
        name="Answering customer support requests", lawful_basis=LawfulBasis.CONTRACT
    )
    request = AccessRequestFactory(
        requester=UserFactory(username="sam"), role=desk["role"], processing_activity=activity
    )
    AccessRequestFactory(
        requester=UserFactory(username="a.very-long-username@department.example"),
        role=desk["role"],
        processing_activity=ProcessingActivityFactory(name="Handling escalated complaints " * 3),
        justification="A long justification that goes on and on " * 3,
        ticket="CASE-1234567890123456789",
    )
    page, reports = _page(browser, live_server, approver)
    # when the approver opens the queue
    page.goto(live_server.url + reverse("admin:access_accessrequest_queue"))
    page.screenshot(path=str(tmp_path / "queue-1366.png"))
    # then the row names the purpose and its lawful basis
    row = page.locator(f"#access-queue tr[data-request='{request.pk}']")
    assert row.get_by_text("Answering customer support requests").is_visible()
    assert row.get_by_text("Lawful basis: 6(1)(b) Contract").is_visible()
    # and the queue's table ends inside the page, the decision buttons in view
    table = page.locator("#access-queue").bounding_box()
    assert table["x"] + table["width"] <= 1366
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366 + 1
    deny = row.get_by_role("link", name="Deny").bounding_box()
    assert deny["x"] + deny["width"] <= 1366
    # when they open the decision page
    row.get_by_role("link", name="Approve").click()
    page.wait_for_load_state()
    # then it shows the purpose too, before the form
    purpose = page.locator("#decide-purpose")
    assert purpose.get_by_text("Answering customer support requests").is_visible()
    assert purpose.get_by_text("Lawful basis: 6(1)(b) Contract").is_visible()
    assert not reports, "\n".join(reports)


def test_the_queue_filter_and_search_narrow_the_results(
    live_server,
    browser,  # noqa: F811
    desk,
    approver,
):
    # given three waiting requests, one of them from Rita
    rita = UserFactory(username="rita", first_name="Rita", last_name="Levi")
    wanted = AccessRequestFactory(requester=rita, role=desk["role"], justification="Refund")
    other_role = AccessRoleFactory(
        name="Billing desk",
        assets=[DataAssetFactory(name="Invoices")],
        approver_groups=[Group.objects.get(name="Approvers")],
    )
    AccessRequestFactory(role=desk["role"], justification="Address change")
    AccessRequestFactory(role=other_role, justification="Invoice copy")
    page, reports = _page(browser, live_server, approver)
    page.goto(live_server.url + reverse("admin:access_accessrequest_queue"))
    rows = page.locator("#access-queue tbody tr")
    assert rows.count() == 3
    # when the approver filters by requester
    page.select_option("#queue-filter select[name=requester]", str(rita.pk))
    page.click("#queue-filter input[type=submit]")
    page.wait_for_load_state()
    # then only Rita's request is left
    assert rows.count() == 1
    assert page.locator(f"tr[data-request='{wanted.pk}']").is_visible()
    # when they clear the filters and search for the other role instead
    page.click("#queue-clear")
    page.wait_for_load_state()
    page.fill("#queue-filter input[name=q]", "billing")
    page.click("#queue-filter input[type=submit]")
    page.wait_for_load_state()
    assert rows.count() == 1
    assert rows.first.get_by_text("Role: Billing desk").is_visible()
    # and a search that matches nothing says so and leads back to the whole queue
    page.fill("#queue-filter input[name=q]", "no such thing")
    page.click("#queue-filter input[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#queue-empty").get_by_text("No waiting request matches").is_visible()
    page.get_by_role("link", name="show the whole queue").click()
    page.wait_for_load_state()
    assert rows.count() == 3
    assert not reports, "\n".join(reports)


def test_revoke_from_who_holds_access_now(
    live_server,
    browser,  # noqa: F811
    desk,
    approver,
):
    # given two people holding access now
    holder = UserFactory(username="holder")
    grant = GrantFactory(user=holder, assets=[desk["asset"]])
    kept = GrantFactory(user=UserFactory(username="keeper"), assets=[desk["asset"]])
    page, reports = _page(browser, live_server, approver)
    # when the approver opens who holds access now and revokes one of them, with a reason
    page.goto(live_server.url + reverse("admin:access_grant_holders"))
    page.get_by_role("link", name=f"Revoke grant #{grant.pk}").click()
    page.wait_for_load_state()
    page.fill("textarea[name=reason]", "Moved to another team")
    page.get_by_role("button", name="Revoke now").click()
    page.wait_for_load_state()
    # then they are back on the holders page, which no longer lists the revoked grant
    assert page.url.startswith(live_server.url + reverse("admin:access_grant_holders"))
    assert page.get_by_text(f"Grant #{grant.pk} revoked.").is_visible()
    assert page.get_by_role("link", name=f"Revoke grant #{grant.pk}").count() == 0
    assert page.get_by_role("link", name=f"Revoke grant #{kept.pk}").is_visible()
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED
    assert grant.revoke_reason == "Moved to another team"
    assert not reports, "\n".join(reports)


def test_the_grant_list_fits_1366_px_with_no_column_cut_off(
    live_server,
    browser,  # noqa: F811
    desk,
    approver,
    tmp_path,
):
    # given grants with long names: holders, roles and several assets each
    now = timezone.now()
    assets = [
        DataAssetFactory(name=f"Customer correspondence archive, region {n}") for n in range(3)
    ]
    role = AccessRoleFactory(
        name="Customer support tier two escalations and complaints handling",
        assets=assets,
        approver_groups=[Group.objects.get(name="Approvers")],
    )
    for n in range(4):
        GrantFactory(
            user=UserFactory(username=f"a.very-long-username-{n}@department.example"),
            request__role=role,
            ends_at=now + timedelta(hours=n + 1),
        )
    GrantFactory(
        user=UserFactory(username="past"),
        assets=[desk["asset"]],
        starts_at=now - timedelta(days=3),
        ends_at=now - timedelta(days=2),
        status=GrantStatus.EXPIRED,
    )
    page, reports = _page(browser, live_server, approver, 1366, 768)
    # when the approver (who may revoke: one more column) opens the grant list
    page.goto(live_server.url + reverse("admin:access_grant_changelist"))
    page.screenshot(path=str(tmp_path / "grants-1366.png"), full_page=True)
    table = page.locator("#result_list")
    box = page.locator("#changelist .results")
    # then the table ends inside its box and the page: no column is cut off or scrolled away
    t, b = table.bounding_box(), box.bounding_box()
    assert t["x"] + t["width"] <= b["x"] + b["width"] + 1
    assert t["x"] + t["width"] <= 1366
    assert box.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366 + 1
    # and the last column, Revoke, is in view on every row that has not ended
    revoke = page.locator("#result_list td.field-revoke a")
    assert revoke.count() == 4
    last = revoke.last.bounding_box()
    assert last["x"] + last["width"] <= 1366
    # and the soonest to end is at the top, its id on one line
    first = page.locator("#result_list tbody tr").first
    assert (
        "a.very-long-username-0@department.example" in first.locator(".field-holder").inner_text()
    )
    assert first.locator(".field-id a").bounding_box()["height"] < 30
    # and who holds access now fits as well, its Revoke in view
    page.goto(live_server.url + reverse("admin:access_grant_holders"))
    page.screenshot(path=str(tmp_path / "holders-1366.png"), full_page=True)
    holders = page.locator("#holders").bounding_box()
    assert holders["x"] + holders["width"] <= 1366
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366 + 1
    assert page.locator("#holders a.jp-revoke").count() == 4
    assert not reports, "\n".join(reports)
