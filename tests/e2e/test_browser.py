"""End to end in a real headless Chromium: ask, approve in the admin, read, and lose access.

Runs against pytest-django's live server. The approver shortens the window; then the test
travels past its end with time-machine, which moves the clock of the whole process, the live
server's thread included (Chromium keeps its own clock, and nothing in it depends on the time).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.access.models import AccessRequest, AccessRole, Grant, RequestStatus
from apps.audit.models import AuditEvent
from apps.crm.models import Customer, SupportTicket
from apps.demo.crm import crm_assets_register
from tests.factories import DEFAULT_PASSWORD, ProcessingActivityFactory

from .csp import csp_watch

pytestmark = [
    pytest.mark.browser,
    # The live server thread needs committed rows. No serialized_rollback: it would reload
    # rows (groups, permissions) that another transactional test's flush has re-created
    # under new ids. The test builds everything it uses itself.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(_chromium_of_the_module):
    """Headless Chromium (one per test module, tests/conftest.py); every context a test opens
    (its cookies, pages and listeners) is closed after it."""
    yield _chromium_of_the_module
    for context in _chromium_of_the_module.contexts:
        context.close()


@pytest.fixture
def world(groups, staff_user, approver):
    assets = crm_assets_register()
    tickets_asset = assets["Support tickets"]
    role = AccessRole(name="Ticket desk", approvals_required=1, require_ticket=True)
    role.full_clean()
    role.save()
    role.assets.set([tickets_asset])
    role.approver_groups.set([Group.objects.get(name="Approvers")])
    activity = ProcessingActivityFactory(name="Answering customer support requests")
    customer = Customer.objects.create(external_ref="E2E-1", full_name="Ada Lovelace")
    ticket = SupportTicket.objects.create(
        customer=customer, subject="Invoice shows the wrong amount", body="Charged twice in May."
    )
    return {"asset": tickets_asset, "activity": activity, "ticket": ticket}


def log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def test_request_approve_read_and_lose_access(live_server, browser, world, staff_user, approver):
    base = live_server.url
    ticket_url = f"{base}/records/tickets/{world['ticket'].pk}/"
    staff_context, boss_context = browser.new_context(), browser.new_context()
    # the Content-Security-Policy is on (as in production): the browser must report nothing
    csp_reports = csp_watch(staff_context)
    boss_reports = csp_watch(boss_context)
    staff, boss = staff_context.new_page(), boss_context.new_page()
    staff.set_default_timeout(20_000)
    boss.set_default_timeout(20_000)

    # given a staff member without access: the ticket page refuses with a request link
    log_in(staff, base, staff_user.username)
    refused = staff.goto(ticket_url)
    assert refused.status == 403
    assert staff.get_by_text("No live grant — request access").is_visible()

    # when they follow the link and fill in the request form
    staff.click(f"a[href='/request/?asset={world['asset'].pk}']")
    assert staff.locator("select[name=target]").input_value() == f"asset-{world['asset'].pk}"
    assert staff.locator("#policy").get_by_text("Policy for CRM / Support tickets").is_visible()
    staff.fill("input[name=duration]", "1")
    staff.select_option("select[name=processing_activity]", str(world["activity"].pk))
    staff.fill("textarea[name=justification]", "Customer says they were charged twice")
    staff.fill("input[name=ticket]", "INC-1234")
    staff.click("#request-form button[type=submit]")

    # then the request is pending and shown to them
    staff.wait_for_url(re.compile(r"/requests/\d+/$"))
    assert staff.get_by_text("is sent for approval").is_visible()
    request = AccessRequest.objects.get(requester=staff_user)
    assert request.status == RequestStatus.PENDING

    # when an approver approves it in the admin, shortening the window to end soon
    log_in(boss, base, approver.username)
    boss.goto(f"{base}/admin/access/accessrequest/queue/")
    boss.click(f"a[href^='/admin/access/accessrequest/{request.pk}/decide/approve/']")
    # datetime-local has minute precision: a whole minute 9 to 10 minutes away
    soon = timezone.localtime(timezone.now() + timedelta(minutes=10)).replace(
        second=0, microsecond=0
    )
    boss.fill("textarea[name=comment]", "Fine, for this ticket only")
    boss.fill("input[name=ends_at]", soon.strftime("%Y-%m-%dT%H:%M"))
    boss.click("input[name=confirm]")
    boss.wait_for_load_state()
    assert boss.get_by_text(f"Request #{request.pk} is now approved.").is_visible()
    grant = Grant.objects.get(request=request)
    assert grant.ends_at == soon

    # then the staff member sees the live grant and can open the ticket
    staff.goto(f"{base}/")
    assert staff.locator("#active").get_by_text(f"#{grant.pk}").is_visible()
    opened = staff.goto(ticket_url)
    assert opened.status == 200, opened.status
    assert staff.get_by_text("Charged twice in May.").is_visible()
    assert AuditEvent.objects.filter(
        action="access.record.viewed",
        target_type="crm.supportticket",
        target_id=str(world["ticket"].pk),
        data__grant=grant.pk,
    ).exists()

    # when the window ends (nothing but the clock changes: no task runs here)
    assert timezone.now() < grant.ends_at
    with time_machine.travel(grant.ends_at + timedelta(seconds=1), tick=True):
        # then the same page refuses again, and the home page moved the grant to the history
        again = staff.goto(ticket_url)
        assert again.status == 403
        assert staff.get_by_text("No live grant — request access").is_visible()
        staff.goto(f"{base}/")
        assert staff.locator("#active").get_by_text("No access is open right now.").is_visible()
        assert staff.locator("#past").get_by_text(f"#{request.pk}").is_visible()
    assert not csp_reports + boss_reports, "\n".join(csp_reports + boss_reports)
