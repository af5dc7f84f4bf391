"""The API reference (Swagger UI) in a real headless Chromium under the portal's
Content-Security-Policy: it renders the schema with no violation and no console error."""

from __future__ import annotations

import pytest

from tests.e2e.csp import csp_watch
from tests.e2e.test_browser import browser  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_reference_renders_offline_without_a_csp_violation(live_server, browser):  # noqa: F811
    # given a browser that may reach nothing but the portal (no CDN)
    context = browser.new_context()
    reports = csp_watch(context)
    outside: list[str] = []

    def only_the_portal(route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_portal)
    page = context.new_page()
    page.set_default_timeout(20_000)
    # when the reference is opened
    page.goto(f"{live_server.url}/api/docs/")
    # then Swagger UI renders the portal's schema, its operations listed
    page.wait_for_selector("text=/api/queue/{id}/approve/")
    assert page.locator(".opblock").count() > 25
    # with nothing blocked by the policy and nothing fetched from elsewhere
    assert not reports, "\n".join(reports)
    assert not outside, outside
    context.close()
