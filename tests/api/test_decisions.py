"""The approver's side through the API: the queue, approve, shorten, deny, holders, revoke;
decisions that need a fresh second factor are sent to the portal's page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.access.models import AccessRequest, Approval, Grant, RequestStatus
from apps.audit.models import AuditEvent
from tests.factories import UserFactory
from tests.signin.mfa import make_stale, verify

from .conftest import ask, make_token

pytestmark = pytest.mark.django_db


def test_the_queue_lists_what_i_may_decide(api, approver, pending, pending_special, requester):
    client = api(token=make_token(approver, "decide"))
    body = client.get("/api/queue/").json()
    assert [r["id"] for r in body["results"]] == [pending.pk, pending_special.pk]
    first, special = body["results"]
    assert first["requester"] == "asker" and first["special_category"] is False
    assert special["special_category"] is True
    assert first["approvals_still_needed"] == "1 more"
    assert first["portal_url"].endswith(f"/admin/access/accessrequest/{pending.pk}/decide/approve/")
    # filters are the admin queue's
    assert client.get("/api/queue/", {"special": "yes"}).json()["count"] == 1
    bad = client.get("/api/queue/", {"role": "99999"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["pointer"] == "#/role"
    assert client.get(f"/api/queue/{pending.pk}/").json()["id"] == pending.pk


def test_approve_through_a_decide_token_creates_the_grant(api, approver, pending):
    client = api(token=make_token(approver, "decide"))
    response = client.post(f"/api/queue/{pending.pk}/approve/", {"comment": "ok"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    assert Grant.objects.filter(request=pending).count() == 1
    given = AuditEvent.objects.get(action="access.approval.given", actor=approver)
    # and the trail says the decision came through the API
    assert given.data["channel"] == "api"
    # a second decision is a conflict, and nothing more is written
    again = client.post(f"/api/queue/{pending.pk}/approve/")
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert Approval.objects.filter(request=pending).count() == 1


def test_shorten_approves_an_earlier_end_and_requires_one(api, approver, pending):
    client = api(user=approver)
    missing = client.post(f"/api/queue/{pending.pk}/shorten/", {})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["pointer"] == "#/ends_at"
    longer = client.post(
        f"/api/queue/{pending.pk}/shorten/",
        {"ends_at": (pending.ends_at + timedelta(hours=1)).isoformat()},
    )
    assert longer.status_code == 400
    assert longer.json()["errors"] == [
        {"detail": "An approver can shorten the window, not lengthen it.", "pointer": "#/ends_at"}
    ]
    earlier = (pending.ends_at - timedelta(hours=1)).replace(microsecond=0)
    response = client.post(f"/api/queue/{pending.pk}/shorten/", {"ends_at": earlier.isoformat()})
    assert response.status_code == 200, response.json()
    assert Grant.objects.get(request=pending).ends_at == earlier


def test_deny_needs_a_reason_and_ends_the_request(api, approver, pending):
    client = api(user=approver)
    empty = client.post(f"/api/queue/{pending.pk}/deny/", {"reason": "  "})
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["pointer"] == "#/reason"
    response = client.post(f"/api/queue/{pending.pk}/deny/", {"reason": "Not needed"})
    assert response.status_code == 200 and response.json()["status"] == "denied"


def test_nobody_decides_their_own_request_through_the_api(api, groups, role):
    approver_asking = UserFactory(username="self", groups=["Approvers", "Staff"], is_staff=True)
    own = ask(approver_asking, role)
    response = api(token=make_token(approver_asking, "decide")).post(
        f"/api/queue/{own.pk}/approve/"
    )
    # (not in my queue: 404, as the queue itself shows it)
    assert response.status_code == 404
    assert not Approval.objects.filter(request=own).exists()


def test_special_category_approval_is_sent_to_the_portal(api, approver, pending_special, settings):
    # given MFA on: approving Art. 9/10 data needs a fresh second factor, as on the portal
    settings.MFA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    verify_url = f"/admin/access/accessrequest/{pending_special.pk}/decide/approve/"
    stale = api()
    verify(stale.client, approver)
    make_stale(stale.client)
    callers = {
        "token": (api(token=make_token(approver, "decide")), "which an API token cannot carry"),
        "stale session": (stale, "presented within the last minutes"),
    }
    for caller, (client, says) in callers.items():
        for action in ("approve", "shorten"):
            # when a token, or a session whose factor is stale, approves
            response = client.post(
                f"/api/queue/{pending_special.pk}/{action}/",
                {"ends_at": (pending_special.ends_at - timedelta(minutes=30)).isoformat()},
            )
            # then it is sent to the portal's decision page, and told why
            assert response.status_code == 403, caller
            problem = response.json()
            assert problem["type"] == "urn:jitportal:problem:fresh-second-factor-required"
            assert problem["portal_url"].endswith(verify_url)
            assert says in problem["detail"], caller
    assert not Approval.objects.filter(request=pending_special).exists()
    # denying needs no fresh factor, as on the portal
    denied = callers["stale session"][0].post(
        f"/api/queue/{pending_special.pk}/deny/", {"reason": "Not for this case"}
    )
    assert denied.status_code == 200


def test_a_session_with_a_fresh_factor_approves_as_on_the_portal(
    api, approver, pending_special, settings
):
    # given MFA on and an approver who presented their factor a moment ago
    settings.MFA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client = api()
    verify(client.client, approver)
    # when they approve through the API in that session
    response = client.post(f"/api/queue/{pending_special.pk}/approve/", {"comment": "ok"})
    # then the approval counts, and the DPO's is still needed (invariant 3)
    assert response.status_code == 200, response.json()
    assert Approval.objects.filter(request=pending_special, approver=approver).exists()
    assert response.json()["status"] == "pending"


def test_without_mfa_a_token_approves_special_category_data_as_the_portal_does(
    api, approver, dpo, pending_special, settings
):
    # given MFA off: the portal's decision page asks for no factor
    settings.MFA_REQUIRED = False
    # when an approver's token approves Art. 9/10 data
    response = api(token=make_token(approver, "decide")).post(
        f"/api/queue/{pending_special.pk}/approve/", {}
    )
    # then it counts, through the same service and rules: the DPO must approve too
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "pending"
    assert not Grant.objects.filter(request=pending_special).exists()
    # and the DPO's approval completes it, recorded as taken through the API
    done = api(token=make_token(dpo, "decide")).post(
        f"/api/queue/{pending_special.pk}/approve/", {}
    )
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "approved"
    assert Grant.objects.filter(request=pending_special).exists()
    assert (
        AuditEvent.objects.filter(action="access.request.approved")
        .get(target_id=str(pending_special.pk))
        .data["channel"]
        == "api"
    )


def test_break_glass_is_never_done_through_the_api(api, dpo):
    response = api(token=make_token(dpo, "decide")).post("/api/grants/break-glass/")
    assert response.status_code == 403
    assert response.json()["portal_url"].endswith("/admin/access/grant/break-glass/")
    assert not Grant.objects.filter(is_break_glass=True).exists()


def test_holders_and_revoke(api, dpo, live_grant):
    client = api(token=make_token(dpo, "decide"))
    holders = client.get("/api/grants/", {"asset": live_grant.assets.first().pk}).json()
    assert [g["id"] for g in holders["results"]] == [live_grant.pk]
    assert client.get("/api/grants/", {"asset": "x"}).status_code == 400
    assert client.get(f"/api/grants/{live_grant.pk}/").json()["live"] is True
    no_reason = client.post(f"/api/grants/{live_grant.pk}/revoke/", {})
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"][0]["detail"] == (
        "Give a reason; it is recorded and shown to the person."
    )
    response = client.post(f"/api/grants/{live_grant.pk}/revoke/", {"reason": "Left the team"})
    assert response.status_code == 200 and response.json()["live"] is False
    assert client.get("/api/grants/").json()["count"] == 0


def test_a_token_never_does_more_than_its_owner(api, groups, pending, approver):
    # the owner loses the decide permission after the token was issued
    raw = make_token(approver, "decide")
    approver.groups.set(Group.objects.filter(name="Staff"))
    response = api(token=raw).post(f"/api/queue/{pending.pk}/approve/")
    assert response.status_code == 403
    assert response.json()["type"] == "urn:jitportal:problem:insufficient-scope"
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING


def test_the_queue_answers_in_a_constant_number_of_queries(api, approver, role, groups):
    client = api(user=approver)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/queue/").status_code == 200
        return len(ctx.captured_queries)

    for n in range(3):
        ask(UserFactory(username=f"a{n}", groups=["Staff"]), role)
    few = queries()
    for n in range(3, 15):
        ask(UserFactory(username=f"a{n}", groups=["Staff"]), role)
    assert queries() == few
    assert AccessRequest.objects.count() == 15
