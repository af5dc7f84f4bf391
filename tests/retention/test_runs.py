"""Dry runs change nothing; runs stop and restart without harm; one run of a rule at a time;
refusals (safety, four eyes) leave the data alone."""

from __future__ import annotations

import threading

import pytest
import time_machine
from django.db import connection, transaction

from apps.audit.models import AuditEvent
from apps.crm.models import Customer, SupportTicket
from apps.retention.models import PurgeRun, PurgeRunStatus, RetentionRule
from apps.retention.services import (
    PurgeAlreadyRunning,
    PurgeRefused,
    purge_four_eyes_confirm,
    purge_run_dry,
    purge_run_execute,
    purge_run_request,
    purge_run_stop_request,
)
from tests.retention.conftest import NOW, OLD, RECENT
from tests.retention.factories import CustomerFactory, TicketFactory, make_rule

pytestmark = pytest.mark.postgres


def _request(rule, actor=None):
    return purge_run_request(
        rule_id=rule.pk, actor=actor, actor_label="system:test", trigger="code", queue=False
    )


def _snapshot():
    return list(Customer.objects.order_by("pk").values()), list(
        SupportTicket.objects.order_by("pk").values()
    )


@pytest.mark.django_db
def test_a_dry_run_counts_and_samples_but_changes_nothing(dpo):
    with time_machine.travel(OLD, tick=False):
        old = CustomerFactory.create_batch(4)
        TicketFactory(customer=old[0])
    with time_machine.travel(RECENT, tick=False):
        CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        before = _snapshot()
        run = purge_run_dry(rule_id=rule.pk, actor=dpo)
    # then nothing changed, and the dry run stopped at planned with its counts and sample
    assert _snapshot() == before
    assert run.dry_run and run.status == PurgeRunStatus.PLANNED
    assert (run.matched, run.affected, run.skipped_held) == (4, 0, 0)
    assert run.cutoff.year == 2021
    assert [row["pk"] for row in run.sample] == [c.pk for c in old]
    assert set(run.sample[0]) == {"pk", "last_activity_at", "status"}  # no personal data
    assert "Would delete 4 row(s)." in run.note
    assert not AuditEvent.objects.filter(action__startswith="retention.purge").exists()


