"""The notice outbox: notices survive a dead broker, and the web does not wait on it.

The dead broker is real: the broker URL points at a port where nothing listens, so every
publish meets a refused connection. "Back" is the real Redis of the test settings.
"""

from __future__ import annotations

import re
import smtplib
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from apps.access import notifications, outbox, services, tasks
from apps.access.models import (
    AccessRequest,
    Grant,
    GrantStatus,
    Notice,
    NoticeKind,
    NoticeStatus,
)
from jitportal import tasking
from tests.access.factories import GrantFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused
# How long a request takes on a dead broker is measured by bench/bench_dead_broker.py; the
# tests here prove why it is short: one try of the broker per request at most, with its
# connect timeout, and none while paused.


class FailingEmailBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("mail server down")


def submit(user, role, **kwargs):
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        justification="Customer complaint",
        **kwargs,
    )


def point_at_dead_broker(celery_conf):
    """Tasks are really published (not run eagerly), to a broker that refuses connections.

    One publish first pays what a process pays once (importing the transport), so that the
    timings below are those of a request, not of a cold process."""
    app = celery_conf(task_always_eager=False, broker_url=DEAD_BROKER)
    tasking.enqueue(tasks.grant_mirror_sync_task, 0)
    tasking.broker_pause_clear()
    return app


@pytest.fixture
def dead_broker(celery_conf):
    return point_at_dead_broker(celery_conf)


@pytest.fixture
def broker_tries(monkeypatch):
    """Every publish that reaches for the broker, with the connect timeout it gave (the
    real publish still runs: this only counts)."""
    tries: list[float] = []
    real = tasking._publish

    def counted(task, *args, **kwargs):
        tries.append(float(task.app.conf.broker_connection_timeout or 1.0))
        return real(task, *args, **kwargs)

    monkeypatch.setattr(tasking, "_publish", counted)
    return tries


@pytest.fixture
def broker_connects(monkeypatch):
    """Every socket connection the Redis client opens to the dead broker (port 1): kombu's
    or redis-py's own retries would each open one (the real connect still runs)."""
    import redis.connection

    ports: list[int] = []
    real = redis.connection.Connection._connect

    def counted(self):
        if self.port == 1:
            ports.append(self.port)
        return real(self)

    monkeypatch.setattr(redis.connection.Connection, "_connect", counted)
    return ports


def broker_back(celery_conf):
    """The broker answers again: the real Redis, tasks run in-process as the suite does."""
    tasking.broker_pause_clear()
    return celery_conf(task_always_eager=True, broker_url=settings.REDIS_URL)


def new_notices(before: int) -> list[Notice]:
    return list(Notice.objects.filter(pk__gt=before).order_by("pk"))


def last_notice_pk() -> int:
    return Notice.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- every web decision over a dead broker ------------------------------------------------------


def _do_submit(client, ctx):
    client.force_login(ctx["staff"])
    return client.post(
        reverse("access-request-create"),
        {
            "target": f"role-{ctx['role'].pk}",
            "start": "now",
            "duration": "2",
            "justification": "Customer complaint about a missing order",
        },
    )


def _do_approve(client, ctx):
    client.force_login(ctx["approver"])
    url = reverse("admin:access_accessrequest_decide", args=[ctx["request"].pk, "approve"])
    return client.post(url, {"comment": ""})


def _do_deny(client, ctx):
    client.force_login(ctx["approver"])
    url = reverse("admin:access_accessrequest_decide", args=[ctx["request"].pk, "deny"])
    return client.post(url, {"reason": "Not needed for this ticket"})


def _do_revoke(client, ctx):
    client.force_login(ctx["approver"])
    url = reverse("admin:access_grant_revoke", args=[ctx["grant"].pk])
    return client.post(url, {"reason": "The project closed"})


def _do_break_glass(client, ctx):
    client.force_login(ctx["dpo"])
    url = reverse("admin:access_grant_break_glass")
    return client.post(url, {"asset": ctx["asset"].pk, "minutes": 30, "reason": "Outage #99"})


