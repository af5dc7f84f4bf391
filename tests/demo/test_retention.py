"""load_retention_demo: idempotent, and polite when the CRM demo is not there."""

from __future__ import annotations

from io import StringIO

import pytest

from apps.demo.crm import load_crm_demo
from apps.demo.retention import HOLD_REFERENCE, load_retention_demo
from apps.retention.models import LegalHold, RetentionRule
from apps.retention.selectors import rule_runtime_problems

pytestmark = pytest.mark.django_db


def test_without_the_crm_assets_the_crm_rules_are_skipped_with_a_message():
    out = StringIO()
    result = load_retention_demo(stdout=out)
    assert result["skipped"] == ["Customers", "Support tickets"]
    assert "no CRM / Customers asset" in out.getvalue()
    assert result["rules_created"] == 4 and result["holds_created"] == 0
    assert not LegalHold.objects.exists()


def test_the_demo_loads_once_and_every_rule_is_runnable():
    load_crm_demo()
    first = load_retention_demo()
    second = load_retention_demo()
    assert first["rules_created"] == 6 and first["holds_created"] == 1
    assert second["rules_created"] == 0 and second["holds_created"] == 0
    assert RetentionRule.objects.count() == 6
    for rule in RetentionRule.objects.all():
        assert rule_runtime_problems(rule) == [], rule
    hold = LegalHold.objects.get(reference=HOLD_REFERENCE)
    assert hold.records.count() == 1 and hold.is_active
    names = set(RetentionRule.objects.values_list("content_type__model", flat=True))
    assert names == {
        "customer",
        "supportticket",
        "auditevent",
        "accessrequest",
        "grant",
        "purgerun",
    }
