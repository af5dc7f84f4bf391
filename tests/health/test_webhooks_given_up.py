"""Given-up webhook deliveries turn readiness red and put a line on the dashboard, for
``WEBHOOKS["GIVEN_UP_ALERT_HOURS"]`` after their last try (docs/webhooks.md, "Watching")."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.webhooks.models import DeliveryStatus
from apps.webhooks.services import (
    GAVE_UP,
    webhook_deliveries_resend,
    webhook_delivery_create,
    webhook_delivery_send,
)
from tests.webhooks.conftest import LOCAL

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}
CHECK = "WebhooksGivenUp()"


@pytest.fixture(autouse=True)
def _beat_on_time(db):
    # Only this check is under test: the periodic tasks have just run.
    PeriodicTask.objects.all().delete()
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="webhooks: send due deliveries",
        task="webhooks.deliveries_send_due",
        interval=every_minute,
        last_run_at=timezone.now(),
    )


def _give_up(subscription, receiver, key: str):
    """A delivery sent to an endpoint that always answers 503, until it is given up
    (MAX_TRIES is 4 in these tests): tries 2 hours apart, the last one now."""
    receiver.statuses = [503] * 4
    with time_machine.travel(timezone.now() - timedelta(hours=6), tick=False):
        delivery = webhook_delivery_create(
            subscription_id=subscription.pk,
            event_type="grant.provision",
            data={"grant": 1},
            idempotency_key=key,
        )
    outcome = None
    with time_machine.travel(timezone.now() - timedelta(hours=6), tick=False) as clock:
        for _try in range(4):
            outcome = webhook_delivery_send(delivery_id=delivery.pk)
            clock.shift(timedelta(hours=2))
    assert outcome == GAVE_UP
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    return delivery


def _ready(client):
    """(HTTP status, this check's entry). Green is judged on the entry alone: the other
    checks (the broker) are not under test here."""
    response = client.get(reverse("health-ready"), **JSON)
    return response.status_code, response.json().get(CHECK)


def test_a_given_up_delivery_fails_readiness_until_resent(client, subscription, receiver, dpo):
    sub, _secret = subscription
    # Given a delivery that was delivered (nothing to watch)
    webhook_delivery_create(
        subscription_id=sub.pk, event_type="grant.provision", data={}, idempotency_key="ok"
    )
    assert webhook_delivery_send(delivery_id=sub.deliveries.get().pk) == "delivered"
    assert _ready(client)[1] == "OK"
    # When two deliveries to the subscription are given up after their last try
    first = _give_up(sub, receiver, "a")
    _give_up(sub, receiver, "b")
    # Then readiness fails, saying how many, over which period, and to which subscription
    status, message = _ready(client)
    assert status == 500
    assert "2 webhook deliveries were given up in the last 24 hours: SIEM." in message
    # When the DPO sends them again from the delivery log
    webhook_deliveries_resend(delivery_ids=[first.pk], actor=dpo)
    assert "1 webhook delivery was given up in the last 24 hours" in _ready(client)[1]
    webhook_deliveries_resend(delivery_ids=[first.pk + 1], actor=dpo)
    # Then readiness is green again
    assert _ready(client)[1] == "OK"


def test_the_period_is_the_setting(client, subscription, receiver):
    sub, _secret = subscription
    # Given a delivery given up now
    _give_up(sub, receiver, "a")
    # When the period is 6 hours and 7 hours have passed
    with override_settings(WEBHOOKS={**LOCAL, "GIVEN_UP_ALERT_HOURS": 6}):
        with time_machine.travel(timezone.now() + timedelta(hours=5), tick=False):
            status, message = _ready(client)
            assert status == 500
            assert "in the last 6 hours" in message
        with time_machine.travel(timezone.now() + timedelta(hours=7), tick=False):
            # Then it no longer turns readiness red (the log still shows it)
            assert _ready(client)[1] == "OK"
    assert sub.deliveries.filter(status=DeliveryStatus.FAILED).count() == 1


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("de", "Webhook-Zustellungen wurden in den letzten 24 Stunden"),
        ("fr", "livraisons webhook ont été abandonnées"),
    ],
)
def test_the_message_is_in_the_readers_language(client, subscription, receiver, language, words):
    sub, _secret = subscription
    _give_up(sub, receiver, "a")
    _give_up(sub, receiver, "b")
    response = client.get(
        reverse("health-ready"), HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 500
    assert words in response.content.decode()


def test_the_dashboard_names_the_subscription_and_links_its_given_up_deliveries(
    client, subscription, receiver, dpo
):
    sub, _secret = subscription
    url = reverse("admin:reports_dashboard")
    client.force_login(dpo)
    # Given nothing was given up: no line
    assert b"webhooks-given-up" not in client.get(url).content
    # When a delivery is given up
    _give_up(sub, receiver, "a")
    page = client.get(url).content.decode()
    # Then the dashboard's warnings say so, linking the log filtered to those deliveries
    assert "Webhook deliveries to SIEM given up in the last 24 hours: 1." in page
    log = reverse("admin:webhooks_webhookdelivery_changelist")
    assert f"{log}?subscription__id__exact={sub.pk}&amp;status__exact=failed" in page
    listed = client.get(f"{log}?subscription__id__exact={sub.pk}&status__exact=failed")
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
