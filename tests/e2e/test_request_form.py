"""The request form in a real headless Chromium, as staff use it: the required marks follow the
chosen target, the ticket is described by the role's hint (never its pattern), a corrected
field loses its error, and the form fits a phone (390 px) and a laptop (1366 px).

The Content-Security-Policy is on: the browser must report nothing (no inline script or style).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, AccessRole, Grant, RequestStatus
from tests.factories import DataAssetFactory, ProcessingActivityFactory

from .csp import csp_watch
from .test_browser import browser, log_in  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PATTERN = r"(INC|CASE)-\d+"
HINT = "an incident or case number, e.g. INC-1234"


def _role(name, assets, **policy):
    role = AccessRole(name=name, approvals_required=1, **policy)
    role.full_clean()
    role.save()
    role.assets.set(assets)
    role.approver_groups.set([Group.objects.get(name="Approvers")])
    return role


@pytest.fixture
def roles(groups, staff_user, approver):
    ticketed = _role(
        "Customer records for support cases, with a long name to wrap",
        [DataAssetFactory(name="Customers")],
        require_justification=True,
        require_ticket=True,
        ticket_pattern=PATTERN,
        ticket_hint=HINT,
    )
    plain = _role(
        "Catalogue lookup",
        [DataAssetFactory(name="Catalogue")],
        require_justification=False,
        require_ticket=False,
    )
    activity = ProcessingActivityFactory(
        name="Answering customer support requests about orders, invoices and deliveries"
    )
    return {"ticketed": ticketed, "plain": plain, "activity": activity}


def _open(browser, live_server, user, width=1366, height=900):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": height})
    reports = csp_watch(context)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, live_server.url, user.username)
    return page, reports


def _choose(page, role):
    page.select_option("select[name=target]", f"role-{role.pk}")
    page.locator("#policy h2").filter(has_text=role.name).wait_for()


def _marked(page, name):
    """(star on the label, aria-required on the control, required on the control)."""
    control = page.locator(f"form.stacked [name={name}]")
    star = page.locator(f"label[for=id_{name}] .req").count() == 1
    return (
        star,
        control.get_attribute("aria-required") == "true",
        control.evaluate("e => e.required"),
    )


def _errors(page, name):
    return page.locator(f"#field-{name} .errorlist li").all_inner_texts()


def test_required_marks_follow_the_chosen_target(live_server, browser, roles, staff_user):  # noqa: F811
    page, reports = _open(browser, live_server, staff_user)
    # given the form with nothing chosen: nothing is marked required
    page.goto(live_server.url + reverse("access-request-create"))
    assert _marked(page, "justification") == (False, False, False)
    assert _marked(page, "ticket") == (False, False, False)
    # when a role requiring a justification and a ticket is chosen
    _choose(page, roles["ticketed"])
    # then both are marked before anything is sent
    assert _marked(page, "justification") == (True, True, True)
    assert _marked(page, "ticket") == (True, True, True)
    # when a role requiring neither is chosen instead, the marks go
    _choose(page, roles["plain"])
    assert _marked(page, "justification") == (False, False, False)
    assert _marked(page, "ticket") == (False, False, False)
    # and back again
    _choose(page, roles["ticketed"])
    assert _marked(page, "ticket") == (True, True, True)
    assert page.locator("label[for=id_ticket] .req").count() == 1
    assert not reports, "\n".join(reports)


def test_the_ticket_hint_is_shown_and_the_pattern_is_not(live_server, browser, roles, staff_user):  # noqa: F811
    page, reports = _open(browser, live_server, staff_user)
    page.goto(live_server.url + reverse("access-request-create"))
    # when staff choose a role with a ticket rule
    _choose(page, roles["ticketed"])
    # then the panel and the ticket's help text say what a reference looks like, in words
    assert HINT in page.locator("#policy .ticket-rule").inner_text()
    assert HINT in page.locator("#id_ticket_helptext").inner_text()
    assert PATTERN not in page.content()
    # when a ticket of another form is sent
    page.select_option("select[name=processing_activity]", str(roles["activity"].pk))
    page.fill("textarea[name=justification]", "The customer asked for a copy of their order")
    page.fill("input[name=ticket]", "JIRA-7")
    page.click("#request-form button[type=submit]")
    page.wait_for_load_state()
    # then the error repeats the hint, and still no pattern is shown
    assert any(HINT in e for e in _errors(page, "ticket")), _errors(page, "ticket")
    assert PATTERN not in page.content()
    assert not reports, "\n".join(reports)


def test_a_corrected_field_loses_its_error(live_server, browser, roles, staff_user):  # noqa: F811
    page, reports = _open(browser, live_server, staff_user)
    page.goto(
        live_server.url + reverse("access-request-create", query={"role": roles["ticketed"].pk})
    )
    page.select_option("select[name=processing_activity]", str(roles["activity"].pk))
    page.fill("input[name=ticket]", "INC-1234")
    # given "Or until" 10 hours away (beyond the 8-hour maximum) and no justification
    later = timezone.localtime(timezone.now() + timedelta(hours=10))
    page.fill("input[name=ends_at]", later.strftime("%Y-%m-%dT%H:%M"))
    page.click("#request-form button[type=submit]")
    page.wait_for_load_state()
    # then each error is under its own field only: the limit under "Or until", not the duration
    assert _errors(page, "justification")
    assert any("At most 8 hours" in e for e in _errors(page, "ends_at"))
    assert _errors(page, "duration") == []
    # when the person edits the justification, its error goes at once
    page.fill("textarea[name=justification]", "The customer asked for a copy of their order")
    assert _errors(page, "justification") == []
    assert page.locator("#id_justification").get_attribute("aria-invalid") is None
    assert page.locator("#field-justification.has-error").count() == 0
    # when they give a duration instead of the end, "Or until" is emptied and its error goes
    page.fill("input[name=duration]", "2")
    assert page.locator("input[name=ends_at]").input_value() == ""
    assert _errors(page, "ends_at") == []
    # and when the form is sent again it is accepted: no error stays
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    request = AccessRequest.objects.get(requester=staff_user)
    assert request.status == RequestStatus.PENDING
    assert request.ends_at - request.starts_at <= timedelta(hours=2)
    assert not reports, "\n".join(reports)


def test_a_corrected_field_loses_its_error_on_the_extension_form(
    live_server,
    browser,  # noqa: F811
    roles,
    staff_user,
    approver,
):
    # given a live grant on the ticketed role
    start = timezone.now()
    request = services.access_request_submit(
        requester=staff_user,
        role=roles["ticketed"],
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        justification="Work",
        ticket="INC-1",
    )
    services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get(request=request)
    page, reports = _open(browser, live_server, staff_user)
    page.goto(live_server.url + reverse("access-grant-extend", args=[grant.pk]))
    # then the fields the grant's policy requires are marked, and the hint is the help text
    assert _marked(page, "justification") == (True, True, True)
    assert HINT in page.locator("#id_ticket_helptext").inner_text()
    # when more hours than the policy allows are asked for, with no justification
    page.fill("input[name=extend_by]", "9")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    assert _errors(page, "extend_by") and _errors(page, "justification")
    # then editing each field takes its error away
    page.fill("input[name=extend_by]", "1")
    assert _errors(page, "extend_by") == []
    page.fill("textarea[name=justification]", "Not finished")
    assert _errors(page, "justification") == []
    # and the corrected form is accepted
    page.fill("input[name=ticket]", "CASE-77")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/requests/\d+/$"))
    assert AccessRequest.objects.filter(extends_grant=grant).exists()
    assert not reports, "\n".join(reports)


_CUT_OFF = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')].filter(el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.left < -1 || box.right > width + 1);
  }).map(el => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
}"""


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1366, 768)])
def test_the_request_form_fits_the_screen(
    live_server,
    browser,  # noqa: F811
    roles,
    staff_user,
    width,
    height,
    tmp_path,
):
    page, reports = _open(browser, live_server, staff_user, width, height)
    page.goto(live_server.url + reverse("access-request-create"))
    # given a role with a long name chosen and a failed submit (every error on show)
    _choose(page, roles["ticketed"])
    page.click("#request-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#request-form .errorlist").count() >= 2
    page.screenshot(path=str(tmp_path / f"request-form-{width}.png"), full_page=True)
    # then nothing is cut off at either side and the page does not scroll sideways
    assert page.evaluate(_CUT_OFF) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    # and "Log out" and the send button are within the screen's width
    for locator in (
        page.get_by_role("button", name="Log out"),
        page.locator("#request-form button[type=submit]"),
    ):
        box = locator.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert not reports, "\n".join(reports)
