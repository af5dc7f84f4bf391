"""manage.py purge: its output and exit codes."""

from __future__ import annotations

from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.crm.models import Customer
from apps.retention.models import PurgeRun, PurgeRunStatus
from apps.retention.services import purge_run_request
from tests.retention.conftest import NOW, OLD, hold_records
from tests.retention.factories import CustomerFactory, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def purge(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("purge", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def expired():
    with time_machine.travel(OLD, tick=False):
        return CustomerFactory.create_batch(5)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_list_shows_each_rule_and_whether_it_is_due(now):
    assert purge() == (0, "No retention rules yet. Add them in the admin.\n", "")
    due = make_rule(name="customers")
    off = make_rule(name="switched off", enabled=False)
    code, out, _ = purge("--list")
    assert code == 0
    assert (
        f"{due.pk:>4}  due (never run)" in out
        and "customers [crm.Customer.last_activity_at]" in out
    )
    assert f"{off.pk:>4}  disabled" in out


def test_preview_prints_the_numbers_and_changes_nothing(expired, now, dpo):
    make_rule(name="customers")
    hold_records(expired[0], actor=dpo)
    code, out, _ = purge("--preview", "customers")
    assert code == 0
    assert "cutoff:    15 Jan 2021, 09:00 UTC" in out
    assert "matched:   5" in out and "held:      1" in out and "would be deleted: 4" in out
    assert f"sample: pk={expired[1].pk}, last_activity_at=2019-03-01" in out
    assert "Nothing was changed." in out
    assert Customer.objects.count() == 5
    assert PurgeRun.objects.get().dry_run


def test_run_prints_progress_and_a_summary(expired, now):
    rule = make_rule(name="customers")
    code, out, err = purge("--run", str(rule.pk), "--batch-size", "2")
    assert (code, err) == (0, "")
    assert f"Run #{PurgeRun.objects.get().pk} of “customers” (delete)" in out
    assert "  batch 1: 2 / 5 rows (40%)" in out
    assert "  batch 3: 5 / 5 rows (100%)" in out
    assert "succeeded: deleted 5 of 5 matched; skipped 0 held and 0 protected; 3 batch(es)" in out
    assert "digest of the deleted keys: " in out
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--run", "nope"), "No retention rule with id or name “nope”"),
        (("--preview", "999"), "No retention rule with id or name “999”"),
        (("--run", "customers", "--batch-size", "0"), "--batch-size must be between 1"),
        (("--batch-size", "5"), "--batch-size goes with --run or --all-due."),
    ],
)
def test_bad_input_exits_with_2(now, args, message):
    make_rule(name="customers")
    code, _, err = purge(*args)
    assert code == 2 and message in err
    assert not PurgeRun.objects.exists()


def test_refusals_exit_with_3(expired, now, settings_threshold):
    rule = make_rule(name="customers")
    # four eyes needed
    settings_threshold(1)
    code, _, err = purge("--run", "customers")
    assert code == 3 and "more than the four-eyes threshold of 1" in err
    # already queued by someone else
    settings_threshold(1000)
    purge_run_request(rule_id=rule.pk, actor=None, actor_label="x", trigger="code", queue=False)
    code, _, err = purge("--run", "customers")
    assert code == 3 and "is already queued" in err
    assert Customer.objects.count() == 5


def test_an_unsafe_rule_exits_with_3_on_preview(now, settings):
    make_rule(name="customers")
    settings.JITPORTAL = {**settings.JITPORTAL, "PURGE_MIN_PERIOD_DAYS": 4000}
    code, _, err = purge("--preview", "customers")
    assert code == 3 and "shorter than the minimum of 4000 days" in err


def test_a_failed_run_exits_with_1(expired, now):
    # given a database fault on the fourth customer (the test transaction drops it again)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION retention_cmd_fault() RETURNS trigger AS $$
            BEGIN
                IF OLD.id = {int(expired[3].pk)} THEN RAISE EXCEPTION 'disk on fire'; END IF;
                RETURN OLD;
            END $$ LANGUAGE plpgsql
            """
        )
        cursor.execute(
            "CREATE TRIGGER retention_cmd_fault BEFORE DELETE ON crm_customer "
            "FOR EACH ROW EXECUTE FUNCTION retention_cmd_fault()"
        )
    rule = make_rule(name="customers")
    code, _out, err = purge("--run", str(rule.pk), "--batch-size", "2")
    run = PurgeRun.objects.get()
    assert code == 1
    assert run.status == PurgeRunStatus.PARTIAL and run.affected == 2
    assert "partial: deleted 2 of 5 matched" in err and "disk on fire" in err
    assert "The purge did not complete" in err


def test_all_due_runs_every_due_rule(expired, now):
    make_rule(name="a")
    make_rule(name="b", enabled=False)
    code, out, _ = purge("--all-due")
    assert code == 0
    assert "“a”" in out and "“b”" not in out
    assert PurgeRun.objects.count() == 1
    code, out, _ = purge("--all-due")
    assert (code, out) == (0, "No rule is due.\n")
