"""A purge run's message delivered twice, or again after its worker was lost: the run is
executed once, a duplicate never fails it, and a run whose worker died is closed as
interrupted and finished by the message that came back (acks_late). The whole story with
real workers is tests/e2e/test_several_workers.py."""

from __future__ import annotations

import psycopg
import pytest
import time_machine
from django.db import connection

from apps.audit.models import AuditEvent
from apps.crm.models import Customer
from apps.retention.liveness import RUN_LOCK_NAMESPACE
from apps.retention.models import PurgeRun, PurgeRunStatus
from apps.retention.services import purge_run_request
from apps.retention.services.engine import _RUN_CLAIM_NAMESPACE
from apps.retention.tasks import purge_run_execute_task
from tests.retention.conftest import NOW, OLD
from tests.retention.factories import CustomerFactory, make_rule

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _other_session() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    )


def _planned_run(rows: int) -> PurgeRun:
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(rows)
    rule = make_rule(batch_size=2)
    with time_machine.travel(NOW, tick=False):
        run = purge_run_request(
            rule_id=rule.pk, actor=None, actor_label="system:beat", trigger="beat", queue=False
        ).run
    assert run is not None
    return run


def test_a_second_delivery_of_a_run_being_executed_leaves_it_alone():
    # Given a planned run that another worker has claimed (its session holds the claim)
    run = _planned_run(4)
    with _other_session() as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [_RUN_CLAIM_NAMESPACE, run.pk])
        # When the same message reaches this worker too
        with time_machine.travel(NOW, tick=False):
            outcome = purge_run_execute_task(run.pk)
        # Then it does nothing: the run is neither started nor failed as "another run"
        run.refresh_from_db()
        assert outcome == PurgeRunStatus.PLANNED
        assert (run.status, run.error_code, run.batches) == (PurgeRunStatus.PLANNED, "", 0)
        assert Customer.objects.count() == 4
        # (released now: a closing session lets go of its locks a moment later)
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [_RUN_CLAIM_NAMESPACE, run.pk])
    # And once the claim is gone the message does the run, once
    with time_machine.travel(NOW, tick=False):
        assert purge_run_execute_task(run.pk) == PurgeRunStatus.SUCCEEDED
        assert purge_run_execute_task(run.pk) == "skipped"
    run.refresh_from_db()
    assert (run.status, run.affected) == (PurgeRunStatus.SUCCEEDED, 4)
    assert Customer.objects.count() == 0


def test_the_message_of_a_run_whose_worker_died_closes_it_and_finishes_the_work():
    # Given a run whose worker was SIGKILLed after its first batch (2 of 6 rows deleted):
    # marked running, with no session holding its rule any more
    run = _planned_run(6)
    gone = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:2])
    Customer.objects.filter(pk__in=gone).delete()
    PurgeRun.objects.filter(pk=run.pk).update(
        status=PurgeRunStatus.RUNNING, started_at=NOW, batches=1, affected=2, last_key="2"
    )
    # When its message is delivered again (acks_late, task_reject_on_worker_lost)
    with time_machine.travel(NOW, tick=False):
        outcome = purge_run_execute_task(run.pk)
    # Then the dead run is closed as interrupted with what it did, and a new run of the
    # rule, started by the worker, did the rest
    run.refresh_from_db()
    assert run.status == PurgeRunStatus.PARTIAL and run.interrupted_at is not None
    follow_up = PurgeRun.objects.exclude(pk=run.pk).get(rule=run.rule)
    assert outcome == PurgeRunStatus.SUCCEEDED
    assert (follow_up.status, follow_up.affected, follow_up.actor_label) == (
        PurgeRunStatus.SUCCEEDED,
        4,
        "system:worker",
    )
    assert run.affected + follow_up.affected == 6
    assert Customer.objects.count() == 0
    finished = AuditEvent.objects.filter(action="retention.purge.finished")
    assert sorted(finished.values_list("target_id", flat=True)) == sorted(
        [str(run.pk), str(follow_up.pk)]
    )


def test_the_message_of_a_run_still_executing_elsewhere_is_skipped():
    # Given a run marked running whose worker is alive (its session holds the rule's lock)
    run = _planned_run(2)
    PurgeRun.objects.filter(pk=run.pk).update(status=PurgeRunStatus.RUNNING, started_at=NOW)
    with _other_session() as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_NAMESPACE, run.rule_id])
        # When its message arrives at a second worker
        with time_machine.travel(NOW, tick=False):
            outcome = purge_run_execute_task(run.pk)
    # Then nothing is closed, planned or deleted
    assert outcome == "skipped"
    assert list(PurgeRun.objects.values_list("pk", "status")) == [(run.pk, PurgeRunStatus.RUNNING)]
    assert Customer.objects.count() == 2
