"""A real Celery worker against Redis runs the access tasks (not eager)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from apps.access import services, tasks
from apps.access.models import Grant, GrantStatus, Notice, NoticeStatus, RequestStatus
from apps.audit.models import AuditEvent
from tests.access.factories import GrantFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def wait_for(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def worker(celery_conf):
    from celery.contrib.testing.worker import start_worker

    app = celery_conf(
        task_always_eager=False,
        broker_url=settings.REDIS_URL,
        result_backend=None,
        task_ignore_result=True,
    )
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as w:
        yield w


def test_worker_runs_the_reconcile_task(worker, asset, staff_user):
    # Given a grant whose window has ended and one whose window has begun
    now = timezone.now()
    ended = GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(hours=1),
        status=GrantStatus.ACTIVE,
    )
    begun = GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
        status=GrantStatus.SCHEDULED,
    )
    # When beat's message reaches the worker through Redis
    tasks.access_reconcile_task.delay()

    # Then the worker expires one and activates the other
    def done():
        ended.refresh_from_db()
        begun.refresh_from_db()
        return ended.status == GrantStatus.EXPIRED and begun.status == GrantStatus.ACTIVE

    assert wait_for(done), (ended.status, begun.status)
    assert begun.mirrored
    assert AuditEvent.objects.filter(
        action="access.grant.expired", actor_label="system:beat"
    ).exists()


def test_worker_activates_a_grant_after_approval(worker, role, staff_user, approver):
    now = timezone.now()
    request = services.access_request_submit(
        requester=staff_user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        justification="x",
    )
    # The approval commits (transaction=True), then the activation task goes through Redis
    services.access_request_approve(request_id=request.pk, approver=approver)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    grant = Grant.objects.get(request=request)

    def active():
        grant.refresh_from_db()
        return grant.status == GrantStatus.ACTIVE and grant.mirrored

    assert wait_for(active)
    assert AuditEvent.objects.get(action="access.grant.activated").actor == approver


def test_worker_sends_a_notice_once_however_often_it_is_queued(
    worker, role, staff_user, approver, mailoutbox
):
    # Given a submitted request: its notice is committed and sent through Redis by the worker
    now = timezone.now()
    services.access_request_submit(
        requester=staff_user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=4),
        justification="x",
    )
    notice = Notice.objects.get()

    def sent():
        notice.refresh_from_db()
        return notice.status == NoticeStatus.SENT

    assert wait_for(sent)
    # When the same notice is queued twice more (a duplicate message, a retry) and the
    # reconcile runs past its retry time
    marker = GrantFactory(
        user=approver,
        assets=[role.assets.first()],
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(hours=1),
        status=GrantStatus.ACTIVE,
    )
    tasks.access_notify.delay(notice.pk)
    tasks.access_notify.delay(notice.pk)
    tasks.access_reconcile_task.delay()  # after both, in queue order (one solo worker)

    def reconciled():
        marker.refresh_from_db()
        return marker.status == GrantStatus.EXPIRED

    assert wait_for(reconciled)
    services.access_reconcile(now=now + timedelta(hours=1))
    # Then the approvers got one email
    assert [m.to for m in mailoutbox] == [[approver.email]]
    notice.refresh_from_db()
    assert notice.tries == 1 and notice.recipients == 1
