"""A raw table (no model) in a configured database alias, purged by the same engine.

The alias used here is "default" (the only one the tests configure); the target reaches its
database through ``connections[alias]`` whatever the alias.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from apps.retention.models import HoldBasis, HoldScope, PurgeRunStatus, RetentionRule
from apps.retention.selectors import purge_preview
from apps.retention.services import (
    legal_hold_place,
    purge_run_execute,
    purge_run_request,
    retention_rule_save,
)
from tests.factories import DataAssetFactory
from tests.retention.conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def legacy_table():
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE legacy_calls (call_id bigint PRIMARY KEY, logged_on date NOT NULL, "
            "kind varchar(10) NOT NULL, caller varchar(50) NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO legacy_calls SELECT g, CASE WHEN g <= 8 THEN date '2019-01-01' "
            "ELSE date '2026-12-01' END, CASE WHEN g % 4 = 0 THEN 'internal' ELSE 'customer' END, "
            "'+44 20 7946 ' || g FROM generate_series(1, 10) AS g"
        )
    return "legacy_calls"


def _rule(**values):
    defaults = {
        "name": "legacy calls",
        "asset": DataAssetFactory(name="Call logs"),
        "target_kind": "raw_table",
        "content_type": None,
        "raw_database": "default",
        "raw_table": "legacy_calls",
        "raw_key_column": "call_id",
        "date_field": "logged_on",
        "filter": {"kind": "customer"},
        "period_amount": 2,
        "period_unit": "years",
        "action": "delete",
        "legal_reason": "Call logs kept two years",
        "legal_citation": "Telecoms policy",
    }
    defaults.update(values)
    return retention_rule_save(rule=RetentionRule(**defaults), actor=None, actor_label="t")


def _remaining() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT call_id FROM legacy_calls ORDER BY call_id")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("single_statement", [True, False], ids=["one-statement", "portable"])
def test_old_rows_of_a_raw_table_go_except_held_keys(legacy_table, single_statement):
    with time_machine.travel(NOW, tick=False):
        rule = _rule()
        legal_hold_place(
            scope=HoldScope.RECORDS,
            basis=HoldBasis.ART_17_3_E,
            reason="Call under investigation",
            review_on=datetime(2027, 6, 1, tzinfo=UTC).date(),
            raw_table="default:legacy_calls",
            object_ids=["3"],
            actor=None,
            actor_label="t",
        )
        preview = purge_preview(rule=rule)
        request = purge_run_request(rule_id=rule.pk, actor=None, trigger="code", queue=False)
        run = purge_run_execute(
            run_id=request.run.pk, batch_size=4, single_statement=single_statement
        )
    # old customer calls are 1,2,3,5,6,7 (4 and 8 are internal); 3 is held
    assert (preview.counts.matched, preview.counts.held) == (6, 1)
    assert [row["key"] for row in preview.sample] == [1, 2, 5, 6, 7]
    assert run.status == PurgeRunStatus.SUCCEEDED
    assert (run.matched, run.affected, run.skipped_held) == (6, 5, 1)
    assert _remaining() == [3, 4, 8, 9, 10]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"raw_key_column": "uuid"}, "raw_key_column", "No column “uuid”"),
        ({"raw_key_column": "kind"}, "raw_key_column", "must be an integer column"),
        ({"date_field": "caller"}, "date_field", "is not a date or timestamp column"),
        ({"filter": {"colour": "red"}}, "filter", "No column “colour” for the filter"),
        ({"filter": {"kind__startswith": "c"}}, "filter", "takes =, __in or __isnull"),
        ({"action": "anonymise"}, "action", "can only be deleted"),
    ],
)
def test_raw_table_rules_are_checked_against_the_catalogue(legacy_table, values, field, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        _rule(**values)
    assert message in " ".join(error.value.message_dict[field])
