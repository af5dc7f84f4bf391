"""Every page in a real headless Chromium with the Content-Security-Policy on: the browser
reports no violation and no console error (inline script or style would be blocked)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from apps.crm.models import Customer, SupportTicket
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.urlwalk import plain_urls

from .csp import csp_watch
from .test_browser import browser  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Pages that stream a download instead of rendering a page, or end the session.
_SKIP = {"/accounts/logout/", "/admin/logout/", "/reports/audit/events/", "/admin/jsi18n/"}


def test_every_page_renders_without_a_csp_violation(live_server, browser, groups):  # noqa: F811
    root = UserFactory(username="root", is_staff=True, is_superuser=True, groups=["DPO"])
    customer = Customer.objects.create(external_ref="CSP-1", full_name="Grace Hopper")
    ticket = SupportTicket.objects.create(customer=customer, subject="Hello", body="Body")
    context = browser.new_context()
    reports = csp_watch(context)
    page = context.new_page()
    page.set_default_timeout(20_000)
    base = live_server.url

    # the login pages, before signing in
    for url in ("/accounts/login/", "/admin/login/"):
        page.goto(base + url)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", root.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    # every page mounted on the site, plus change pages that load the admin's widgets
    urls = [u for u in plain_urls() if u not in _SKIP]
    urls += [
        f"/admin/crm/customer/{customer.pk}/change/",
        f"/admin/crm/supportticket/{ticket.pk}/change/",
        f"/admin/auth/user/{root.pk}/change/",
    ]
    visited = 0
    unrendered = []
    for url in urls:
        try:
            page.goto(base + url)
        except PlaywrightError as error:
            unrendered.append((url, str(error).splitlines()[0]))
            # The failed navigation goes on to Chromium's error page on its own; a new tab
            # (same context: same session, same CSP listener) keeps it from cutting into the
            # next page's navigation.
            page.close()
            page = context.new_page()
            page.set_default_timeout(20_000)
            continue
        page.wait_for_load_state("load")
        visited += 1
    # Only answers with nothing to render are skipped: an error status with an empty body
    # (405 to GET, a JSON endpoint's 4xx) or a download. Anything else is a page that failed.
    others = [
        (url, message)
        for url, message in unrendered
        if "ERR_HTTP_RESPONSE_CODE_FAILURE" not in message and "Download is starting" not in message
    ]
    assert not others, others
    assert visited > 60, (visited, unrendered)
    # the admin's interactive widgets run too (date shortcuts, autocomplete, filters)
    # (the page before may still be navigating on its own, e.g. reloading itself: let it
    # finish, then go again)
    try:
        page.goto(f"{base}/admin/access/grant/add/")
    except PlaywrightError:
        page.wait_for_load_state("load")
        page.goto(f"{base}/admin/access/grant/add/")
    page.wait_for_load_state("load")

    # then the browser reported nothing
    assert not reports, "\n".join(reports)