WEB_ACTIONS = {
    "submit": (_do_submit, {NoticeKind.REQUEST_SUBMITTED}),
    "approve": (_do_approve, {NoticeKind.REQUEST_DECIDED}),
    "deny": (_do_deny, {NoticeKind.REQUEST_DECIDED}),
    "revoke": (_do_revoke, {NoticeKind.GRANT_REVOKED}),
    "break_glass": (_do_break_glass, {NoticeKind.BREAK_GLASS}),
}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", list(WEB_ACTIONS))
def test_web_decision_with_the_broker_dead_keeps_its_notice_and_tries_the_broker_once(
    action,
    client,
    role,
    asset,
    staff_user,
    staff2,
    approver,
    dpo,
    celery_conf,
    mailoutbox,
    broker_tries,
):
    # Given a pending request, a live grant, and then a broker that refuses connections
    ctx = {
        "role": role,
        "asset": asset,
        "staff": staff_user,
        "approver": approver,
        "dpo": dpo,
        "request": submit(staff2, role),
        "grant": GrantFactory(user=staff2, assets=[asset]),
    }
    point_at_dead_broker(celery_conf)
    broker_tries.clear()  # the warm-up publish of a cold process
    before = last_notice_pk()
    mailoutbox.clear()
    do, kinds = WEB_ACTIONS[action]
    # When the decision is posted (each service commits; its publishes happen after commit)
    response = do(client, ctx)
    # Then the request tried the broker once, within its connect timeout, and skipped it for
    # every other publish; its notices are committed, unsent
    assert response.status_code == 302, response.content.decode()[:500]
    assert broker_tries == [settings.CELERY_BROKER_CONNECTION_TIMEOUT], broker_tries
    assert tasking.broker_is_paused()
    notices = new_notices(before)
    assert {n.kind for n in notices} == kinds
    assert all(n.status == NoticeStatus.PENDING for n in notices)
    assert mailoutbox == []
    # When the broker is back and the reconcile runs after the first retry delay
    broker_back(celery_conf)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        tasks.access_reconcile_task.delay()
        tasks.access_reconcile_task.delay()
    # Then each notice was sent exactly once, to its recipients
    for notice in notices:
        notice.refresh_from_db()
        assert notice.status == NoticeStatus.SENT and notice.tries == 1
    assert len(mailoutbox) == sum(n.recipients or 0 for n in notices) >= 1


@pytest.mark.django_db(transaction=True)
def test_example_a_submit_with_the_broker_dead_tries_it_once_without_retries(
    client, role, staff_user, staff2, dead_broker, broker_tries, broker_connects
):
    # The reported case: a submit took 3.6 s while Redis was down (kombu retried the
    # connection). Now one try, and the next request does not try at all while paused.
    broker_tries.clear()  # the warm-up publish of a cold process
    broker_connects.clear()
    response = _do_submit(client, {"staff": staff_user, "role": role})
    assert response.status_code == 302
    assert len(broker_tries) == 1
    assert len(broker_connects) == 1  # one connection attempt, no retry
    assert Notice.objects.get().kind == NoticeKind.REQUEST_SUBMITTED
    response = _do_submit(client, {"staff": staff2, "role": role})
    assert response.status_code == 302
    assert len(broker_tries) == 1
    assert len(broker_connects) == 1
    assert Notice.objects.count() == 2


def test_one_failed_publish_pauses_the_rest_of_the_request(dead_broker, staff_user, broker_tries):
    # Given a dead broker, when a request would queue several tasks (notice, activation, ...)
    broker_tries.clear()  # the warm-up publish of a cold process
    results = [tasking.enqueue(tasks.grant_mirror_sync_task, 1) for _ in range(5)]
    # Then only the first tries the broker; the others cost nothing
    assert results == [False] * 5
    assert tasking.broker_is_paused()
    assert len(broker_tries) == 1


def test_a_live_broker_gets_the_message(celery_conf):
    # The same publish path reaches a broker that answers (the message is then dropped).
    from kombu import Connection

    app = celery_conf(task_always_eager=False, broker_url=settings.REDIS_URL)
    with Connection(settings.REDIS_URL) as conn:
        conn.default_channel.queue_purge("celery")
        assert tasking.enqueue(tasks.grant_mirror_sync_task, 0) is True
        assert conn.default_channel.queue_purge("celery") == 1
    assert not tasking.broker_is_paused()
    assert app.conf.broker_url == settings.REDIS_URL


