"""Celery beat: the schedule entry (a data migration) and the due-rules task."""

from __future__ import annotations

import importlib
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import close_old_connections
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.crm.models import Customer
from apps.retention import tasks
from apps.retention.models import PurgeRun, PurgeRunStatus
from tests.retention.conftest import NOW, OLD
from tests.retention.factories import CustomerFactory, make_rule

TASK_NAME = "retention: run due purges"


@pytest.mark.django_db
def test_the_nightly_schedule_entry_comes_from_a_data_migration_and_names_a_registered_task():
    from django.apps import apps as django_apps

    migration = importlib.import_module("apps.retention.migrations.0002_beat_schedule")
    # (a transactional test elsewhere may have flushed what migrate wrote: write it again)
    PeriodicTask.objects.filter(name=TASK_NAME).delete()
    migration.create_schedule(django_apps, None)
    entry = PeriodicTask.objects.get(name=TASK_NAME)
    assert entry.enabled and entry.task == "apps.retention.tasks.purge_due_rules"
    assert (entry.crontab.minute, entry.crontab.hour) == ("30", "2")
    from jitportal.celery import app

    assert entry.task in app.tasks
    assert "apps.retention.tasks.purge_run_execute_task" in app.tasks
    # an entry edited in the admin is left alone by the migration
    entry.enabled = False
    entry.save()
    migration.create_schedule(django_apps, None)
    assert PeriodicTask.objects.filter(name=TASK_NAME).get().enabled is False
    migration.remove_schedule(django_apps, None)
    assert not PeriodicTask.objects.filter(name=TASK_NAME).exists()


@pytest.mark.django_db
@pytest.mark.postgres
def test_beat_runs_each_due_rule_once(django_capture_on_commit_callbacks):
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(3)
    with time_machine.travel(NOW, tick=False):
        due = make_rule(name="due")
        make_rule(name="off", enabled=False)
        # when beat's task runs
        with django_capture_on_commit_callbacks(execute=True):
            summary = tasks.purge_due_rules.delay().get()
        run = PurgeRun.objects.get()
        assert summary["planned"] == 1
        assert run.rule == due and run.trigger == "beat" and run.actor_label == "system:beat"
        assert run.status == PurgeRunStatus.SUCCEEDED and Customer.objects.count() == 0
    # then the rule is not due again until run_every_days have passed
    with time_machine.travel(NOW + timedelta(hours=12), tick=False):
        assert tasks.purge_due_rules.delay().get()["planned"] == 0
    with (
        time_machine.travel(NOW + timedelta(days=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tasks.purge_due_rules.delay().get()["planned"] == 1


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_planned_run_whose_message_was_lost_is_queued_again(django_capture_on_commit_callbacks):
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(2)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule(enabled=False)
        lost = PurgeRun.objects.create(
            rule=rule,
            trigger="admin",
            actor_label="dpo",
            action="delete",
            created_at=NOW - timedelta(minutes=30),
        )
        with django_capture_on_commit_callbacks(execute=True):
            summary = tasks.purge_due_rules.delay().get()
    lost.refresh_from_db()
    assert summary["requeued"] == 1 and lost.status == PurgeRunStatus.SUCCEEDED
    assert tasks.purge_run_execute_task.delay(lost.pk).get() == "skipped"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_purge_beat_asks_for(celery_worker_redis):
    # given an expired customer and a due rule (rows dated by hand: the worker's clock is real)
    old = timezone.now() - timedelta(days=7 * 365)
    CustomerFactory(created_at=old, last_activity_at=old)
    make_rule()
    # when beat's message goes through Redis to the worker
    tasks.purge_due_rules.delay()

    # then the worker plans the run, queues its execution, and executes it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        close_old_connections()
        run = PurgeRun.objects.filter(status=PurgeRunStatus.SUCCEEDED).first()
        if run is not None:
            break
        time.sleep(0.2)
    assert run is not None and run.affected == 1 and run.trigger == "beat"
    assert Customer.objects.count() == 0
