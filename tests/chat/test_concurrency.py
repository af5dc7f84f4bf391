"""Clicks at the same instant, against PostgreSQL from several threads (each its own
connection, as gunicorn's workers have): two approvers, a double click with Slack's retry,
and a Slack approval racing a portal denial give one decision, one grant, one audit event;
the same body on four workers at once is acted on once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from apps.access import services
from apps.access.models import AccessRequest, Approval, Grant, RequestStatus
from apps.audit.models import AuditEvent
from apps.chat.models import DeliveryState, SlackDelivery, SlackMessage
from tests.access.test_invariants import _race
from tests.chat.conftest import URL, body_of, click, link, signed, submit
from tests.chat.standin import TOKEN

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _send(body: bytes, **extra: str) -> Callable[[], int]:
    def send() -> int:
        response = Client().post(
            URL,
            data=body,
            content_type="application/x-www-form-urlencoded",
            **{**signed(body), **extra},
        )
        return response.status_code

    return send


def _outcomes(request: AccessRequest) -> list[str]:
    return list(
        AuditEvent.objects.for_target(request)
        .filter(action__in=["access.request.approved", "access.request.denied"])
        .values_list("action", flat=True)
    )


def test_two_approvers_clicking_approve_at_once_give_one_grant(
    slack, role, staff_user, approver, approver2
):
    # given a request needing one approval, shown to two linked approvers
    link(slack, approver, "UAPPROVER1")
    link(slack, approver2, "UAPPROVER2")
    request = submit(staff_user, role)
    assert SlackMessage.objects.filter(request=request).exclude(ts="").count() == 2
    slack.clear()
    # when both click Approve at the same instant
    statuses = _race(
        [
            _send(body_of(click(slack, user=u, action="jp_approve", request_id=request.pk)))
            for u in ("UAPPROVER1", "UAPPROVER2")
        ]
    )
    # then one decision: one approval, one grant, one event; the other is told privately
    assert statuses == [200, 200]
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Approval.objects.filter(request=request).count() == 1
    assert Grant.objects.filter(request=request).count() == 1
    assert _outcomes(request) == ["access.request.approved"]
    replies = [c.args["text"] for c in slack.called("respond")]
    assert len(replies) == 1 and "already approved" in replies[0]
    # and both messages end up showing the outcome
    assert set(SlackMessage.objects.values_list("shown_state", flat=True)) == {"approved"}
    for (_channel, _ts), message in slack.messages.items():
        assert "Approved by" in message["text"]


def test_a_double_click_and_slacks_retry_give_one_decision(slack, role, staff_user, approver):
    # given a request shown to one linked approver
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    slack.clear()
    first = body_of(click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk))
    second = body_of(
        click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk, nonce="2")
    )
    # when the first click, Slack's retry of it and a second click arrive together
    statuses = _race([_send(first), _send(first, HTTP_X_SLACK_RETRY_NUM="1"), _send(second)])
    # then one approval, one grant, one event
    assert statuses == [200, 200, 200]
    assert Approval.objects.filter(request=request).count() == 1
    assert Grant.objects.filter(request=request).count() == 1
    assert _outcomes(request) == ["access.request.approved"]
    assert (
        AuditEvent.objects.for_target(request).filter(action="access.approval.given").count() == 1
    )
    # and the losing click (whichever of the two it was) hears it was already decided, to
    # the clicker only; the retry, a body already seen, says nothing
    replies = slack.called("respond")
    assert len(replies) == 1, replies
    assert replies[0].path in {"/respond/UAPPROVER1-1", "/respond/UAPPROVER1-2"}
    assert "already approved" in replies[0].args["text"]


def test_a_slack_approval_racing_a_portal_denial_gives_one_outcome(
    slack, role, staff_user, approver, approver2
):
    # given a request shown in Slack to one approver; another approver is on the portal
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    slack.clear()
    body = body_of(click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk))
    # when the Slack approval and the portal denial happen at once
    results = _race(
        [
            _send(body),
            lambda: services.access_request_deny(
                request_id=request.pk, approver=approver2, reason="Not needed"
            ),
        ]
    )
    # then exactly one outcome is recorded, and the message shows that one
    request.refresh_from_db()
    assert results[0] == 200
    assert request.status in {RequestStatus.APPROVED, RequestStatus.DENIED}
    assert len(_outcomes(request)) == 1
    assert Grant.objects.filter(request=request).count() == (
        1 if request.status == RequestStatus.APPROVED else 0
    )
    assert SlackMessage.objects.get(request=request).shown_state == request.status


@pytest.mark.parametrize("after_failure", [False, True], ids=["new", "after-a-failure"])
def test_the_same_body_on_four_web_workers_at_once_is_acted_on_once(
    slack, settings, role, staff_user, approver, after_failure
):
    # given a Deny click (opening the modal is not guarded by the request's row lock, so only
    # the delivery's own claim can keep it to one), new or after a failed first attempt
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    body = body_of(click(slack, user="UAPPROVER1", action="jp_deny", request_id=request.pk))
    if after_failure:
        settings.SLACK_BOT_TOKEN = ""  # the first attempt cannot open the modal: failed
        assert _send(body)() == 200
        assert SlackDelivery.objects.get().state == DeliveryState.FAILED
        settings.SLACK_BOT_TOKEN = TOKEN
    slack.clear()
    # when four workers get the same body (Slack's retries) at the same instant
    statuses = _race([_send(body, HTTP_X_SLACK_RETRY_NUM=str(n)) for n in range(1, 5)])
    # then all are answered 200 and exactly one opened the modal; the delivery is done
    assert statuses == [200, 200, 200, 200]
    assert len(slack.called("views.open")) == 1
    delivery = SlackDelivery.objects.get()
    assert delivery.state == DeliveryState.DONE
    assert delivery.attempts == (2 if after_failure else 1)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