# --- every notice kind and every decision service go through the outbox -------------------------


def test_every_notice_kind_of_every_decision_goes_through_the_outbox(
    role,
    asset,
    staff_user,
    staff2,
    approver,
    dpo,
    dead_broker,
    mailoutbox,
    django_capture_on_commit_callbacks,
    celery_conf,
):
    # Given a dead broker; when every service that decides something runs, and the reconcile
    # lapses, reminds and warns (every path that makes a notice)
    third = UserFactory(username="staff3", groups=["Staff"])
    fourth = UserFactory(username="staff4", groups=["Staff"])
    with django_capture_on_commit_callbacks(execute=True):
        approved = submit(staff_user, role)
        services.access_request_approve(request_id=approved.pk, approver=approver)
        denied = submit(staff2, role)
        services.access_request_deny(request_id=denied.pk, approver=approver, reason="No")
        grant = Grant.objects.get(request=approved)
        extension = services.access_request_extend(
            grant_id=grant.pk,
            requester=staff_user,
            ends_at=grant.ends_at + timedelta(hours=1),
            justification="More time",
        )
        services.access_request_cancel(request_id=extension.pk, actor=staff_user)
        services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")
        services.grant_break_glass(
            user=dpo, asset=asset, duration=timedelta(minutes=30), reason="Outage"
        )
        to_lapse = submit(third, role)
        to_remind = submit(fourth, role)
        now = timezone.now()
        AccessRequest.objects.filter(pk=to_lapse.pk).update(lapses_at=now - timedelta(minutes=1))
        AccessRequest.objects.filter(pk=to_remind.pk).update(remind_at=now - timedelta(minutes=1))
        expiring = GrantFactory(
            user=staff2,
            assets=[asset],
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(minutes=10),
        )
        mirrored = GrantFactory(user=third, assets=[asset])
        services.grant_relinquish(grant_id=mirrored.pk, actor=third)
        counts = services.access_reconcile(now=now)
    assert counts["lapsed"] == 1 and counts["reminded"] == 1 and counts["warned"] == 1
    # Then nothing was mailed past the outbox, and every kind there is was written to it
    assert mailoutbox == []
    notices = list(Notice.objects.order_by("pk"))
    # (the connectors write the last kind: tests/connectors/test_credentials.py)
    written_elsewhere = {NoticeKind.GRANT_TARGET_FAILING}
    assert set(notifications.KINDS) == set(NoticeKind.values)
    assert {n.kind for n in notices} == set(NoticeKind.values) - written_elsewhere
    assert all(n.status == NoticeStatus.PENDING for n in notices)
    assert Notice.objects.filter(kind=NoticeKind.GRANT_EXPIRING, object_id=expiring.pk).exists()
    # When the broker is back and the reconcile sends what waits, twice over
    broker_back(celery_conf)
    later = now + timedelta(minutes=2)
    first = outbox.notice_send_due(now=later)
    again = outbox.notice_send_due(now=later)
    # Then each notice was sent once
    assert first[outbox.SENT] == len(notices) and again[outbox.SENT] == 0
    assert Notice.objects.exclude(status=NoticeStatus.SENT).count() == 0
    assert len(mailoutbox) == sum(Notice.objects.values_list("recipients", flat=True))


SENDERS = re.compile(
    r"\.delay\(|apply_async\(|\bsend_task\(|send_mail\(|send_mass_mail\(|EmailMessage\(|"
    r"EmailMultiAlternatives\(|send_messages\(|mail_admins\(|mail_managers\("
)
# The only modules allowed to publish tasks or write mail: the queueing helper and the
# renderer the outbox calls.
SENDING_MODULES = {
    Path("jitportal/tasking.py"),
    Path("apps/access/notifications.py"),
}


def test_no_code_sends_mail_or_publishes_a_task_around_the_outbox():
    # Every module of the project, found at run time: a new notice or task queued from a
    # web request must go through jitportal.tasking (and an email through the outbox).
    root = Path(settings.BASE_DIR)
    offenders = []
    for path in sorted([*root.glob("apps/**/*.py"), *root.glob("jitportal/**/*.py")]):
        rel = path.relative_to(root)
        if "migrations" in rel.parts or rel in SENDING_MODULES:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SENDERS.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []


