"""Legal holds on an asset, a rule or records block every purge of what they cover."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.crm.models import Customer, SupportTicket
from apps.retention.models import HoldBasis, HoldScope, LegalHold, PurgeRunStatus
from apps.retention.selectors import purge_preview
from apps.retention.services import (
    legal_hold_lift,
    legal_hold_place,
    purge_run_execute,
    purge_run_request,
)
from apps.retention.targets import ModelTarget
from tests.retention.conftest import NOW, OLD, hold_records
from tests.retention.factories import CustomerFactory, TicketFactory, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _run(rule, **kwargs):
    request = purge_run_request(
        rule_id=rule.pk, actor=None, actor_label="system:test", trigger="code", queue=False
    )
    return purge_run_execute(run_id=request.run.pk, **kwargs)


def _place(actor, **scope):
    return legal_hold_place(
        basis=HoldBasis.ART_18,
        reason="Accuracy contested (Art. 18(1)(a))",
        reference="REQ-9",
        review_on=timezone.localdate() + timedelta(days=14),
        actor=actor,
        **scope,
    )


@pytest.fixture
def expired_customers():
    with time_machine.travel(OLD, tick=False):
        return CustomerFactory.create_batch(3)


@pytest.mark.parametrize("scope", ["asset", "rule"])
def test_a_hold_on_the_asset_or_the_rule_blocks_the_whole_rule(scope, expired_customers, dpo):
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        if scope == "asset":
            hold = _place(dpo, scope=HoldScope.ASSET, asset=rule.asset)
        else:
            hold = _place(dpo, scope=HoldScope.RULE, rule=rule)
        # when the preview and the run look at it
        preview = purge_preview(rule=rule)
        run = _run(rule)
    # then nothing goes, and the run says why
    assert preview.counts.held == 3 and preview.counts.would_go == 0
    assert f"legal hold #{hold.pk}" in preview.holds.blocking_label()
    assert run.status == PurgeRunStatus.SUCCEEDED
    assert (run.matched, run.affected, run.skipped_held) == (3, 0, 3)
    assert f"legal hold #{hold.pk}" in run.note
    assert Customer.objects.count() == 3


def test_a_hold_on_an_asset_covers_rules_of_other_assets_on_its_governed_model(
    expired_customers, dpo
):
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        from tests.factories import DataAssetFactory

        other = DataAssetFactory(governed_model=ContentType.objects.get_for_model(Customer))
        _place(dpo, scope=HoldScope.ASSET, asset=other)
        run = _run(rule)
    assert run.affected == 0 and Customer.objects.count() == 3


def test_a_hold_on_a_customer_keeps_the_customer_and_their_tickets(expired_customers, dpo):
    held = expired_customers[0]
    with time_machine.travel(OLD, tick=False):
        held_ticket = TicketFactory(customer=held)
        other_ticket = TicketFactory(customer=expired_customers[1])
    with time_machine.travel(NOW, tick=False):
        hold_records(held, actor=dpo)
        customers = make_rule(name="customers")
        tickets = make_rule(
            name="tickets", model=SupportTicket, date_field="closed_at", period_amount=2
        )
        ticket_run = _run(tickets)
        customer_run = _run(customers)
    # then the held customer and their ticket stay; the rest goes
    assert (ticket_run.affected, ticket_run.skipped_held) == (1, 1)
    assert (customer_run.affected, customer_run.skipped_held) == (2, 1)
    assert list(Customer.objects.values_list("pk", flat=True)) == [held.pk]
    assert list(SupportTicket.objects.values_list("pk", flat=True)) == [held_ticket.pk]
    assert not SupportTicket.objects.filter(pk=other_ticket.pk).exists()


def test_a_held_ticket_keeps_its_customer_from_the_cascade(expired_customers, dpo):
    with time_machine.travel(OLD, tick=False):
        ticket = TicketFactory(customer=expired_customers[2])
    with time_machine.travel(NOW, tick=False):
        hold_records(ticket, actor=dpo, model=SupportTicket)
        run = _run(make_rule())
    assert (run.affected, run.skipped_held) == (2, 1)
    assert Customer.objects.filter(pk=expired_customers[2].pk).exists()
    assert SupportTicket.objects.filter(pk=ticket.pk).exists()


def test_a_hold_placed_during_a_run_stops_it_after_the_current_batch(expired_customers, dpo):
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(3)
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        placed = []

        def place_after_first_batch(run):
            if not placed:
                placed.append(_place(dpo, scope=HoldScope.RULE, rule=rule))

        run = _run(rule, batch_size=2, progress=place_after_first_batch)
    assert run.status == PurgeRunStatus.PARTIAL
    assert run.batches == 1 and run.affected == 2
    assert f"legal hold #{placed[0].pk}" in run.note
    assert Customer.objects.count() == 4


def test_lifting_needs_a_reason_and_then_the_rows_can_go(expired_customers, dpo):
    with time_machine.travel(NOW, tick=False):
        hold = hold_records(expired_customers[0], actor=dpo)
        # when lifting without a reason
        with pytest.raises(ValidationError) as error:
            legal_hold_lift(hold_id=hold.pk, actor=dpo, reason="  ")
        assert "Say why the hold is lifted." in str(error.value)
        assert LegalHold.objects.get(pk=hold.pk).lifted_at is None
        # when lifting with one
        legal_hold_lift(hold_id=hold.pk, actor=dpo, reason="Claim settled on 2027-01-10")
        with pytest.raises(ValidationError, match="already lifted"):
            legal_hold_lift(hold_id=hold.pk, actor=dpo, reason="again")
        run = _run(make_rule())
    assert run.affected == 3 and Customer.objects.count() == 0
    # and both decisions are in the audit trail with actor and reason
    placed = AuditEvent.objects.get(action="retention.hold.placed")
    lifted = AuditEvent.objects.get(action="retention.hold.lifted")
    assert placed.actor == dpo and placed.data["object_ids"] == [str(expired_customers[0].pk)]
    assert lifted.actor == dpo and lifted.reason == "Claim settled on 2027-01-10"


def test_hold_records_must_exist(dpo):
    with pytest.raises(ValidationError) as error:
        legal_hold_place(
            scope=HoldScope.RECORDS,
            basis=HoldBasis.ART_17_3_E,
            reason="x",
            review_on=timezone.localdate(),
            content_type=ContentType.objects.get_for_model(Customer),
            object_ids=["999999"],
            actor=dpo,
        )
    assert "No crm.Customer with id 999999." in str(error.value)
    assert not LegalHold.objects.exists()


def test_a_record_hold_placed_during_a_run_applies_from_the_next_batch(dpo):
    with time_machine.travel(OLD, tick=False):
        customers = CustomerFactory.create_batch(6)
    late = customers[-1]
    with time_machine.travel(NOW, tick=False):
        rule = make_rule()

        def hold_the_last_one_after_the_first_batch(run):
            if run.batches == 1:
                hold_records(late, actor=dpo)

        run = _run(rule, batch_size=2, progress=hold_the_last_one_after_the_first_batch)
    assert run.status == PurgeRunStatus.SUCCEEDED
    assert (run.affected, run.skipped_held, run.batches) == (5, 1, 3)
    assert list(Customer.objects.values_list("pk", flat=True)) == [late.pk]


def test_a_run_under_a_record_hold_compiles_its_batch_statement_once(
    expired_customers, dpo, monkeypatch
):
    # given 6 expired tickets, 2 of them of a customer under a record hold
    with time_machine.travel(OLD, tick=False):
        for customer in expired_customers:
            TicketFactory.create_batch(2, customer=customer)
    compiled = []
    original = ModelTarget._compile

    def counting(self, lo, hi, holds):
        compiled.append((lo, hi))
        return original(self, lo, hi, holds)

    monkeypatch.setattr(ModelTarget, "_compile", counting)
    with time_machine.travel(NOW, tick=False):
        hold_records(expired_customers[0], actor=dpo)
        rule = make_rule(model=SupportTicket, date_field="closed_at", period_amount=2)

        # when the rule runs in batches of 2
        run = _run(rule, batch_size=2)

    # then the held tickets stay, the rest go, and the statement (which reads the batch's
    # range twice: the DELETE and the count of held rows) was compiled once, not per batch
    assert (run.affected, run.skipped_held, run.batches) == (4, 2, 3)
    assert len(compiled) == 1


def test_bad_record_ids_are_named_alone(dpo):
    # given two customers that exist and one value that is no id
    customers = CustomerFactory.create_batch(2)
    typed = f"{customers[0].pk}, {customers[1].pk}, abc"
    # when the DPO places a hold on those records
    with pytest.raises(ValidationError) as error:
        legal_hold_place(
            scope=HoldScope.RECORDS,
            basis=HoldBasis.ART_17_3_E,
            reason="Litigation",
            review_on=timezone.localdate(),
            content_type=ContentType.objects.get_for_model(Customer),
            object_ids=typed,
            actor=dpo,
        )
    # then the message names the bad value only, and no hold is placed
    message = " ".join(error.value.message_dict["object_ids"])
    assert message.endswith(": abc.")
    assert str(customers[0].pk) not in message.split(":")[-1]
    assert not LegalHold.objects.exists()
