"""A real Celery worker (Redis) sends deliveries; two tasks at once send one POST."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from apps.audit.services import audit_event_record
from apps.webhooks.models import DeliveryStatus, WebhookDelivery
from apps.webhooks.services import DELIVERED, SKIPPED, webhook_delivery_send
from apps.webhooks.tasks import webhook_delivery_send_task
from tests.access.conftest import celery_conf  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(check, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if check():
            return True
        time.sleep(0.1)
    return False


def test_two_sends_at_once_give_one_post(subscription, receiver):
    # Given a waiting delivery and an endpoint that takes half a second to answer
    # (committed here, so its eager task already ran once: it is made waiting again)
    audit_event_record(action="access.breakglass.used", actor_label="system:test")
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, tries=0, next_try_at=timezone.now()
    )
    receiver.received.clear()
    receiver.delay = 0.5
    outcomes: list[str] = []

    def send() -> None:
        try:
            outcomes.append(webhook_delivery_send(delivery_id=delivery.pk))
        finally:
            connections.close_all()

    # When two workers run its task at the same moment
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one sent it and the other skipped the claimed row: one POST
    assert sorted(outcomes) == [DELIVERED, SKIPPED]
    assert len(receiver.received) == 1
    # and a third run later finds it delivered
    assert webhook_delivery_send(delivery_id=delivery.pk) == SKIPPED
    assert len(receiver.received) == 1


@pytest.mark.redis
def test_a_real_worker_sends_the_event_once_even_when_its_task_is_sent_twice(
    celery_conf,  # noqa: F811
    subscription,
    receiver,
):
    from celery.contrib.testing.worker import start_worker

    app = celery_conf(
        task_always_eager=False,
        broker_url=settings.REDIS_URL,
        result_backend=None,
        task_ignore_result=True,
    )
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        # Given a committed event (its send is queued on commit, to the worker)
        audit_event_record(action="access.grant.activated", actor_label="system:test")
        delivery = WebhookDelivery.objects.get()
        # When the same task is queued again (a duplicate message)
        webhook_delivery_send_task.apply_async(args=[delivery.pk])
        # Then the worker delivers it, once
        assert _wait_for(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED
        )
        time.sleep(0.5)
    assert len(receiver.received) == 1


@pytest.mark.postgres
def test_two_approvers_at_once_give_one_decided_event(
    subscription, receiver, role, staff_user, approver, groups
):
    # Given a request needing one approval, and two approvers
    from apps.access import services as access
    from tests.access.test_invariants import _race, submit
    from tests.factories import UserFactory

    approver2 = UserFactory(username="approver2", groups=["Approvers"], is_staff=True)
    request = submit(staff_user, role)
    # When both approve at the same instant
    _race(
        [
            lambda: access.access_request_approve(request_id=request.pk, approver=approver),
            lambda: access.access_request_approve(request_id=request.pk, approver=approver2),
        ]
    )
    # Then subscribers get one request.decided event, sent once
    decided = WebhookDelivery.objects.filter(event_type="request.decided")
    assert decided.count() == 1
    assert _wait_for(lambda: decided.get().status == DeliveryStatus.DELIVERED)
    bodies = [r.body for r in receiver.received if b'"request.decided"' in r.body]
    assert len(bodies) == 1
