"""The delivery core every signed-webhook sender uses: the outbox row, the signed POST,
one try at a time, retries with backoff (docs/webhooks.md, "Delivery")."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.webhooks.models import DeliveryError, DeliveryStatus, WebhookDelivery
from apps.webhooks.services import (
    DELIVERED,
    GAVE_UP,
    RETRY,
    SKIPPED,
    webhook_deliveries_send_due,
    webhook_delivery_create,
    webhook_delivery_send,
)
from apps.webhooks.signing import webhook_signature_verify
from tests.webhooks.conftest import subscription_set

pytestmark = pytest.mark.django_db


def _create(subscription, key="grant-1-provision", **extra):
    return webhook_delivery_create(
        subscription_id=subscription.pk,
        event_type="grant.provision",
        data={"grant": 1, **extra},
        idempotency_key=key,
    )


def test_a_delivery_is_signed_over_timestamp_and_body(subscription, receiver):
    # Given a subscription and a payload in the outbox
    sub, secret = subscription
    delivery = _create(sub)
    # When it is sent
    assert webhook_delivery_send(delivery_id=delivery.pk) == DELIVERED
    # Then the receiver got the stored body, and the signature checks out with the secret,
    # computed the way docs/webhooks.md tells receivers to
    [got] = receiver.received
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert got.path == "/hooks/jit"
    assert got.body == delivery.body.encode()
    stamp = headers["x-jitportal-timestamp"]
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + got.body, hashlib.sha256)
    assert headers["x-jitportal-signature"] == "v1=" + expected.hexdigest()
    assert webhook_signature_verify(
        secret=secret, timestamp=stamp, body=got.body, signature=headers["x-jitportal-signature"]
    )
    # and a wrong secret, a changed body or an old timestamp do not
    sig = headers["x-jitportal-signature"]
    assert not webhook_signature_verify(secret="x", timestamp=stamp, body=got.body, signature=sig)
    assert not webhook_signature_verify(
        secret=secret, timestamp=stamp, body=got.body + b" ", signature=sig
    )
    assert not webhook_signature_verify(
        secret=secret, timestamp=stamp, body=got.body, signature=sig, now=int(stamp) + 301
    )
    payload = json.loads(got.body)
    assert payload == {
        "id": str(delivery.event_id),
        "type": "grant.provision",
        "time": payload["time"],
        "data": {"grant": 1},
    }
    assert headers["x-jitportal-event-id"] == str(delivery.event_id)
    assert headers["idempotency-key"] == "grant-1-provision"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries, delivery.response_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )


def test_the_same_idempotency_key_gives_the_same_delivery(subscription, receiver):
    # Given a delivery made with a key
    sub, _secret = subscription
    first = _create(sub)
    # When a retried caller makes it again with the same key (even with other data)
    again = _create(sub, extra=True)
    # Then it is the same row, and one POST is sent
    assert again.pk == first.pk and WebhookDelivery.objects.count() == 1
    webhook_delivery_send(delivery_id=first.pk)
    webhook_delivery_send(delivery_id=first.pk)
    assert len(receiver.received) == 1


def test_retries_back_off_exponentially_then_succeed(subscription, receiver):
    # Given an endpoint that fails twice with 500
    sub, _secret = subscription
    receiver.statuses = [500, 500]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        delivery = _create(sub)
        # When it is tried: the first failure waits 30 s, the second 60 s
        assert webhook_delivery_send(delivery_id=delivery.pk) == RETRY
        delivery.refresh_from_db()
        assert delivery.next_try_at == start + timedelta(seconds=30)
        assert (delivery.response_code, delivery.error) == (500, DeliveryError.HTTP_STATUS)
        assert '"ok": false' in delivery.response_excerpt
        # (not due yet: nothing is sent, by the task or by the sweep)
        assert webhook_delivery_send(delivery_id=delivery.pk) == SKIPPED
        assert webhook_deliveries_send_due() == {DELIVERED: 0, RETRY: 0, GAVE_UP: 0}
        clock.shift(timedelta(seconds=30))
        assert webhook_deliveries_send_due()[RETRY] == 1
        delivery.refresh_from_db()
        assert delivery.next_try_at == start + timedelta(seconds=30 + 60)
        clock.shift(timedelta(seconds=59))
        assert webhook_deliveries_send_due()[DELIVERED] == 0
        clock.shift(timedelta(seconds=1))
        # Then the third try succeeds, with the same event id and body each time
        assert webhook_deliveries_send_due()[DELIVERED] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries, delivery.error) == (DeliveryStatus.DELIVERED, 3, "")
    assert len(receiver.received) == 3
    assert {r.body for r in receiver.received} == {delivery.body.encode()}


def test_a_delivery_is_given_up_after_max_tries(subscription, receiver):
    # Given an endpoint that always fails (MAX_TRIES is 4 in these tests)
    sub, _secret = subscription
    receiver.statuses = [503] * 10
    delivery = _create(sub)
    outcomes = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(5):
            outcomes.append(webhook_delivery_send(delivery_id=delivery.pk))
            clock.shift(timedelta(hours=2))
    # Then it stops after the fourth try
    assert outcomes == [RETRY, RETRY, RETRY, GAVE_UP, SKIPPED]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries, delivery.next_try_at) == (
        DeliveryStatus.FAILED,
        4,
        None,
    )


def test_a_dead_endpoint_is_a_connection_error_and_retried(subscription, receiver, dpo):
    # Given a subscription whose endpoint nobody listens on
    sub, _secret = subscription
    subscription_set(sub, dpo, url="http://127.0.0.1:9/closed", timeout_seconds=2)
    delivery = _create(sub)
    # When it is tried, then the failure is recorded with its code and it waits for a retry
    assert webhook_delivery_send(delivery_id=delivery.pk) == RETRY
    delivery.refresh_from_db()
    assert (delivery.error, delivery.response_code, delivery.status) == (
        DeliveryError.CONNECTION,
        None,
        DeliveryStatus.PENDING,
    )


def test_an_answer_sent_a_byte_at_a_time_holds_a_try_about_its_timeout(subscription, receiver, dpo):
    # Given an endpoint that answers 200 and then sends its body a byte every 0.1 s (20 s)
    import time

    sub, _secret = subscription
    subscription_set(sub, dpo, timeout_seconds=1)
    receiver.drip = 0.1
    delivery = _create(sub)
    # When it is tried
    started = time.monotonic()
    outcome = webhook_delivery_send(delivery_id=delivery.pk)
    # Then the try ends after about its timeout, with the start of the answer kept
    assert time.monotonic() - started < 3
    assert outcome == DELIVERED
    delivery.refresh_from_db()
    assert 3 <= len(delivery.response_excerpt) < 200


def test_beat_runs_the_sweep_and_both_tasks_are_registered_by_name():
    # Given the schedule's data migration, run twice (it is idempotent; a transactional test
    # elsewhere may have flushed the rows migrate wrote)
    import importlib

    from django.apps import apps as django_apps
    from django_celery_beat.models import PeriodicTask

    from apps.webhooks.services import TASK_SEND, TASK_SEND_DUE
    from jitportal.tasking import task_named

    migration = importlib.import_module("apps.webhooks.migrations.0002_beat_schedule")
    migration.create_schedule(django_apps, None)
    migration.create_schedule(django_apps, None)
    # Then beat's schedule holds the sweep once, by its registered name
    sweep = PeriodicTask.objects.get(name="webhooks: send due deliveries")
    assert sweep.enabled and sweep.task == TASK_SEND_DUE
    assert (sweep.interval.every, sweep.interval.period) == (30, "seconds")
    assert task_named(TASK_SEND).name == TASK_SEND
    assert task_named(TASK_SEND_DUE).name == TASK_SEND_DUE