def test_notification_send_is_called_only_by_the_outbox():
    root = Path(settings.BASE_DIR)
    callers = {
        path.relative_to(root)
        for path in root.glob("apps/**/*.py")
        if "notification_send(" in path.read_text()
    }
    assert callers == {Path("apps/access/outbox.py"), Path("apps/access/notifications.py")}


# --- idempotent sending ---------------------------------------------------------------------


def test_a_notice_sent_twice_mails_once(
    role, staff_user, approver, mailoutbox, django_capture_on_commit_callbacks
):
    request = submit(staff_user, role)  # on_commit not run: the notice waits
    notice = Notice.objects.get()
    assert outbox.notice_send(notice_id=notice.pk) == outbox.SENT
    assert outbox.notice_send(notice_id=notice.pk) == outbox.SKIPPED
    assert tasks.access_notify.delay(notice.pk).get() == outbox.SKIPPED
    assert outbox.notice_send_due(now=timezone.now() + timedelta(days=1))[outbox.SENT] == 0
    assert [m.to for m in mailoutbox] == [[approver.email]]
    assert request.pk == notice.object_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_notice_another_worker_is_sending_is_skipped(
    role, staff_user, approver, mailoutbox, dead_broker
):
    # Given a notice another worker has claimed (its row lock held in another connection)
    submit(staff_user, role)
    notice = Notice.objects.get()
    claimed, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Notice.objects.select_for_update().get(pk=notice.pk)
                claimed.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert claimed.wait(10)
        # When this worker and the reconcile try it at the same time
        assert outbox.notice_send(notice_id=notice.pk) == outbox.SKIPPED
        later = timezone.now() + timedelta(minutes=5)
        assert outbox.notice_send_due(now=later)[outbox.SENT] == 0
    finally:
        release.set()
        thread.join()
    # Then nothing was sent twice: it is sent once, when the lock is gone
    assert mailoutbox == []
    assert outbox.notice_send(notice_id=notice.pk) == outbox.SENT
    assert len(mailoutbox) == 1


# --- bounded retries, break-glass never given up, the admin -------------------------------------


def test_a_notice_is_retried_with_backoff_then_given_up(
    role, staff_user, approver, settings, mailoutbox
):
    settings.EMAIL_BACKEND = "tests.access.test_outbox.FailingEmailBackend"
    settings.JITPORTAL = {**settings.JITPORTAL, "NOTICE_MAX_TRIES": 3}
    submit(staff_user, role)
    notice = Notice.objects.get()
    now = timezone.now()
    waits = []
    for _ in range(3):
        now = notice.next_try_at
        outbox.notice_send_due(now=now)
        notice.refresh_from_db()
        waits.append(notice.next_try_at - now)
    assert notice.status == NoticeStatus.FAILED and notice.tries == 3
    assert "mail server down" in notice.last_error
    assert waits[0] < waits[1]  # backoff grows
    # A given-up notice is not tried again by the reconcile
    assert outbox.notice_send_due(now=now + timedelta(days=1))[outbox.RETRY] == 0