@pytest.mark.django_db(transaction=True)
def test_a_crash_mid_run_keeps_the_earlier_batches_and_a_rerun_finishes():
    # given 10 expired customers, and a database fault on the 8th one (a trigger raising
    # inside the third batch of 3)
    with time_machine.travel(OLD, tick=False):
        customers = CustomerFactory.create_batch(10)
    faulty = customers[7].pk
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION retention_test_fault() RETURNS trigger AS $$
            BEGIN
                IF OLD.id = {int(faulty)} THEN RAISE EXCEPTION 'disk on fire'; END IF;
                RETURN OLD;
            END $$ LANGUAGE plpgsql
            """
        )
        cursor.execute(
            "CREATE TRIGGER retention_test_fault BEFORE DELETE ON crm_customer "
            "FOR EACH ROW EXECUTE FUNCTION retention_test_fault()"
        )
    try:
        with time_machine.travel(NOW, tick=False):
            rule = make_rule()
            # when the run meets the fault
            first = purge_run_execute(run_id=_request(rule).run.pk, batch_size=3)
            # then the two committed batches stay, the failing one is rolled back whole
            assert first.status == PurgeRunStatus.PARTIAL
            assert "disk on fire" in first.error
            assert (first.batches, first.affected) == (2, 6)
            assert Customer.objects.count() == 4
            assert AuditEvent.objects.filter(
                action="retention.purge.finished", data__status="partial"
            ).exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER retention_test_fault ON crm_customer")
            cursor.execute("DROP FUNCTION retention_test_fault()")
    # when the rule runs again once the fault is gone
    with time_machine.travel(NOW, tick=False):
        second = purge_run_execute(run_id=_request(rule).run.pk, batch_size=3)
    # then it finishes, and the two runs add up to what matched at first
    assert second.status == PurgeRunStatus.SUCCEEDED
    assert second.matched == 4 and second.affected == 4
    assert first.affected + second.affected == first.matched == 10
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_an_exception_between_batches_leaves_a_partial_run_and_totals_add_up():
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(7)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()

        def crash_after_second_batch(run):
            if run.batches == 2:
                raise RuntimeError("worker lost")

        first = purge_run_execute(
            run_id=_request(rule).run.pk, batch_size=2, progress=crash_after_second_batch
        )
        second = purge_run_execute(run_id=_request(rule).run.pk, batch_size=2)
    assert first.status == PurgeRunStatus.PARTIAL and "worker lost" in first.error
    assert first.affected == 4 and second.affected == 3
    assert first.affected + second.affected == 7 and Customer.objects.count() == 0


@pytest.mark.django_db
def test_a_stop_request_ends_the_run_after_its_current_batch(dpo):
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(6)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        run = _request(rule).run

        def stop(current):
            if current.batches == 1:
                purge_run_stop_request(run_id=current.pk, actor=dpo)

        run = purge_run_execute(run_id=run.pk, batch_size=2, progress=stop)
    assert run.status == PurgeRunStatus.PARTIAL and "Stopped on request." in run.note
    assert run.affected == 2 and Customer.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_rule_at_once_the_second_is_refused():
    # given a rule with rows for three batches, and a first run paused inside its first batch
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(6)
    rule = make_rule()
    first_run = _request(rule).run
    second_run = PurgeRun.objects.create(
        rule=rule, trigger="code", actor_label="system:test", action="delete"
    )
    paused, resume = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first():
        try:

            def wait(run):
                if run.batches == 1:
                    paused.set()
                    resume.wait(20)

            outcome["first"] = purge_run_execute(run_id=first_run.pk, batch_size=2, progress=wait)
        finally:
            connection.close()

    def second():
        try:
            outcome["second"] = purge_run_execute(run_id=second_run.pk, batch_size=2)
        except PurgeAlreadyRunning as exc:
            outcome["second"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    with time_machine.travel(NOW, tick=False):
        thread.start()
        assert paused.wait(20)
        # when a second run of the same rule starts meanwhile (another thread, connection)
        other = threading.Thread(target=second)
        other.start()
        other.join(20)
        resume.set()
        thread.join(20)
    # then the second is refused and recorded as such; the first finishes alone
    assert isinstance(outcome["second"], PurgeAlreadyRunning)
    refused = PurgeRun.objects.get(pk=second_run.pk)
    assert refused.status == PurgeRunStatus.FAILED
    assert "another run of this rule is running" in refused.error
    done = PurgeRun.objects.get(pk=first_run.pk)
    assert done.status == PurgeRunStatus.SUCCEEDED and done.affected == 6
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_a_run_left_running_by_a_dead_process_is_closed_by_the_next_one():
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(2)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        dead = PurgeRun.objects.create(
            rule=rule,
            trigger="beat",
            actor_label="system:beat",
            action="delete",
            status=PurgeRunStatus.RUNNING,
            batches=1,
            affected=5,
        )
        fresh = PurgeRun.objects.create(
            rule=rule, trigger="code", actor_label="system:test", action="delete"
        )
        run = purge_run_execute(run_id=fresh.pk)
    dead.refresh_from_db()
    assert dead.status == PurgeRunStatus.PARTIAL and "Interrupted" in dead.error
    assert run.status == PurgeRunStatus.SUCCEEDED and run.affected == 2


@pytest.mark.django_db
def test_a_second_request_while_one_is_queued_is_refused():
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        _request(rule)
        with pytest.raises(PurgeAlreadyRunning, match="already queued"):
            _request(rule)


@pytest.mark.django_db
def test_a_rule_that_became_unsafe_is_refused_at_run_time(settings):
    with time_machine.travel(OLD, tick=False):
        CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        run = _request(rule).run
        # when the minimum period is raised above the rule's period before the run
        settings.JITPORTAL = {**settings.JITPORTAL, "PURGE_MIN_PERIOD_DAYS": 10 * 365}
        run = purge_run_execute(run_id=run.pk)
        with pytest.raises(PurgeRefused, match="shorter than the minimum"):
            _request(rule)
    assert run.status == PurgeRunStatus.FAILED
    assert run.error.startswith("Refused:") and "shorter than the minimum" in run.error
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_four_eyes_before_the_first_large_real_run(dpo, dpo2, settings_threshold):
    settings_threshold(2)
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(3)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule(actor=dpo)
        # when the author asks for the first run, above the threshold
        request = _request(rule, actor=dpo)
        assert request.awaiting_confirmation and request.run is None
        assert "more than the four-eyes threshold of 2" in request.message
        rule.refresh_from_db()
        assert rule.confirmation_requested_by == dpo and rule.confirmation_rows == 3
        # then the author cannot confirm it, a second DPO can
        with pytest.raises(PurgeRefused, match="cannot also confirm"):
            purge_four_eyes_confirm(rule_id=rule.pk, actor=dpo, queue=False)
        run = purge_four_eyes_confirm(rule_id=rule.pk, actor=dpo2, queue=False)
        run = purge_run_execute(run_id=run.pk)
    assert run.status == PurgeRunStatus.SUCCEEDED and run.affected == 3
    assert "confirmed by dpo2" in run.note
    assert AuditEvent.objects.filter(action="retention.purge.confirmed", actor=dpo2).exists()
    # and the next runs need no confirmation any more
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(3)
    with time_machine.travel(NOW.replace(day=20), tick=False):
        assert _request(rule, actor=dpo).run is not None


@pytest.mark.django_db
def test_a_changed_rule_needs_a_new_confirmation(dpo, dpo2, auditor, settings_threshold):
    settings_threshold(0)
    with time_machine.travel(OLD, tick=False):
        CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        rule = make_rule(actor=dpo)
        assert _request(rule, actor=dpo).awaiting_confirmation
        with pytest.raises(PurgeRefused, match="permission to confirm"):
            purge_four_eyes_confirm(rule_id=rule.pk, actor=auditor, queue=False)
        run = purge_four_eyes_confirm(rule_id=rule.pk, actor=dpo2, queue=False)
        run.status = PurgeRunStatus.FAILED
        run.save()
        # when the rule is widened after the confirmation, before any real run
        rule = RetentionRule.objects.get(pk=rule.pk)
        rule.period_amount = 3
        from apps.retention.services import retention_rule_save

        retention_rule_save(rule=rule, actor=dpo)
        # then the old confirmation does not cover it
        assert _request(rule, actor=dpo).awaiting_confirmation
        # and an execution that bypassed the request is refused too
        stray = PurgeRun.objects.create(
            rule=rule, trigger="code", actor_label="system:test", action="delete"
        )
        stray = purge_run_execute(run_id=stray.pk)
    assert stray.status == PurgeRunStatus.FAILED and "four-eyes" in stray.error
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_batches_are_their_own_transactions():
    # A purge inside an outer transaction would commit everything at once: refused.
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        run = _request(rule).run
    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        # pytest-django's own test transaction is allowed; a caller's is not
        purge_run_execute(run_id=run.pk)


@pytest.mark.django_db(transaction=True)
def test_a_later_run_counts_its_total_beside_the_batches_as_of_its_start(caplog):
    # given a rule that has run before, and 9 expired customers
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(9)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        purge_run_execute(run_id=_request(rule).run.pk, batch_size=100)
        with time_machine.travel(OLD, tick=False):
            CustomerFactory.create_batch(9)
        seen = []

        # when it runs again in batches of one row (each commits long before a count of
        # the whole table would have finished on a big one)
        run = purge_run_execute(
            run_id=_request(rule).run.pk, batch_size=1, progress=lambda r: seen.append(r.matched)
        )

    # then the total is the rows that matched when the run began, never a later count,
    # and the progress showed either "still counting" (0) or that total
    assert run.status == PurgeRunStatus.SUCCEEDED
    assert (run.matched, run.affected, run.batches) == (9, 9, 9)
    assert set(seen) <= {0, 9}
    started = AuditEvent.objects.filter(action="retention.purge.started").latest("id")
    finished = AuditEvent.objects.filter(action="retention.purge.finished").latest("id")
    assert started.data["matched"] is None and finished.data["matched"] == 9
    # and the count ran on its own connection (no fallback to the run's)
    assert not [r for r in caplog.records if r.name == "apps.retention.counting"]


def test_while_the_total_is_being_counted_the_run_says_so():
    running = PurgeRun(status=PurgeRunStatus.RUNNING, matched=0, affected=5)
    assert running.matched_label == "counting…" and running.percent == 0
    counted = PurgeRun(status=PurgeRunStatus.RUNNING, matched=20, affected=5)
    assert counted.matched_label == "20" and counted.percent == 25
    nothing = PurgeRun(status=PurgeRunStatus.SUCCEEDED, matched=0)
    assert nothing.matched_label == "0"
