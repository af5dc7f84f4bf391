"""Deleting purges, time-travelled: what goes, what stays, and the evidence left behind."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models.signals import post_delete, pre_delete

from apps.audit.models import AuditEvent
from apps.crm.models import Customer, SupportTicket
from apps.retention.models import PurgeRun, PurgeRunStatus
from apps.retention.services import purge_run_execute, purge_run_request
from tests.retention.conftest import NOW, OLD, RECENT
from tests.retention.factories import CustomerFactory, TicketFactory, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _digest(keys) -> str:
    return hashlib.sha256("".join(f"{k}\n" for k in sorted(keys)).encode()).hexdigest()


def _run(rule, **kwargs) -> PurgeRun:
    request = purge_run_request(
        rule_id=rule.pk, actor=None, actor_label="system:test", trigger="code", queue=False
    )
    return purge_run_execute(run_id=request.run.pk, **kwargs)


def test_expired_closed_customers_and_their_tickets_are_deleted_in_batches():
    # given customers last active in 2019 (closed, some with tickets), recent ones, and an
    # old but still active one
    with time_machine.travel(OLD, tick=False):
        old = CustomerFactory.create_batch(7)
        TicketFactory.create_batch(2, customer=old[0])
        active = CustomerFactory(status="active")
    with time_machine.travel(RECENT, tick=False):
        recent = CustomerFactory.create_batch(2)
        recent_ticket = TicketFactory(customer=recent[0])
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()

        # when the rule runs in batches of 3
        run = _run(rule, batch_size=3)

    # then exactly the old closed customers (and their tickets) are gone
    assert run.status == PurgeRunStatus.SUCCEEDED
    assert not Customer.objects.filter(pk__in=[c.pk for c in old]).exists()
    assert set(Customer.objects.values_list("pk", flat=True)) == {
        active.pk,
        recent[0].pk,
        recent[1].pk,
    }
    assert list(SupportTicket.objects.values_list("pk", flat=True)) == [recent_ticket.pk]
    # and the run is the evidence: counts, batches, cutoff, digest of the keys
    assert (run.matched, run.affected, run.skipped_held, run.skipped_protected) == (7, 7, 0, 0)
    assert run.batches == 3
    assert run.cutoff.year == 2021
    assert run.digest == _digest(c.pk for c in old)
    assert run.rule_snapshot["filter"] == {"status": "closed"}
    assert run.rule_snapshot["period"] == {"amount": 6, "unit": "years"}
    assert run.started_at == NOW and run.finished_at == NOW
    assert run.actor_label == "system:test"


def test_a_purge_sends_no_per_row_signal_and_writes_no_per_row_audit_event():
    # given 5 expired customers with tickets and receivers listening for deletions
    with time_machine.travel(OLD, tick=False):
        customers = CustomerFactory.create_batch(5)
        for customer in customers:
            TicketFactory(customer=customer)
    heard = []

    def listener(sender, **kwargs):
        heard.append(sender)

    for signal in (pre_delete, post_delete):
        signal.connect(listener, sender=Customer, dispatch_uid="t-c")
        signal.connect(listener, sender=SupportTicket, dispatch_uid="t-t")
    try:
        with time_machine.travel(NOW, tick=False):
            rule = make_rule()
            before = AuditEvent.objects.count()
            run = _run(rule, batch_size=2)
    finally:
        for signal in (pre_delete, post_delete):
            signal.disconnect(sender=Customer, dispatch_uid="t-c")
            signal.disconnect(sender=SupportTicket, dispatch_uid="t-t")

    # then rows went without a signal, and the trail has only the run's start and finish
    assert run.affected == 5 and SupportTicket.objects.count() == 0
    assert heard == []
    actions = list(
        AuditEvent.objects.filter(pk__gt=0).order_by("id").values_list("action", flat=True)
    )[before:]
    assert actions == ["retention.purge.started", "retention.purge.finished"]
    finished = AuditEvent.objects.get(action="retention.purge.finished")
    assert finished.data["affected"] == 5 and finished.data["digest"] == run.digest
    assert finished.target_id == str(run.pk)


def test_the_portable_path_deletes_the_same_rows_with_the_same_digest():
    # given the same data purged by the separate-statements path (used on SQLite)
    with time_machine.travel(OLD, tick=False):
        old = CustomerFactory.create_batch(4)
        TicketFactory(customer=old[1])
    with time_machine.travel(RECENT, tick=False):
        CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        run = _run(rule, batch_size=3, single_statement=False)
    assert run.status == PurgeRunStatus.SUCCEEDED
    assert run.affected == 4 and Customer.objects.count() == 1
    assert SupportTicket.objects.count() == 0
    assert run.digest == _digest(c.pk for c in old)


@pytest.mark.parametrize("model", [Customer, SupportTicket], ids=["with-cascade", "leaf"])
def test_the_digest_is_over_ascending_keys_when_the_table_order_is_not(model):
    # given expired rows whose first ones were rewritten, so that the table holds them out
    # of key order (PostgreSQL writes an updated row as a new tuple further on; changing an
    # indexed column makes the key index point at the new place too). The tables start from
    # a fresh file (TRUNCATE, rolled back with the test): rows that earlier tests rolled back
    # leave line pointers free, and a rewritten row could reuse one and land back in order.
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {SupportTicket._meta.db_table}, {Customer._meta.db_table} CASCADE"
        )
    with time_machine.travel(OLD, tick=False):
        customers = CustomerFactory.create_batch(6)
        tickets = [TicketFactory(customer=c, status="closed", closed_at=OLD) for c in customers]
    rows = customers if model is Customer else tickets
    model.objects.filter(pk__in=[r.pk for r in rows[:2]]).update(
        **(
            {"full_name": "Renamed"}
            if model is Customer
            else {"closed_at": OLD + timedelta(days=1)}
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {model._meta.db_table} ORDER BY ctid")
        table_order = [k for (k,) in cursor.fetchall()]
    assert table_order != sorted(table_order)
    with time_machine.travel(NOW, tick=False):
        rule = (
            make_rule()
            if model is Customer
            else make_rule(model=SupportTicket, date_field="closed_at", period_amount=2)
        )

        # when the rule runs in one batch
        run = _run(rule, batch_size=100)

    # then every row went, and the digest is the one of the keys in ascending order
    assert run.status == PurgeRunStatus.SUCCEEDED and run.affected == 6
    assert run.digest == _digest(r.pk for r in rows)


def test_a_date_field_rule_counts_from_the_day():
    # given closed customers whose contracts ended on days around the cutoff
    with time_machine.travel(NOW, tick=False):
        ended_long_ago = CustomerFactory(contract_ended_on=NOW.date().replace(year=2020))
        ended_recently = CustomerFactory(contract_ended_on=NOW.date().replace(year=2022))
        ongoing = CustomerFactory(contract_ended_on=None)
        rule = make_rule(date_field="contract_ended_on")
        run = _run(rule)
    assert run.affected == 1
    assert not Customer.objects.filter(pk=ended_long_ago.pk).exists()
    assert Customer.objects.filter(pk__in=[ended_recently.pk, ongoing.pk]).count() == 2


def test_rows_other_rows_protect_are_kept_and_counted():
    # given expired closed tickets... no PROTECT there; use access requests with grants:
    # an approved request is protected by its grant (on_delete=PROTECT)
    from tests.access.factories import AccessRequestFactory, GrantFactory

    with time_machine.travel(OLD, tick=False):
        denied = AccessRequestFactory(status="denied")
        grant = GrantFactory()
    with time_machine.travel(NOW, tick=False):
        from apps.access.models import AccessRequest

        rule = make_rule(
            model=AccessRequest,
            date_field="created_at",
            filter={"status__in": ["approved", "denied"]},
            period_amount=2,
        )
        run = _run(rule)
    # then the denied request went, the approved one stays while its grant exists
    assert run.affected == 1 and run.skipped_protected == 1
    assert not AccessRequest.objects.filter(pk=denied.pk).exists()
    assert AccessRequest.objects.filter(pk=grant.request_id).exists()