def test_the_break_glass_notice_is_never_given_up(asset, dpo, settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.access.test_outbox.FailingEmailBackend"
    settings.JITPORTAL = {**settings.JITPORTAL, "NOTICE_MAX_TRIES": 2}
    services.grant_break_glass(user=dpo, asset=asset, duration=timedelta(minutes=30), reason="x")
    notice = Notice.objects.get()
    for _ in range(12):
        now = notice.next_try_at
        outbox.notice_send_due(now=now)
        notice.refresh_from_db()
    # Then it is still waiting past the bound, escalated, retried at the longest interval
    assert notice.status == NoticeStatus.PENDING and notice.tries == 12
    assert notice.escalated_at is not None
    longest = timedelta(seconds=settings.JITPORTAL["NOTICE_RETRY_MAX_SECONDS"])
    assert notice.next_try_at - now == longest
    assert mailoutbox == []
    # When the mail server is back, the DPO is told
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox.notice_send_due(now=notice.next_try_at)[outbox.SENT] == 1
    assert [m.to for m in mailoutbox] == [[dpo.email]]


def test_a_break_glass_notice_nobody_can_receive_is_not_counted_as_sent(asset, groups):
    # The only DPO has no email address: the alert waits and is retried, it is not "sent".
    user = UserFactory(username="dpo-no-mail", groups=["DPO"], email="")
    services.grant_break_glass(user=user, asset=asset, duration=timedelta(minutes=5), reason="x")
    notice = Notice.objects.get()
    assert outbox.notice_send(notice_id=notice.pk) == outbox.RETRY
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PENDING and "no active DPO" in notice.last_error


def test_admin_lists_the_outbox_and_resends_a_given_up_notice(
    client, role, staff_user, approver, dpo, settings, mailoutbox
):
    settings.JITPORTAL = {**settings.JITPORTAL, "NOTICE_MAX_TRIES": 1}
    settings.EMAIL_BACKEND = "tests.access.test_outbox.FailingEmailBackend"
    submit(staff_user, role)
    failed = Notice.objects.get()
    outbox.notice_send(notice_id=failed.pk)
    failed.refresh_from_db()
    assert failed.status == NoticeStatus.FAILED
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    url = reverse("admin:access_notice_changelist")
    # An approver sees the list but may not re-send
    client.force_login(approver)
    page = client.get(url).content.decode()
    assert "gave up" in page and "mail server down" in page
    assert "resend_selected" not in page
    # The DPO re-sends it: it is sent once; a sent notice is refused
    client.force_login(dpo)
    data = {"action": "resend_selected", "_selected_action": [failed.pk]}
    with_callbacks = client.post(url, data, follow=True)
    assert with_callbacks.status_code == 200
    failed.refresh_from_db()
    assert failed.status == NoticeStatus.PENDING and failed.tries == 0
    assert outbox.notice_send(notice_id=failed.pk) == outbox.SENT
    response = client.post(url, data, follow=True)
    assert "already sent" in response.content.decode()
    assert [m.to for m in mailoutbox] == [[approver.email]]


def test_admin_filters_render(client, dpo):
    client.force_login(dpo)
    url = reverse("admin:access_notice_changelist")
    for query in (
        "?status__exact=failed",
        "?escalated=yes",
        "?escalated=no",
        "?kind__exact=break_glass",
    ):
        assert client.get(url + query).status_code == 200


def test_grant_activation_and_mirror_removal_lost_with_the_broker_are_done_by_reconcile(
    role, asset, staff_user, approver, dead_broker, django_capture_on_commit_callbacks
):
    # The other tasks the web queues (activation, mirror removal) need no outbox: the
    # reconcile finds their work from the rows themselves.
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(staff_user, role)
        services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get(request=request)
    assert grant.status == GrantStatus.SCHEDULED
    assert services.access_reconcile()["activated"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")
    assert services.access_reconcile()["unmirrored"] == 1
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED and not grant.mirrored


def test_admin_search_takes_any_text(client, dpo):
    client.force_login(dpo)
    url = reverse("admin:access_notice_changelist")
    for term in ("abc", "99999999999999999999999", "-1", "1"):
        assert client.get(url, {"q": term}).status_code == 200


def test_a_message_queued_before_the_outbox_is_put_in_it(role, staff_user, approver, mailoutbox):
    # A message of the old form (kind, object id) still in the broker at upgrade time
    request = submit(staff_user, role)
    Notice.objects.all().delete()
    assert tasks.access_notify.delay("request_submitted", request.pk).get() == outbox.SENT
    assert Notice.objects.get().status == NoticeStatus.SENT
    assert [m.to for m in mailoutbox] == [[approver.email]]


def test_a_busy_connection_pool_is_not_taken_for_a_dead_broker(celery_conf):
    # Given a live broker whose only pooled connection is in use
    app = celery_conf(task_always_eager=False, broker_url=settings.REDIS_URL, broker_pool_limit=1)
    with app.pool.acquire(block=True):
        started = time.monotonic()
        # When a publish finds no free connection
        queued = tasking.enqueue(tasks.grant_mirror_sync_task, 0)
    # Then it gives up (after the connection timeout: 10 s is only a guard against waiting
    # for the pool for ever), and the broker is not paused
    assert queued is False
    assert time.monotonic() - started < 10
    assert not tasking.broker_is_paused()
