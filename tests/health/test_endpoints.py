"""/health/live/ and /health/ready/: what each checks and how a failure is named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import current_app
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.access.models import Notice, NoticeKind, NoticeStatus

JSON = {"HTTP_ACCEPT": "application/json"}


def test_liveness_answers_without_touching_the_database(client):
    # given a test without database access (any query would raise)
    # when a probe asks whether the web process is alive
    response = client.get(reverse("health-live"), **JSON)
    # then it answers 200, uncached, having asked nothing of any service
    assert response.status_code == 200
    assert response.json() == {}
    assert "no-cache" in response["Cache-Control"]


def test_liveness_page_for_a_person(client):
    response = client.get(reverse("health-live"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Liveness" in response.content


@pytest.fixture
def on_time_schedule(db):
    # Transactional tests elsewhere may have flushed the rows the migrations create.
    PeriodicTask.objects.all().delete()
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name="access: reconcile grants and requests",
        task="access.reconcile",
        interval=every_minute,
        last_run_at=timezone.now() - timedelta(minutes=1),
    )


@pytest.mark.redis
def test_readiness_is_200_when_everything_answers(client, on_time_schedule):
    response = client.get(reverse("health-ready"), **JSON)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "Database(alias='default')": "OK",
        "Broker()": "OK",
        "BeatSchedule()": "OK",
        "OutboxBacklog()": "OK",
        "ConnectorFailures()": "OK",
        "WebhooksGivenUp()": "OK",
    }


@pytest.mark.redis
def test_readiness_names_late_periodic_tasks(client, on_time_schedule):
    # given the reconcile last ran an hour ago (every minute is its schedule)
    on_time_schedule.last_run_at = timezone.now() - timedelta(hours=1)
    on_time_schedule.save()
    # when readiness is asked
    response = client.get(reverse("health-ready"), **JSON)
    # then it fails and names the late task (the dashboard's rule)
    assert response.status_code == 500
    body = response.json()
    assert "access: reconcile grants and requests" in body["BeatSchedule()"]
    assert body["Database(alias='default')"] == "OK"


@pytest.mark.redis
def test_readiness_names_an_outbox_backlog(client, on_time_schedule, settings):
    settings.JITPORTAL = {**settings.JITPORTAL, "HEALTH_OUTBOX_MAX_AGE": timedelta(minutes=15)}
    now = timezone.now()

    def notice(age: timedelta, status: str = NoticeStatus.PENDING) -> Notice:
        return Notice.objects.create(
            kind=NoticeKind.REQUEST_SUBMITTED,
            object_id=1,
            status=status,
            created_at=now - age,
            next_try_at=now,
        )

    # given a notice waiting 5 minutes and an old one already sent
    notice(timedelta(minutes=5))
    notice(timedelta(hours=2), NoticeStatus.SENT)
    assert client.get(reverse("health-ready"), **JSON).status_code == 200
    # when two notices have waited more than 15 minutes
    notice(timedelta(minutes=20))
    notice(timedelta(hours=3))
    response = client.get(reverse("health-ready"), **JSON)
    # then readiness fails and says how many
    assert response.status_code == 500
    assert "2 notices have waited more than 15 minutes" in response.json()["OutboxBacklog()"]


def test_readiness_names_the_broker_when_it_does_not_answer(client, on_time_schedule, settings):
    # given a broker URL pointing at a closed port
    settings.CELERY_BROKER_URL = "redis://:secret@127.0.0.1:9/0"
    previous = current_app.conf.broker_url
    current_app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get(reverse("health-ready"), **JSON)
    finally:
        current_app.conf.broker_url = previous
    # then readiness fails naming the broker, without the URL's password
    assert response.status_code == 500
    body = response.json()
    assert body["Broker()"].startswith("Unavailable: The broker does not answer (redis:")
    assert "secret" not in response.content.decode()
    assert body["Database(alias='default')"] == "OK"


@pytest.mark.redis
@pytest.mark.parametrize(
    ("language", "heading", "late"),
    [
        ("de", "Betriebsbereitschaft", "Ist Celery beat gestartet?"),
        ("fr", "État de préparation", "Celery beat est-il démarré ?"),
    ],
)
def test_readiness_page_in_the_readers_language(client, on_time_schedule, language, heading, late):
    on_time_schedule.last_run_at = timezone.now() - timedelta(hours=1)
    on_time_schedule.save()
    response = client.get(
        reverse("health-ready"), HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 500
    content = response.content.decode()
    assert heading in content
    assert late in content


@pytest.mark.parametrize("value", ["1\x00", "99999999999999999999", "²", "\u200b", "\x1b[2J"])
def test_hostile_parameters_get_the_report_not_a_crash(client, on_time_schedule, value):
    for name in ("health-live", "health-ready"):
        for params in ({"format": value}, {"q": value, "next": value}):
            response = client.get(reverse(name), params, HTTP_ACCEPT="text/html")
            # NUL is refused before any view (400); otherwise the report, whatever its verdict
            assert response.status_code in (200, 400, 500), (name, params)
            if response.status_code != 400:
                assert b"jitportal" in response.content
