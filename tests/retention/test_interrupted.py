"""A purge run whose process died never blocks its rule: the next run, from any route,
closes it as interrupted (partial, with its finished event and the totals it reached), the
listing and the dashboard show it stuck until then, and nothing held is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.crm.models import Customer
from apps.reports.retention import retention_dashboard
from apps.retention.liveness import (
    RUN_LOCK_NAMESPACE,
    rule_lock_held,
    run_process_gone,
    this_host,
)
from apps.retention.models import PurgeRun, PurgeRunStatus
from apps.retention.selectors import rule_due_state
from apps.retention.services import (
    PurgeAlreadyRunning,
    purge_due_rules_enqueue,
    purge_run_request,
    purge_run_stop_request,
)
from tests.retention.conftest import NOW, OLD, hold_records
from tests.retention.factories import CustomerFactory, make_rule

ROOT = Path(__file__).resolve().parents[2]


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _dead_run(rule, **values) -> PurgeRun:
    """A run marked running whose process is gone (no lock held, a dead pid)."""
    return PurgeRun.objects.create(
        rule=rule,
        trigger="command",
        actor_label="system:command",
        action="delete",
        status=PurgeRunStatus.RUNNING,
        started_at=datetime(2027, 1, 15, 8, 0, tzinfo=UTC),
        heartbeat_at=datetime(2027, 1, 15, 8, 0, tzinfo=UTC),
        host="elsewhere",
        pid=999_999,
        **values,
    )


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _purge_killed_mid_run(rule, *, batch_size: int) -> int:
    """Run `manage.py purge --run RULE` in its own process against the test database and
    SIGKILL it once three batches are committed; returns its pid."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "jitportal.settings.test",
    }
    command = ["manage.py", "purge", "--run", str(rule.pk), "--batch-size", str(batch_size)]
    process = subprocess.Popen(
        [sys.executable, *command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        _wait(
            lambda: (
                PurgeRun.objects.filter(rule=rule, batches__gte=3).exists()
                or process.poll() is not None
            ),
            90,
            "the third batch",
        )
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    if connection.vendor == "postgresql":
        # PostgreSQL ends the killed session once its statement returns
        _wait(lambda: not rule_lock_held(rule.pk), 30, "the killed session to end")
    return process.pid


def _rerun_closes_the_killed_run(rule, *, pid: int, total: int, held: list) -> None:
    killed = PurgeRun.objects.get(rule=rule)
    # then the run is left marked running, and everything reading it calls it stuck
    assert killed.status == PurgeRunStatus.RUNNING
    assert killed.pid == pid
    assert killed.batches >= 3
    deleted_by_killed_run = total - Customer.objects.count()
    assert 0 < deleted_by_killed_run < total - len(held)
    assert killed.affected == deleted_by_killed_run  # the counters are the committed batches
    assert run_process_gone(killed)
    assert rule_due_state(rule).code == "stuck"
    stuck = retention_dashboard(now=timezone.now())["stuck_runs"]
    assert [r["id"] for r in stuck] == [killed.pk]

    # when the rule is run again through the command
    call_command("purge", "--run", str(rule.pk), "--batch-size", "50")

    # then the killed run is closed as interrupted with the totals it reached, and its
    # finished event says so
    killed.refresh_from_db()
    assert killed.status == PurgeRunStatus.PARTIAL
    assert killed.interrupted_at is not None and killed.finished_at is not None
    assert "Interrupted" in killed.error and f"pid {pid}" in killed.error
    assert killed.affected == deleted_by_killed_run
    event = AuditEvent.objects.get(action="retention.purge.finished", target_id=str(killed.pk))
    assert event.data["interrupted"] is True and event.data["status"] == "partial"
    assert event.data["affected"] == killed.affected
    # and the new run finished the rest: the two add up, and the held rows are all there
    rerun = PurgeRun.objects.exclude(pk=killed.pk).get(rule=rule)
    assert rerun.status == PurgeRunStatus.SUCCEEDED
    assert killed.affected + rerun.affected == total - len(held)
    assert rerun.skipped_held == len(held)
    assert sorted(Customer.objects.values_list("pk", flat=True)) == sorted(c.pk for c in held)
    assert not PurgeRun.objects.running().exists()
    assert rule_due_state(rule).code == "not_due"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_purge_killed_mid_run_is_closed_by_the_next_command_run_and_totals_add_up():
    # given 60 expired customers, 5 of them under a legal hold, and deletes slowed down
    # (a trigger sleeps per row) so the run is still in its batches when it is killed
    with time_machine.travel(OLD, tick=False):
        customers = CustomerFactory.create_batch(60)
    held = customers[10:15]
    hold_records(*held)
    rule = make_rule()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION retention_test_slow() RETURNS trigger AS $$ "
            "BEGIN PERFORM pg_sleep(0.02); RETURN OLD; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER retention_test_slow BEFORE DELETE ON crm_customer "
            "FOR EACH ROW EXECUTE FUNCTION retention_test_slow()"
        )
    try:
        # when `manage.py purge --run RULE` runs in its own process and is SIGKILLed while
        # its batches are running
        pid = _purge_killed_mid_run(rule, batch_size=4)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER retention_test_slow ON crm_customer")
            cursor.execute("DROP FUNCTION retention_test_slow()")
    _rerun_closes_the_killed_run(rule, pid=pid, total=60, held=held)


@pytest.mark.django_db(transaction=True)
def test_a_purge_killed_mid_run_on_sqlite_is_closed_by_the_next_command_run():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite path (process id and heartbeat); PostgreSQL has its own test")
    # given 900 expired customers (under the four-eyes threshold), 5 of them held, purged
    # one row a batch
    with time_machine.travel(OLD, tick=False):
        customers = Customer.objects.bulk_create(CustomerFactory.build_batch(900))
    held = customers[10:15]
    hold_records(*held)
    rule = make_rule()
    # when the command's process is SIGKILLed while its batches are running
    pid = _purge_killed_mid_run(rule, batch_size=1)
    _rerun_closes_the_killed_run(rule, pid=pid, total=900, held=held)


@pytest.mark.django_db
def test_the_command_refuses_no_more_a_rule_whose_run_was_killed(capsys):
    # given a run of the rule left running by a process that is gone
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(3)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        dead = _dead_run(rule, batches=2, affected=4, matched=7)
        # when the listing is shown, then it says stuck, not running forever
        call_command("purge")
        assert f"stuck (run #{dead.pk}" in capsys.readouterr().out
        # when the rule is run through the command
        call_command("purge", "--run", str(rule.pk))
    # then the dead run is closed as interrupted and the new run did the rest
    dead.refresh_from_db()
    assert dead.status == PurgeRunStatus.PARTIAL and dead.interrupted_at is not None
    assert (dead.affected, dead.matched) == (4, 7)
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_the_admin_run_now_closes_a_killed_run(client, dpo):
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        dead = _dead_run(rule)
        client.force_login(dpo)
        response = client.post(
            reverse("admin:retention_retentionrule_run", args=[rule.pk]), {"confirm": "on"}
        )
    assert response.status_code == 302
    dead.refresh_from_db()
    # no batch committed: nothing was done, so the interrupted run is failed, not partial
    assert dead.status == PurgeRunStatus.FAILED and dead.interrupted_at is not None
    assert PurgeRun.objects.filter(rule=rule).exclude(pk=dead.pk).exists()


@pytest.mark.django_db
def test_beat_closes_a_killed_run_and_plans_the_rule_again():
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        dead = _dead_run(rule, batches=1, affected=2)
        summary = purge_due_rules_enqueue()
    dead.refresh_from_db()
    assert summary["interrupted"] == 1 and summary["planned"] == 1
    assert dead.status == PurgeRunStatus.PARTIAL
    assert AuditEvent.objects.filter(
        action="retention.purge.finished", target_id=str(dead.pk), data__interrupted=True
    ).exists()


@pytest.mark.django_db
def test_stop_on_a_stuck_run_in_the_admin_closes_it_at_once(dpo):
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        dead = _dead_run(rule, batches=1, affected=2)
        closed = purge_run_stop_request(run_id=dead.pk, actor=dpo)
    assert closed.status == PurgeRunStatus.PARTIAL and closed.interrupted_at is not None
    assert "closed by dpo" in closed.error


@pytest.mark.django_db
def test_a_live_run_is_not_taken_for_a_dead_one():
    # given a run marked running by this very process (its pid, its host), with a fresh
    # heartbeat: on PostgreSQL it holds no lock here, so only the pid/heartbeat path applies
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        live = _dead_run(rule)
        live.host, live.pid, live.heartbeat_at = this_host(), os.getpid(), NOW
        live.save()
        other = connection.copy() if connection.vendor == "postgresql" else None
        if other is not None:
            # on PostgreSQL the live run is another session holding the rule's run lock
            other.connect()
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_NAMESPACE, rule.pk])
        try:
            assert not run_process_gone(live)
            with pytest.raises(PurgeAlreadyRunning, match="already running"):
                purge_run_request(rule_id=rule.pk, actor=None, trigger="code", queue=False)
        finally:
            if other is not None:
                other.close()
    live.refresh_from_db()
    assert live.status == PurgeRunStatus.RUNNING and live.interrupted_at is None
