"""Layout in a real browser, at a laptop's width (1366 px) and a phone's (390 px): wide tables
scroll inside their own box with what names a row in view, cards keep their tables, headers
wrap instead of cutting links off."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.access.factories import AccessRequestFactory, AccessRoleFactory
from tests.e2e.test_browser import browser, log_in  # noqa: F401 (fixture)
from tests.factories import OrganisationFactory, ProcessingActivityFactory, UserFactory
from tests.reports.conftest import ropa_world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_the_ropa_table_scrolls_sideways_with_the_activity_in_view(
    live_server,
    browser,  # noqa: F811
    dpo,
    width,
    height,
    tmp_path,
):
    # given a record with an activity whose texts are long
    OrganisationFactory()
    ProcessingActivityFactory(
        name="Customer accounts",
        reference="PA-001",
        purposes="Running customer accounts, billing, and answering questions " * 4,
        security_measures="MFA, encryption at rest, least privilege, logging " * 4,
    )
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(20_000)
    log_in(page, live_server.url, dpo.username)
    # when the DPO opens the record and scrolls the table to its last column
    page.goto(live_server.url + reverse("admin:reports_ropa"))
    box = page.locator(".rp-scroll.rp-ropa")
    box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    page.screenshot(path=str(tmp_path / f"ropa-{width}.png"), full_page=False)
    row = page.locator("table.ropa tbody tr").first
    name_cell = row.locator("td").nth(1)
    # then the table did scroll, inside its own box and not the page
    assert box.evaluate("el => el.scrollLeft") > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    # and the activity's reference and name are still in view at the left of the box
    box_left = box.bounding_box()["x"]
    cell = name_cell.bounding_box()
    assert "Customer accounts" in name_cell.inner_text()
    assert box_left <= cell["x"] <= box_left + 120
    # and rows stay short enough to read (wide cells, not 31 squeezed columns)
    assert cell["height"] < 320


def _page(browser, live_server, user, width, height):  # noqa: F811
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(20_000)
    log_in(page, live_server.url, user.username)
    return page


def _page_does_not_scroll_sideways(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_dashboard_tables_stay_inside_their_cards(
    live_server,
    browser,  # noqa: F811
    dpo,
    width,
    height,
):
    # given requests waiting from people and for roles with long names
    for n in range(3):
        AccessRequestFactory(
            requester=UserFactory(username=f"a.very-long-username-{n}@department.example"),
            role=AccessRoleFactory(name=f"Customer support tier two escalations, region {n}"),
        )
    page = _page(browser, live_server, dpo, width, height)
    # when the DPO opens the dashboard
    page.goto(live_server.url + reverse("admin:reports_dashboard"))
    # then every table ends inside its panel, and the page does not scroll sideways
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('.rp-panel table')].filter(t => {
            const panel = t.closest('.rp-panel').getBoundingClientRect();
            return t.getBoundingClientRect().right > panel.right + 1;
        }).length"""
    )
    assert overflow == 0
    _page_does_not_scroll_sideways(page, width)


@pytest.mark.usefixtures("ropa_world")
def test_the_data_map_fits_the_page_without_a_box_of_its_own(
    live_server,
    browser,  # noqa: F811
    dpo,
):
    page = _page(browser, live_server, dpo, 1366, 768)
    page.goto(live_server.url + reverse("admin:reports_datamap"))
    box = page.locator(".rp-map")
    drawing = box.locator("svg").first.bounding_box()
    outer = box.bounding_box()
    # the last column is in view: the drawing is no wider than its box, and the box does not
    # scroll in either direction
    assert drawing["x"] + drawing["width"] <= outer["x"] + outer["width"] + 1
    assert box.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    assert box.evaluate("el => el.scrollHeight <= el.clientHeight + 1")
    _page_does_not_scroll_sideways(page, 1366)


@pytest.mark.parametrize("width", [390, 1366])
def test_the_portal_header_wraps_and_log_out_stays_in_view(
    live_server,
    browser,  # noqa: F811
    staff_user,
    width,
    tmp_path,
):
    page = _page(browser, live_server, staff_user, width, 844)
    page.goto(live_server.url + reverse("portal-home"))
    page.screenshot(path=str(tmp_path / f"home-{width}.png"))
    log_out = page.get_by_role("button", name="Log out").bounding_box()
    assert log_out["x"] >= 0 and log_out["x"] + log_out["width"] <= width
    _page_does_not_scroll_sideways(page, width)
