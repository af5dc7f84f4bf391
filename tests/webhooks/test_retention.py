"""The delivery log's retention: delivered and given-up deliveries are deleted
``WEBHOOK_DELIVERY_RETENTION_DAYS`` after their last try, in batches, by beat's nightly task
or ``manage.py webhook_deliveries_prune`` (docs/webhooks.md, "Retention")."""

from __future__ import annotations

import importlib
import io
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.audit.models import AuditEvent
from apps.webhooks.models import DeliveryStatus, WebhookDelivery
from apps.webhooks.services import (
    DELIVERED,
    TASK_PRUNE,
    webhook_deliveries_prune,
    webhook_deliveries_resend,
    webhook_delivery_create,
    webhook_delivery_send,
)
from jitportal.tasking import task_named
from tests.webhooks.conftest import LOCAL

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def _delivered(sub, key: str) -> WebhookDelivery:
    delivery = webhook_delivery_create(
        subscription_id=sub.pk, event_type="grant.provision", data={"n": key}, idempotency_key=key
    )
    assert webhook_delivery_send(delivery_id=delivery.pk) == DELIVERED
    return delivery


def _given_up(sub, receiver, key: str) -> WebhookDelivery:
    receiver.statuses = [503] * LOCAL["MAX_TRIES"]
    delivery = webhook_delivery_create(
        subscription_id=sub.pk, event_type="grant.provision", data={}, idempotency_key=key
    )
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _try in range(LOCAL["MAX_TRIES"]):
            webhook_delivery_send(delivery_id=delivery.pk)
            clock.shift(timedelta(hours=2))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    return delivery


def _left(sub) -> set[str]:
    return set(sub.deliveries.values_list("idempotency_key", flat=True))


def test_settled_deliveries_are_deleted_after_the_retention_and_waiting_ones_never(
    subscription, receiver, dpo
):
    sub, _secret = subscription
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        # Given, 100 days ago: one delivered, one given up, one still waiting (its endpoint
        # paused it), one delivered then and re-sent lately
        _delivered(sub, "old-delivered")
        _given_up(sub, receiver, "old-given-up")
        webhook_delivery_create(
            subscription_id=sub.pk, event_type="grant.provision", data={}, idempotency_key="waits"
        )
        resent = _delivered(sub, "old-resent")
        # and, 80 days later, the re-send of the last one and a new delivery
        clock.shift(80 * DAY)
        webhook_deliveries_resend(delivery_ids=[resent.pk], actor=dpo)
        assert webhook_delivery_send(delivery_id=resent.pk) == DELIVERED
        _delivered(sub, "recent")
        # When the retention (90 days, the default) runs 100 days after the start
        clock.shift(20 * DAY)
        done = webhook_deliveries_prune()
    # Then what was settled and last tried more than 90 days ago is gone; the rest stays
    assert (done.deleted, done.kept) == (2, 0)
    assert _left(sub) == {"waits", "old-resent", "recent"}
    # and the run is one audit event, with the counts and the cutoff
    event = AuditEvent.objects.get(action="webhooks.deliveries.pruned")
    assert event.data["deleted"] == 2
    assert event.data["days"] == 90
    assert event.data["cutoff"] == (start + 10 * DAY).isoformat()
    # When it runs again, nothing more is deleted and nothing recorded
    with time_machine.travel(start + 100 * DAY, tick=False):
        assert webhook_deliveries_prune().deleted == 0
    assert AuditEvent.objects.filter(action="webhooks.deliveries.pruned").count() == 1


def test_the_retention_is_the_setting(subscription, settings):
    sub, _secret = subscription
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _delivered(sub, "a")
        clock.shift(8 * DAY)
        settings.WEBHOOKS = {**LOCAL, "DELIVERY_RETENTION_DAYS": 10}
        assert webhook_deliveries_prune().deleted == 0
        clock.shift(3 * DAY)
        assert webhook_deliveries_prune().deleted == 1
    assert _left(sub) == set()


