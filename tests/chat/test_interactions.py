"""Slack's interactive endpoint: the signature over the raw body, who clicked, the same
decision services with channel "slack", refusals to the clicker only, and Art. 9/10
approvals sent to the portal."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from apps.access import services
from apps.access.models import Grant, RequestStatus
from apps.audit.models import AuditEvent
from apps.chat.models import LinkMethod, SlackAccount, SlackDelivery, SlackMessage
from tests.access.factories import AccessRoleFactory
from tests.chat.conftest import URL, body_of, click, deny_submission, link, post, signed, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def shown(slack, role, staff_user, approver, django_capture_on_commit_callbacks):
    """A pending request shown in Slack to a linked approver (UAPPROVER1)."""
    link(slack, approver, "UAPPROVER1")
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
    slack.clear()
    return request


def _decisions(request) -> list[AuditEvent]:
    actions = {"access.approval.given", "access.request.approved", "access.request.denied"}
    return list(AuditEvent.objects.for_target(request).filter(action__in=actions).order_by("pk"))


def _replies(slack) -> list[str]:
    return [c.args["text"] for c in slack.called("respond")]


def test_a_signed_approve_click_decides_with_channel_slack_and_updates_the_message(
    client, slack, shown, django_capture_on_commit_callbacks
):
    # when the linked approver clicks Approve
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client, click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk)
        )
    # then the request is approved from Slack, with one grant
    assert response.status_code == 200
    shown.refresh_from_db()
    assert shown.status == RequestStatus.APPROVED
    assert Grant.objects.filter(request=shown).count() == 1
    assert [e.data["channel"] for e in _decisions(shown)] == ["slack", "slack"]
    # and the message is updated in place, with no buttons left
    (update,) = slack.called("chat.update")
    message = SlackMessage.objects.get(request=shown)
    assert (update.args["channel"], update.args["ts"]) == (message.channel, message.ts)
    assert "Approved by" in update.args["text"]
    assert not [b for b in update.args["blocks"] if b["type"] == "actions"]
    assert _replies(slack) == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"secret": "not-the-secret"}, id="wrong-secret"),
        pytest.param({"offset": -6 * 60}, id="stale-timestamp"),
        pytest.param({"offset": 6 * 60}, id="future-timestamp"),
    ],
)
def test_a_wrong_or_stale_signature_is_refused_and_nothing_changes(client, slack, shown, headers):
    # given a payload signed with the wrong secret or outside five minutes (the time taken
    # when the test runs, not when the suite is collected)
    if "offset" in headers:
        headers = {"at": int(time.time()) + headers["offset"]}
    body = body_of(click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk))
    # when it is posted
    response = client.post(
        URL, data=body, content_type="application/x-www-form-urlencoded", **signed(body, **headers)
    )
    # then it is refused before anything is read or written
    assert response.status_code == 401
    shown.refresh_from_db()
    assert shown.status == RequestStatus.PENDING
    assert not SlackDelivery.objects.exists() and slack.calls == []


def test_a_body_changed_after_signing_is_refused(client, slack, shown):
    # given a signature over one body and another body sent with it
    good = body_of(click(slack, user="UAPPROVER1", action="jp_deny", request_id=shown.pk))
    bad = body_of(click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk))
    # when posted
    response = client.post(
        URL, data=bad, content_type="application/x-www-form-urlencoded", **signed(good)
    )
    # then refused
    assert response.status_code == 401
    assert SlackDelivery.objects.count() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon", "HTTP_X_SLACK_SIGNATURE": "v0=00"},
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(int(time.time())), "HTTP_X_SLACK_SIGNATURE": ""},
    ],
    ids=["unsigned", "timestamp-not-a-number", "empty-signature"],
)
def test_unsigned_or_garbled_headers_are_refused(client, slack, shown, headers):
    body = body_of(click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk))
    response = client.post(
        URL, data=body, content_type="application/x-www-form-urlencoded", **headers
    )
    assert response.status_code == 401


def test_without_a_signing_secret_everything_is_refused(client, slack, settings, shown):
    settings.SLACK_SIGNING_SECRET = ""
    response = post(
        client, click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk)
    )
    assert response.status_code == 401


def test_a_retry_or_replay_of_the_same_body_is_acted_on_once(
    client, slack, shown, django_capture_on_commit_callbacks
):
    # given one signed click
    body = body_of(click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk))
    headers = signed(body)
    # when Slack sends it, retries it, and someone replays it within five minutes
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            URL, data=body, content_type="application/x-www-form-urlencoded", **headers
        )
        retry = client.post(
            URL,
            data=body,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_SLACK_RETRY_NUM="1",
            HTTP_X_SLACK_RETRY_REASON="http_timeout",
            **signed(body),
        )
        replay = client.post(
            URL, data=body, content_type="application/x-www-form-urlencoded", **headers
        )
    # then all are answered 200 and there is one decision, one grant, one event each
    assert [r.status_code for r in (first, retry, replay)] == [200, 200, 200]
    assert Grant.objects.filter(request=shown).count() == 1
    assert [e.action for e in _decisions(shown)] == [
        "access.approval.given",
        "access.request.approved",
    ]
    assert _replies(slack) == []  # no "already decided" for the retries


def test_an_unknown_slack_user_is_told_privately_and_nothing_changes(client, slack, shown):
    # when a Slack user nobody linked clicks Approve
    response = post(
        client, click(slack, user="USTRANGER", action="jp_approve", request_id=shown.pk)
    )
    # then only they are told, through the response_url, ephemerally
    assert response.status_code == 200
    (reply,) = slack.called("respond")
    assert reply.path == "/respond/USTRANGER-1"
    assert reply.args["response_type"] == "ephemeral" and reply.args["replace_original"] is False
    assert "not linked" in reply.args["text"]
    shown.refresh_from_db()
    assert shown.status == RequestStatus.PENDING and _decisions(shown) == []


def test_a_deactivated_linked_user_counts_as_unknown(client, slack, shown, approver):
    approver.is_active = False
    approver.save()
    post(client, click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk))
    assert "not linked" in _replies(slack)[0]
    shown.refresh_from_db()
    assert shown.status == RequestStatus.PENDING


def test_email_matching_uses_the_confirmed_email_from_users_info(
    client, slack, settings, shown, approver2, django_capture_on_commit_callbacks
):
    # given matching by email allowed and an unlinked approver Slack knows by a confirmed email
    settings.SLACK_MATCH_BY_EMAIL = True
    slack.add_user("UAPPROVER2", approver2.email.upper(), confirmed=True)
    # when they click Approve
    with django_capture_on_commit_callbacks(execute=True):
        post(client, click(slack, user="UAPPROVER2", action="jp_approve", request_id=shown.pk))
    # then Slack was asked who they are, they are linked by email and the decision is theirs
    assert [c.args["user"] for c in slack.called("users.info")] == ["UAPPROVER2"]
    assert SlackAccount.objects.get(slack_user_id="UAPPROVER2").method == LinkMethod.EMAIL
    shown.refresh_from_db()
    assert (shown.status, shown.decided_by) == (RequestStatus.APPROVED, approver2)
    assert AuditEvent.objects.filter(action="chat.slack_account.linked").count() == 1


@pytest.mark.parametrize("allowed,confirmed", [(False, True), (True, False)])
def test_email_is_not_used_unless_allowed_and_confirmed(
    client, slack, settings, shown, approver2, allowed, confirmed
):
    settings.SLACK_MATCH_BY_EMAIL = allowed
    slack.add_user("UAPPROVER2", approver2.email, confirmed=confirmed)
    post(client, click(slack, user="UAPPROVER2", action="jp_approve", request_id=shown.pk))
    assert "not linked" in _replies(slack)[0]
    assert not SlackAccount.objects.filter(slack_user_id="UAPPROVER2").exists()
    shown.refresh_from_db()
    assert shown.status == RequestStatus.PENDING


def test_the_requester_cannot_approve_their_own_request_from_slack(
    client, slack, shown, staff_user
):
    # given the requester is linked too
    link(slack, staff_user, "USTAFF1")
    # when they click Approve on their own request
    post(client, click(slack, user="USTAFF1", action="jp_approve", request_id=shown.pk))
    # then they alone are told, and nothing changes
    assert _replies(slack) == ["Nobody can decide their own request."]
    shown.refresh_from_db()
    assert shown.status == RequestStatus.PENDING


def test_someone_not_eligible_is_refused(client, slack, shown, auditor):
    link(slack, auditor, "UAUDITOR1")
    post(client, click(slack, user="UAUDITOR1", action="jp_approve", request_id=shown.pk))
    (text,) = _replies(slack)
    assert "You are not an approver for Support read" in text
    shown.refresh_from_db()
    assert shown.status == RequestStatus.PENDING


def test_an_already_decided_request_is_refused_to_the_clicker(
    client, slack, shown, approver2, django_capture_on_commit_callbacks
):
    # given the request was denied on the portal meanwhile
    services.access_request_deny(request_id=shown.pk, approver=approver2, reason="Not now")
    # when the Slack approver clicks Approve (and then Deny) on the old message
    post(client, click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk))
    post(client, click(slack, user="UAPPROVER1", action="jp_deny", request_id=shown.pk, nonce="2"))
    # then they are told, privately, and nothing else happens
    replies = _replies(slack)
    assert "already denied" in replies[0] and "already denied" in replies[1]
    assert slack.called("views.open") == []
    shown.refresh_from_db()
    assert shown.decided_by == approver2


def test_a_lapsed_request_is_refused_and_marked_lapsed(
    client, slack, shown, time_machine, django_capture_on_commit_callbacks
):
    # given the request's deadline has passed with nobody deciding
    time_machine.move_to(shown.lapses_at.timestamp() + 60)
    # when the approver clicks Approve
    with django_capture_on_commit_callbacks(execute=True):
        post(client, click(slack, user="UAPPROVER1", action="jp_approve", request_id=shown.pk))
    # then they are told it lapsed, it is marked lapsed, and the message says so
    assert "lapsed" in _replies(slack)[0]
    shown.refresh_from_db()
    assert shown.status == RequestStatus.LAPSED
    assert "Lapsed" in slack.called("chat.update")[-1].args["text"]


def test_deny_opens_a_modal_and_its_submission_denies_with_the_reason(
    client, slack, shown, django_capture_on_commit_callbacks
):
    # when the approver clicks Deny
    post(client, click(slack, user="UAPPROVER1", action="jp_deny", request_id=shown.pk))
    # then a modal asking for the reason is opened with the click's trigger
    (opened,) = slack.called("views.open")
    assert opened.args["trigger_id"] == "trigger-1"
    view = opened.args["view"]
    assert view["callback_id"] == "jp_deny_reason"
    assert json.loads(view["private_metadata"]) == {"request": shown.pk, "channel": "DAPPROVER1"}
    assert view["blocks"][-1]["block_id"] == "reason"
    shown.refresh_from_db()
    assert shown.status == RequestStatus.PENDING
    # when the modal is submitted with no reason, it stays open with the portal's message
    blank = post(client, deny_submission(user="UAPPROVER1", request_id=shown.pk, reason="  "))
    assert blank.json() == {
        "response_action": "errors",
        "errors": {"reason": "Give a reason for the denial."},
    }
    # when it is submitted with a reason
    with django_capture_on_commit_callbacks(execute=True):
        done = post(
            client,
            deny_submission(user="UAPPROVER1", request_id=shown.pk, reason="No ticket given"),
        )
    # then the request is denied from Slack and the message shows it
    assert done.status_code == 200 and done.content == b""
    shown.refresh_from_db()
    assert (shown.status, shown.decision_comment) == (RequestStatus.DENIED, "No ticket given")
    assert [e.data["channel"] for e in _decisions(shown)] == ["slack"]
    assert "No ticket given" in slack.called("chat.update")[-1].args["text"]


def test_a_refused_modal_submission_is_told_with_post_ephemeral(client, slack, shown, approver2):
    # given the request was approved on the portal while the modal was open
    services.access_request_approve(request_id=shown.pk, approver=approver2)
    # when the modal is submitted
    response = post(client, deny_submission(user="UAPPROVER1", request_id=shown.pk, reason="No"))
    # then the modal closes and only the clicker reads why, in the app's DM
    assert response.status_code == 200
    (ephemeral,) = slack.called("chat.postEphemeral")
    assert (ephemeral.args["channel"], ephemeral.args["user"]) == ("DAPPROVER1", "UAPPROVER1")
    assert "already approved" in ephemeral.args["text"]
    shown.refresh_from_db()
    assert shown.status == RequestStatus.APPROVED


@pytest.mark.parametrize(
    ("mfa", "says"),
    [
        (True, "needs a fresh second factor"),
        # without MFA the portal asks for no factor: the reply must not claim one
        (False, "taken on the portal only, never from Slack"),
    ],
)
def test_special_category_approval_is_sent_to_the_portal_decision_page(
    client,
    slack,
    special_role,
    staff_user,
    dpo,
    django_capture_on_commit_callbacks,
    settings,
    mfa,
    says,
):
    # given a request for Art. 9 data shown to the linked DPO, with MFA on or off
    settings.MFA_REQUIRED = mfa
    link(slack, dpo, "UDPO1")
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, special_role)
    # when the DPO clicks Approve in Slack
    post(client, click(slack, user="UDPO1", action="jp_approve", request_id=request.pk))
    # then nothing is decided; the reply links to the portal's decision page
    (reply,) = slack.called("respond")
    assert says in reply.args["text"]
    assert ("second factor" in reply.args["text"]) == mfa
    (button,) = [e for b in reply.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["url"].endswith(
        reverse("admin:access_accessrequest_decide", args=(request.pk, "approve"))
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and _decisions(request) == []


def test_a_request_that_does_not_exist_is_refused(client, slack, shown):
    post(client, click(slack, user="UAPPROVER1", action="jp_approve", request_id=999999999))
    assert "no longer exists" in _replies(slack)[0]
    post(
        client,
        {
            **click(slack, user="UAPPROVER1", action="jp_approve", request_id=1, nonce="9"),
            "actions": [{"action_id": "jp_approve", "value": "1e9"}],
        },
    )
    assert "no longer exists" in _replies(slack)[1]


def test_a_signed_body_that_is_not_a_payload_is_a_bad_request(client, slack):
    # given signed bodies that are not a JSON object in "payload"
    for body in (b"payload=%7Bnot-json", b"payload=%5B1%5D", b"a=1&&b"):
        response = client.post(
            URL, data=body, content_type="application/x-www-form-urlencoded", **signed(body)
        )
        # then each is a 400 and nothing is called
        assert response.status_code == 400, body
    # and bytes that are not UTF-8 cannot carry a valid signature (slack_sdk decodes them)
    raw = b"\xff\xfe"
    response = client.post(
        URL, data=raw, content_type="application/x-www-form-urlencoded", **signed(raw)
    )
    assert response.status_code == 401
    assert slack.calls == []


def test_other_interactions_and_get_are_harmless(client, slack, shown):
    assert client.get(URL).status_code == 405
    # a multipart body (Slack never sends one) is refused, not a server error
    assert client.post(URL, {"payload": "{}"}).status_code == 400
    response = post(client, {"type": "shortcut", "user": {"id": "UAPPROVER1"}})
    assert response.status_code == 200
    response = post(
        client, click(slack, user="UAPPROVER1", action="jp_open_portal", request_id=shown.pk)
    )
    assert response.status_code == 200 and slack.calls == []


def test_a_special_category_request_one_may_not_decide_gets_the_refusal_not_the_portal_link(
    client,
    slack,
    special_asset,
    approvers_group,
    staff_user,
    django_capture_on_commit_callbacks,
):
    # given a request for Art. 9 data and its own requester linked to Slack
    role = AccessRoleFactory(
        assets=[special_asset],
        approver_groups=[approvers_group],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    link(slack, staff_user, "USTAFF1")
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
    # when the requester clicks Approve on it
    post(client, click(slack, user="USTAFF1", action="jp_approve", request_id=request.pk))
    # then they are told why they cannot decide, with no link that says what the request holds
    (reply,) = slack.called("respond")
    assert "their own request" in reply.args["text"]
    assert "second factor" not in reply.args["text"] and not reply.args.get("blocks")
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and _decisions(request) == []


def test_a_retry_of_a_modal_submission_refused_under_the_field_gets_the_same_answer(
    client, slack, shown
):
    # given a deny modal submitted with no reason, answered with the error under the field
    body = body_of(deny_submission(user="UAPPROVER1", request_id=shown.pk, reason=" "))
    first = client.post(
        URL, data=body, content_type="application/x-www-form-urlencoded", **signed(body)
    )
    assert first.json()["response_action"] == "errors"
    # when Slack retries the same body
    retry = client.post(
        URL,
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_RETRY_NUM="1",
        **signed(body),
    )
    # then the answer is the same (an empty one would close the modal), and nothing decided
    assert retry.json() == first.json()
    assert SlackDelivery.objects.get().attempts == 1
    shown.refresh_from_db()
    assert shown.status == RequestStatus.PENDING
