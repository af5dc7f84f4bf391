"""The ROPA's retention column comes from the rules of an activity's assets."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import translation

from apps.crm.models import SupportTicket
from apps.retention.selectors import (
    retention_rules_for_assets,
    retention_summary_for_activity,
    rule_due_state,
)
from tests.factories import DataAssetFactory, ProcessingActivityFactory
from tests.retention.conftest import NOW
from tests.retention.factories import make_rule

pytestmark = pytest.mark.django_db


def test_an_activity_lists_the_enabled_rules_of_its_assets():
    customers = make_rule(name="customers", period_amount=6, legal_citation="LA 1980 s.5")
    tickets = make_rule(
        name="tickets",
        model=SupportTicket,
        date_field="closed_at",
        period_amount=2,
        legal_citation="CS-3",
    )
    make_rule(name="off", enabled=False, asset=customers.asset)
    other = make_rule(name="elsewhere", asset=DataAssetFactory())
    activity = ProcessingActivityFactory(name="Customer service")
    activity.assets.add(customers.asset, tickets.asset)

    summary = retention_summary_for_activity(activity)
    # field names and filter values as people read them: the field's name, the choice's label
    assert summary.splitlines() == [
        "CRM / Customers: Delete 6 years after last activity at (status Closed) — LA 1980 s.5",
        "CRM / support ticket: Delete 2 years after closed at (status Closed) — CS-3",
    ]
    # and in the reader's language
    with translation.override("de"):
        german = retention_summary_for_activity(activity).splitlines()
    assert (
        german[1]
        == "CRM / support ticket: Löschen 2 Jahre nach geschlossen am (Status Geschlossen) — CS-3"
    )
    rules = list(retention_rules_for_assets([customers.asset_id, tickets.asset_id]))
    assert rules == [customers, tickets] and other not in rules
    assert retention_summary_for_activity(ProcessingActivityFactory()) == ""


def test_due_state_follows_runs_holds_and_the_switch(dpo):
    from apps.retention.services import purge_run_execute, purge_run_request

    with time_machine.travel(NOW, tick=False):
        rule = make_rule()
        assert rule_due_state(rule).label == "due (never run)"
        request = purge_run_request(rule_id=rule.pk, actor=dpo, trigger="code", queue=False)
        assert rule_due_state(rule).code == "queued"
        purge_run_execute(run_id=request.run.pk)
        state = rule_due_state(rule)
        assert state.code == "not_due" and state.label == "next on 16 Jan 2027"
        rule.enabled = False
        rule.save()
        assert rule_due_state(rule).label == "disabled"
