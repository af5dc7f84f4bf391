"""The record of processing in a real browser: wide, so it scrolls sideways with the activity
in view, at a laptop's width and a phone's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.e2e.test_browser import browser, log_in  # noqa: F401 (fixture)
from tests.factories import OrganisationFactory, ProcessingActivityFactory

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
