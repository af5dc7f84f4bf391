"""A click is never lost to Slack's retries (``X-Slack-Retry-Num``): each body has a durable
state (``SlackDelivery``: being handled, done, failed). A retry that arrives while the first
attempt is still running is acknowledged without deciding; if that attempt then fails, the
approver is told what failed and the next retry decides; a retry after success is ignored.
Real PostgreSQL sessions and threads: the first attempt is held on the request's row lock
by another session, as a slow database holds it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from apps.access.models import AccessRequest, Approval, Grant, RequestStatus
from apps.chat.models import DeliveryState, SlackDelivery
from apps.chat.services import HANDLING_LEASE, slack_delivery_claim
from tests.chat.conftest import body_of, click, link, post, submit
from tests.chat.standin import TOKEN
from tests.chat.test_concurrency import _outcomes, _send

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _dsn() -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if k in {"host", "port", "user", "password", "dbname"}}
    )


@contextmanager
def _row_locked(request: AccessRequest) -> Iterator[psycopg.Connection]:
    """Another session holding ``request``'s row lock until the block ends."""
    with psycopg.connect(_dsn()) as other:
        table = AccessRequest._meta.db_table
        other.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [request.pk])
        try:
            yield other
        finally:
            other.rollback()


def _waiting_backend(timeout: float = 30) -> int:
    """The pid of the session waiting for a lock (the first attempt, stuck on the row)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(_dsn(), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError("the first attempt never waited for the row")


def _in_thread(send) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []

    def run() -> None:
        try:
            result.append(send())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _approve_click(slack, role, staff_user, approver) -> tuple[AccessRequest, bytes]:
    """A pending request shown to a linked approver (UAPPROVER1), and the body of their
    Approve click."""
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    body = body_of(click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk))
    slack.clear()
    return request, body


def _failure_replies(slack) -> list[str]:
    return [
        c.args["text"] for c in slack.called("respond") if "could not be acted on" in c.args["text"]
    ]


def test_a_click_failing_on_a_locked_row_is_told_and_acted_on_when_slack_retries(
    client, slack, role, staff_user, approver
):
    # given a pending request shown to a linked approver
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    body = click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk)
    slack.clear()
    # and another session holding the request's row lock, the portal giving up after 200 ms
    with _row_locked(request):
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            # when the approver clicks Approve
            first = post(client, body)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    # then the database error is an error answer (so Slack retries), nothing was decided,
    # the delivery is marked failed, and the approver is told what failed
    assert first.status_code == 503
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and _outcomes(request) == []
    delivery = SlackDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 1)
    assert "OperationalError" in delivery.last_error
    (told,) = _failure_replies(slack)
    assert "database did not answer" in told
    # when Slack retries the same body, twice
    retries = [post(client, body, HTTP_X_SLACK_RETRY_NUM=str(n)) for n in (1, 2)]
    # then the first retry decides and the second is acknowledged: exactly one decision
    assert [r.status_code for r in retries] == [200, 200]
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert _outcomes(request) == ["access.request.approved"]
    assert Approval.objects.filter(request=request).count() == 1
    assert Grant.objects.filter(request=request).count() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DONE, 2)


def test_a_retry_while_the_first_attempt_runs_is_acknowledged_and_the_first_decides(
    slack, role, staff_user, approver
):
    # given a pending request shown to a linked approver, and the first attempt of a click
    # held on the request's row by another session (a slow database: Slack gives up at 3 s)
    request, body = _approve_click(slack, role, staff_user, approver)
    with _row_locked(request):
        thread, first = _in_thread(_send(body))
        _waiting_backend()
        assert SlackDelivery.objects.get().state == DeliveryState.HANDLING
        # when Slack's retry arrives meanwhile
        retry = _send(body, HTTP_X_SLACK_RETRY_NUM="1", HTTP_X_SLACK_RETRY_REASON="http_timeout")()
        # then it is acknowledged at once, deciding nothing and saying nothing
        assert retry == 200
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING and slack.called("respond") == []
    # when the first attempt gets the row
    thread.join(timeout=60)
    # then it decides, once, and the delivery is done
    assert first == [200]
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert _outcomes(request) == ["access.request.approved"]
    assert Grant.objects.filter(request=request).count() == 1
    assert SlackDelivery.objects.get().state == DeliveryState.DONE
    assert slack.called("respond") == []


def test_a_retry_acknowledged_while_the_first_attempt_then_fails_does_not_lose_the_click(
    slack, role, staff_user, approver
):
    # given a click whose first attempt is held on the request's row, and Slack's first
    # retry acknowledged meanwhile
    request, body = _approve_click(slack, role, staff_user, approver)
    with _row_locked(request) as other:
        thread, first = _in_thread(_send(body))
        pid = _waiting_backend()
        assert _send(body, HTTP_X_SLACK_RETRY_NUM="1")() == 200
        # when the first attempt then fails (its statement is cancelled: a database error)
        other.execute("SELECT pg_cancel_backend(%s)", [pid])
        thread.join(timeout=60)
    # then it answers an error, decides nothing, is marked failed, and the approver alone is
    # told what failed and what to do
    assert first == [503]
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and _outcomes(request) == []
    assert SlackDelivery.objects.get().state == DeliveryState.FAILED
    (reply,) = slack.called("respond")
    assert reply.path == "/respond/UAPPROVER1-1" and reply.args["response_type"] == "ephemeral"
    assert "could not be acted on" in reply.args["text"] and "Click again" in reply.args["text"]
    # when Slack's next retry comes
    assert _send(body, HTTP_X_SLACK_RETRY_NUM="2")() == 200
    # then it decides, once
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert _outcomes(request) == ["access.request.approved"]
    assert Grant.objects.filter(request=request).count() == 1
    delivery = SlackDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DONE, 2)


def test_a_delivery_left_handling_by_a_dead_worker_is_acted_on_after_its_lease(
    client, slack, role, staff_user, approver, time_machine
):
    # given a click whose worker claimed it and died (the row stays "being handled")
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    payload = click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk)
    _delivery, claimed = slack_delivery_claim(body=body_of(payload))
    assert claimed
    # when Slack retries within the lease, it is acknowledged and nothing is decided
    assert post(client, payload, HTTP_X_SLACK_RETRY_NUM="1").status_code == 200
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    # when it retries after the lease
    time_machine.move_to(timezone.now() + HANDLING_LEASE + timedelta(seconds=1))
    assert post(client, payload, HTTP_X_SLACK_RETRY_NUM="2").status_code == 200
    # then it is acted on, once
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert _outcomes(request) == ["access.request.approved"]
    assert SlackDelivery.objects.get().attempts == 2


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
    # needs no token) and where to deny instead; no modal, nothing decided, marked failed
    assert first.status_code == 200
    (reply,) = slack.called("respond")
    assert "no Slack bot token" in reply.args["text"] and "on the portal" in reply.args["text"]
    assert reply.args["response_type"] == "ephemeral"
    assert slack.called("views.open") == []
    assert SlackDelivery.objects.get().state == DeliveryState.FAILED
    # when the token is configured again and the same click comes again (Slack's retry)
    settings.SLACK_BOT_TOKEN = TOKEN
    second = post(client, body, HTTP_X_SLACK_RETRY_NUM="1")
    # then it is acted on: the modal asking for the reason opens, once
    assert second.status_code == 200
    (opened,) = slack.called("views.open")
    assert opened.args["view"]["callback_id"] == "jp_deny_reason"
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and _outcomes(request) == []
