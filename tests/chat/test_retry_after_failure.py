"""A click whose handling fails is not lost: the body is forgotten again, so Slack's retry
(``X-Slack-Retry-Num``) is acted on, and there is still exactly one decision."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from apps.access.models import AccessRequest, Approval, Grant, RequestStatus
from apps.chat.models import SlackDelivery
from tests.chat.conftest import click, link, post, submit
from tests.chat.standin import TOKEN
from tests.chat.test_concurrency import _outcomes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _dsn() -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if k in {"host", "port", "user", "password", "dbname"}}
    )


def test_a_click_failing_on_a_locked_row_is_acted_on_when_slack_retries(
    client, slack, role, staff_user, approver
):
    # given a pending request shown to a linked approver
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    body = click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk)
    # and another session holding the request's row lock, the portal giving up after 200 ms
    with psycopg.connect(_dsn()) as other:
        table = AccessRequest._meta.db_table
        other.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [request.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            # when the approver clicks Approve
            first = post(client, body)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        other.rollback()
    # then the database error is an error answer (so Slack retries), nothing was decided,
    # and the body is not remembered
    assert first.status_code == 503
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert _outcomes(request) == [] and not SlackDelivery.objects.exists()
    # when Slack retries the same body, twice
    retries = [post(client, body, HTTP_X_SLACK_RETRY_NUM=str(n)) for n in (1, 2)]
    # then the first retry decides and the second is ignored: exactly one decision
    assert [r.status_code for r in retries] == [200, 200]
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert _outcomes(request) == ["access.request.approved"]
    assert Approval.objects.filter(request=request).count() == 1
    assert Grant.objects.filter(request=request).count() == 1


def test_a_deny_click_without_a_bot_token_is_explained_and_acted_on_when_retried(
    client, slack, settings, role, staff_user, approver
):
    # given a pending request shown to a linked approver, and the bot token then removed
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    body = click(slack, user="UAPPROVER1", action="jp_deny", request_id=request.pk)
    slack.clear()
    settings.SLACK_BOT_TOKEN = ""
    # when the approver clicks Deny
    first = post(client, body)
    # then no server error: the clicker alone is told why (through the response URL, which
    # needs no token) and where to deny instead; no modal, nothing decided, nothing remembered
    assert first.status_code == 200
    (reply,) = slack.called("respond")
    assert "no Slack bot token" in reply.args["text"] and "on the portal" in reply.args["text"]
    assert reply.args["response_type"] == "ephemeral"
    assert slack.called("views.open") == []
    assert not SlackDelivery.objects.exists()
    # when the token is configured again and the same click comes again (Slack's retry)
    settings.SLACK_BOT_TOKEN = TOKEN
    second = post(client, body, HTTP_X_SLACK_RETRY_NUM="1")
    # then it is acted on: the modal asking for the reason opens, once
    assert second.status_code == 200
    (opened,) = slack.called("views.open")
    assert opened.args["view"]["callback_id"] == "jp_deny_reason"
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and _outcomes(request) == []
