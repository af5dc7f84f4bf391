"""Slack messages to approvers: sent when a request needs a decision, updated in place
with its outcome whatever channel decided it, and made up by beat when a task was lost."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings

from apps.access import services
from apps.access.models import RequestStatus
from apps.chat.models import LinkMethod, SlackAccount, SlackMessage
from apps.chat.services import slack_messages_sync_due
from apps.chat.tasks import slack_request_sync_task
from jitportal.formats import datetime_display
from tests.access.factories import AccessRoleFactory
from tests.chat.conftest import link, submit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _texts(blocks) -> str:
    out = []
    for block in blocks:
        for part in [block.get("text") or {}, *block.get("fields", []), *block.get("elements", [])]:
            out.append(str(part.get("text", "")))
            if isinstance(part.get("text"), dict):
                out.append(part["text"]["text"])
    return "\n".join(out)


def _buttons(blocks) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_each_linked_eligible_approver_gets_one_message_with_the_facts_and_buttons(
    slack, role, staff_user, approver, approver2, django_capture_on_commit_callbacks
):
    # given two approvers, one linked to Slack, and a requester who is linked too
    link(slack, approver, "UAPPROVER1")
    link(slack, staff_user, "USTAFF1")
    # when the requester asks for access
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
    # then exactly the linked approver got a direct message, and it is recorded
    posts = slack.called("chat.postMessage")
    assert [c.args["channel"] for c in posts] == ["UAPPROVER1"]
    message = SlackMessage.objects.get(request=request)
    assert (message.approver, message.channel) == (approver, "DAPPROVER1")
    assert message.ts.startswith("1700000000.")
    # and it says who, what, when (in the portal's zone), why, with Approve and Deny
    blocks = posts[0].args["blocks"]
    text = _texts(blocks)
    assert "staff" in text and "Support read" in text
    assert datetime_display(request.starts_at) in text
    assert datetime_display(request.ends_at) in text
    assert "Complaint follow-up &lt;urgent&gt;" in text  # typed text never becomes markup
    assert "Special-category" not in text
    assert _buttons(blocks) == ["jp_approve", "jp_deny"]
    assert {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]} == {
        str(request.pk)
    }
    # when the task runs again (a duplicate message, beat), nothing is posted twice
    slack.clear()
    assert slack_request_sync_task(request.pk) == {"posted": 0, "updated": 0}
    assert slack.called("chat.postMessage") == []


@pytest.mark.parametrize(
    ("mfa", "says"),
    [
        (True, "approving needs a fresh second factor on the portal"),
        (False, "it is approved on the portal only, never from Slack"),
    ],
)
def test_special_category_data_is_flagged(
    slack, special_role, staff_user, dpo, django_capture_on_commit_callbacks, settings, mfa, says
):
    # given a role over Art. 9 data that needs the DPO, who is linked (MFA on or off)
    settings.MFA_REQUIRED = mfa
    link(slack, dpo, "UDPO1")
    # when access is asked for
    with django_capture_on_commit_callbacks(execute=True):
        submit(staff_user, special_role)
    # then the DPO's message flags the special category
    (post,) = slack.called("chat.postMessage")
    assert "Special-category data (GDPR Art. 9/10)" in _texts(post.args["blocks"])
    # and says why it is not approved from Slack, truly for the MFA setting
    assert says in _texts(post.args["blocks"])


def test_a_decision_on_the_portal_updates_every_message_in_place_once(
    slack, role, staff_user, approver, approver2, django_capture_on_commit_callbacks
):
    # given a request shown to two linked approvers
    link(slack, approver, "UAPPROVER1")
    link(slack, approver2, "UAPPROVER2")
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
    assert len(slack.called("chat.postMessage")) == 2
    # when one approver approves on the portal
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(request_id=request.pk, approver=approver)
    # then both messages are updated in place: the outcome, no buttons
    updates = slack.called("chat.update")
    assert sorted(c.args["channel"] for c in updates) == ["DAPPROVER1", "DAPPROVER2"]
    for call in updates:
        assert _buttons(call.args["blocks"]) == []
        assert "(approver) on" in _texts(call.args["blocks"])
        assert "Approved by" in call.args["text"]
        assert slack.messages[(call.args["channel"], call.args["ts"])]["text"] == call.args["text"]
    assert set(SlackMessage.objects.values_list("shown_state", flat=True)) == {"approved"}
    # when the sync runs again, nothing is sent again
    slack.clear()
    assert slack_request_sync_task(request.pk) == {"posted": 0, "updated": 0}
    assert slack.calls == []


def test_a_denial_shows_its_reason_and_a_cancellation_is_caught_up_by_beat(
    slack, role, staff_user, staff2, approver, django_capture_on_commit_callbacks
):
    # given two requests shown to a linked approver
    link(slack, approver, "UAPPROVER1")
    with django_capture_on_commit_callbacks(execute=True):
        denied = submit(staff_user, role)
        cancelled = submit(staff2, role)
    # when one is denied and the other cancelled (which sends no notice)
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_deny(request_id=denied.pk, approver=approver, reason="No ticket")
    services.access_request_cancel(request_id=cancelled.pk, actor=staff2)
    # then the denial is shown at once; the cancellation on beat's next tick
    (update,) = slack.called("chat.update")
    assert "No ticket" in _texts(update.args["blocks"])
    assert slack_messages_sync_due() == {"posted": 0, "updated": 1}
    assert "Cancelled" in slack.called("chat.update")[-1].args["text"]
    assert slack_messages_sync_due() == {"posted": 0, "updated": 0}


def test_slack_down_changes_no_decision_and_beat_posts_later(
    slack, role, staff_user, approver, django_capture_on_commit_callbacks
):
    # given Slack answering 503 to everything
    link(slack, approver, "UAPPROVER1")
    slack.down = True
    # when access is asked for
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
    # then the request is saved and the failure kept on the message row
    assert request.status == RequestStatus.PENDING
    message = SlackMessage.objects.get(request=request)
    assert message.ts == "" and "SlackApiError" in message.last_error
    # when Slack is back and beat's backstop runs
    slack.down = False
    assert slack_messages_sync_due()["posted"] == 1
    message.refresh_from_db()
    assert message.ts and message.last_error == ""


def test_an_unknown_slack_user_is_recorded_as_an_error_not_raised(
    slack, role, staff_user, approver, django_capture_on_commit_callbacks
):
    # given an approver linked to a Slack id Slack does not know
    SlackAccount.objects.create(user=approver, slack_user_id="UGONE")
    # when access is asked for
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
    # then the request stands and Slack's error is kept
    assert "channel_not_found" in SlackMessage.objects.get(request=request).last_error


def test_without_a_token_nothing_is_sent(
    slack, settings, role, staff_user, approver, django_capture_on_commit_callbacks
):
    # given Slack is not configured
    settings.SLACK_BOT_TOKEN = ""
    link(slack, approver, "UAPPROVER1")
    # when access is asked for
    with django_capture_on_commit_callbacks(execute=True):
        submit(staff_user, role)
    # then nothing goes to Slack
    assert slack.calls == [] and not SlackMessage.objects.exists()


@override_settings(SLACK_MATCH_BY_EMAIL=True)
def test_with_email_matching_an_unlinked_approver_is_found_by_confirmed_email(
    slack, settings, role, staff_user, approver, approver2, django_capture_on_commit_callbacks
):
    # given Slack knows both approvers' emails, only the first confirmed
    settings.SLACK_MATCH_BY_EMAIL = True
    slack.add_user("UAPPROVER1", approver.email, confirmed=True)
    slack.add_user("UAPPROVER2", approver2.email, confirmed=False)
    # when access is asked for
    with django_capture_on_commit_callbacks(execute=True):
        submit(staff_user, role)
    # then the confirmed one is linked (by email) and messaged; the other is not
    account = SlackAccount.objects.get()
    assert (account.user, account.method) == (approver, LinkMethod.EMAIL)
    assert [c.args["channel"] for c in slack.called("chat.postMessage")] == ["UAPPROVER1"]


def test_an_approver_who_is_not_eligible_gets_no_message(
    slack, role, staff_user, django_capture_on_commit_callbacks
):
    # given a linked user who approves for another group only
    other = UserFactory(username="other", is_staff=True)
    other.groups.add(Group.objects.create(name="Elsewhere"))
    link(slack, other, "UOTHER1")
    # when access is asked for
    with django_capture_on_commit_callbacks(execute=True):
        submit(staff_user, role)
    # then nobody is messaged
    assert slack.called("chat.postMessage") == []


def test_a_partial_approval_on_the_portal_reaches_slack_on_beats_next_tick(
    slack,
    asset,
    approvers_group,
    staff_user,
    approver,
    approver2,
    django_capture_on_commit_callbacks,
):
    # given a request needing two approvals, shown to two linked approvers
    role = AccessRoleFactory(
        assets=[asset],
        approvals_required=2,
        approver_groups=[approvers_group],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    link(slack, approver, "UAPPROVER1")
    link(slack, approver2, "UAPPROVER2")
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
    # when one approves on the portal (no notice: the request is still pending)
    services.access_request_approve(request_id=request.pk, approver=approver)
    assert slack.called("chat.update") == []
    # then beat's backstop updates both messages: the approver's without buttons
    assert slack_messages_sync_due() == {"posted": 0, "updated": 2}
    by_channel = {c.args["channel"]: c.args["blocks"] for c in slack.called("chat.update")}
    assert _buttons(by_channel["DAPPROVER1"]) == []
    assert "You approved" in _texts(by_channel["DAPPROVER1"])
    assert _buttons(by_channel["DAPPROVER2"]) == ["jp_approve", "jp_deny"]
    assert "Still needed" in _texts(by_channel["DAPPROVER2"])
    # and the next tick has nothing left to do
    assert slack_messages_sync_due() == {"posted": 0, "updated": 0}


def test_slack_says_the_same_approvals_still_needed_as_every_other_place(
    slack, role, staff_user, approver, dpo, django_capture_on_commit_callbacks
):
    # given a request needing one approver and the DPO, shown to the linked DPO
    # (tests/access/test_decisions.py::test_example_every_place_says_one_more_the_dpos)
    role.require_dpo = True
    role.save()
    link(slack, dpo, "UDPO1")
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
    # when the approver approves on the portal and beat's backstop runs
    services.access_request_approve(request_id=request.pk, approver=approver)
    slack_messages_sync_due()
    # then the DPO's message says what the portal says, with the buttons still there
    (update,) = slack.called("chat.update")
    assert "Still needed: 1 more, the DPO's." in _texts(update.args["blocks"])
    assert _buttons(update.args["blocks"]) == ["jp_approve", "jp_deny"]