def test_it_deletes_in_batches_and_reports_each(subscription):
    sub, _secret = subscription
    seen = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for n in range(5):
            _delivered(sub, f"d{n}")
        clock.shift(91 * DAY)
        done = webhook_deliveries_prune(
            batch_size=2, progress=lambda s: seen.append((s.batches, s.deleted))
        )
    assert done.batches == 3
    assert seen == [(1, 2), (2, 4), (3, 5)]
    assert _left(sub) == set()


def test_a_dry_run_counts_and_deletes_nothing(subscription):
    sub, _secret = subscription
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _delivered(sub, "a")
        _delivered(sub, "b")
        clock.shift(91 * DAY)
        done = webhook_deliveries_prune(dry_run=True)
    assert (done.deleted, done.dry_run) == (2, True)
    assert _left(sub) == {"a", "b"}
    assert not AuditEvent.objects.filter(action="webhooks.deliveries.pruned").exists()


def test_the_command_previews_then_deletes_with_progress(subscription):
    sub, _secret = subscription
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for n in range(3):
            _delivered(sub, f"d{n}")
        clock.shift(31 * DAY)
        out, err = io.StringIO(), io.StringIO()
        # When previewed with a 30-day retention, two rows a batch
        call_command(
            "webhook_deliveries_prune",
            "--dry-run",
            "--days",
            "30",
            "--batch-size",
            "2",
            stdout=out,
            stderr=err,
        )
        # Then it says what it would delete, batch by batch, and deletes nothing
        assert "batch 1: would delete 2, kept 0" in err.getvalue()
        assert "batch 2: would delete 3, kept 0" in err.getvalue()
        assert "Dry run: would delete 3 webhook deliveries" in out.getvalue()
        assert len(_left(sub)) == 3
        # When run for real
        out = io.StringIO()
        call_command("webhook_deliveries_prune", "--days", "30", stdout=out, stderr=io.StringIO())
        assert "deleted 3 webhook deliveries" in out.getvalue()
    assert _left(sub) == set()


@pytest.mark.parametrize("argv", [["--days", "0"], ["--days", "x"], ["--batch-size", "0"]])
def test_the_command_refuses_bad_input_and_deletes_nothing(subscription, argv):
    sub, _secret = subscription
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _delivered(sub, "a")
        clock.shift(400 * DAY)
        with pytest.raises(CommandError, match="must be a whole number"):
            call_command("webhook_deliveries_prune", *argv, stdout=io.StringIO())
    assert _left(sub) == {"a"}


def test_beat_runs_it_nightly_by_its_registered_name():
    # Given the data migration's function (a transactional test elsewhere may have flushed
    # what migrate wrote), run twice
    migration = importlib.import_module("apps.webhooks.migrations.0003_prune_schedule")
    PeriodicTask.objects.filter(name=migration.TASK_NAME).delete()
    migration.create_schedule(django_apps, None)
    migration.create_schedule(django_apps, None)
    # Then beat's schedule holds the nightly run once, by its registered name
    entry = PeriodicTask.objects.get(name="webhooks: delete old deliveries")
    assert entry.enabled and entry.task == TASK_PRUNE
    assert (entry.crontab.hour, entry.crontab.minute) == ("3", "15")
    assert task_named(TASK_PRUNE).name == TASK_PRUNE
    # and an entry edited in the admin is left alone by the migration
    entry.enabled = False
    entry.save()
    migration.create_schedule(django_apps, None)
    assert PeriodicTask.objects.get(name=migration.TASK_NAME).enabled is False


def test_the_task_applies_the_retention(subscription):
    sub, _secret = subscription
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _delivered(sub, "a")
        clock.shift(91 * DAY)
        assert task_named(TASK_PRUNE).delay().get() == {"deleted": 1, "kept": 0, "batches": 1}
    assert _left(sub) == set()
