"""The dashboard says when each periodic task last ran and whether beat looks stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.reports.dashboard import beat_status

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def schedules(db):
    # Transactional tests elsewhere may have flushed the rows the migrations create.
    PeriodicTask.objects.all().delete()
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    nightly = CrontabSchedule.objects.create(minute="30", hour="2")
    reconcile = PeriodicTask.objects.create(
        name="access: reconcile grants and requests", task="access.reconcile", interval=every_minute
    )
    purge = PeriodicTask.objects.create(
        name="retention: run due purges",
        task="apps.retention.tasks.purge_due_rules",
        crontab=nightly,
    )
    PeriodicTask.objects.create(
        name="someone else's", task="celery.backend_cleanup", interval=every_minute
    )
    return reconcile, purge


def test_recent_runs_are_on_time(schedules):
    # given both tasks ran recently
    reconcile, purge = schedules
    reconcile.last_run_at = NOW - timedelta(minutes=2)
    reconcile.save()
    # (the nightly purge at its 02:30 slot this morning)
    purge.last_run_at = NOW - timedelta(hours=9, minutes=30)
    purge.save()
    # when the dashboard reads them
    rows = {row["name"]: row for row in beat_status(now=NOW)}
    # then only the portal's tasks are listed, both on time
    assert set(rows) == {reconcile.name, purge.name}
    assert not rows[reconcile.name]["late"]
    assert rows[reconcile.name]["ago"] == "2 min"
    assert not rows[purge.name]["late"]


def test_a_stopped_beat_shows_as_late(schedules):
    # given the reconcile task last ran 20 minutes ago and the purge, set up two days ago,
    # never ran
    reconcile, purge = schedules
    reconcile.last_run_at = NOW - timedelta(minutes=20)
    reconcile.save()
    PeriodicTask.objects.filter(pk=purge.pk).update(date_changed=NOW - timedelta(days=2))
    # then both are late
    rows = {row["name"]: row for row in beat_status(now=NOW)}
    assert rows[reconcile.name]["late"]
    assert rows[purge.name]["late"] and rows[purge.name]["last_run_at"] is None


def test_a_task_that_never_had_a_due_time_is_not_late(schedules):
    # given a fresh install: both tasks created at 11:00, beat started, nothing run yet
    reconcile, purge = schedules
    PeriodicTask.objects.filter(pk__in=[reconcile.pk, purge.pk]).update(
        date_changed=NOW - timedelta(hours=1)
    )
    rows = {row["name"]: row for row in beat_status(now=NOW)}
    # then the nightly purge, first due at 02:30 tomorrow, is not late and says when it is due
    assert not rows[purge.name]["late"]
    assert rows[purge.name]["first_due_at"] == datetime(2026, 6, 2, 2, 30, tzinfo=UTC)
    # and the minutely reconcile that never ran in an hour is
    assert rows[reconcile.name]["late"]


def test_a_switched_off_task_is_not_called_late(schedules):
    reconcile, _ = schedules
    reconcile.enabled = False
    reconcile.save()
    rows = {row["name"]: row for row in beat_status(now=NOW)}
    assert not rows[reconcile.name]["late"]
    assert not rows[reconcile.name]["enabled"]


def test_dashboard_page_shows_the_panel(client, dpo, schedules):
    # given a fresh install: nothing has run yet, nothing has been due yet
    client.force_login(dpo)
    response = client.get(reverse("admin:reports_dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="beat-status"' in body
    # then no task is called late, and the nightly one says when it is first due
    assert "late: is beat running?" not in body
    assert "never (first due " in body
    # and once the tasks have been set up for two days without running, both are late
    PeriodicTask.objects.update(date_changed=timezone.now() - timedelta(days=2))
    body = client.get(reverse("admin:reports_dashboard")).content.decode()
    assert body.count("late: is beat running?") == 2
