"""A real Celery worker against Redis posts and updates the Slack messages (not eager):
the task is queued by its registered name after the decision commits."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.access.models import RequestStatus
from apps.chat.models import SlackMessage
from tests.access.test_worker import wait_for
from tests.chat.conftest import URL, body_of, click, link, signed, submit

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_worker_posts_the_message_and_updates_it_after_a_slack_approval(
    worker, slack, role, staff_user, approver
):
    # given a linked approver
    link(slack, approver, "UAPPROVER1")
    # when access is asked for, the worker posts the message through Redis
    request = submit(staff_user, role)
    assert wait_for(lambda: SlackMessage.objects.filter(request=request).exclude(ts="").exists())
    # when the approver clicks Approve in it
    body = body_of(click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk))
    response = Client().post(
        URL, data=body, content_type="application/x-www-form-urlencoded", **signed(body)
    )
    # then the decision is taken at once and the worker updates the message in place
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert wait_for(lambda: SlackMessage.objects.get(request=request).shown_state == "approved")
    assert len(slack.called("chat.postMessage")) == 1
    assert "Approved by" in slack.called("chat.update")[-1].args["text"]
