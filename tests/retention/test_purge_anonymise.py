"""Anonymising purges: each strategy, the marker, the hash secret, holds."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

import pytest
import time_machine

from apps.crm.models import Customer
from apps.retention.anonymise import hash_key, keyed_hash
from apps.retention.models import PurgeRunStatus
from apps.retention.services import purge_run_execute, purge_run_request
from tests.retention.conftest import NOW, OLD, RECENT, hold_records
from tests.retention.factories import CustomerFactory, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FIELDS = [
    {"field_name": "full_name", "strategy": "fixed", "value": "Anonymised customer"},
    {"field_name": "email", "strategy": "hash"},
    {"field_name": "phone", "strategy": "hash"},
    {"field_name": "health_notes", "strategy": "fixed", "value": ""},
    {"field_name": "date_of_birth", "strategy": "truncate_date", "truncate_to": "year"},
    {"field_name": "created_at", "strategy": "truncate_date", "truncate_to": "month"},
    {"field_name": "contract_ended_on", "strategy": "null"},
]


def _anonymise_rule(fields=FIELDS, **values):
    return make_rule(
        action="anonymise", anonymised_marker_field="anonymised_at", fields=fields, **values
    )


def _run(rule, **kwargs):
    request = purge_run_request(
        rule_id=rule.pk, actor=None, actor_label="system:test", trigger="code", queue=False
    )
    return purge_run_execute(run_id=request.run.pk, **kwargs)


@pytest.mark.parametrize("single_statement", [True, False], ids=["one-statement", "portable"])
def test_each_strategy_rewrites_its_field_and_marks_the_row(single_statement):
    # given an expired closed customer with every kind of personal field, and a recent one
    with time_machine.travel(OLD, tick=False):
        old = CustomerFactory(
            email="ada@example.org",
            phone="+44 20 7946 0018",
            date_of_birth=date(1980, 5, 17),
            contract_ended_on=date(2019, 2, 1),
        )
    with time_machine.travel(RECENT, tick=False):
        recent = CustomerFactory(email="bob@example.org")
    with time_machine.travel(NOW, tick=False):
        rule = _anonymise_rule()
        # when the rule runs
        run = _run(rule, single_statement=single_statement)

    # then each field of the old row holds what its strategy says
    assert run.status == PurgeRunStatus.SUCCEEDED and run.affected == 1
    old.refresh_from_db()
    assert old.full_name == "Anonymised customer"  # fixed
    assert old.email == keyed_hash("ada@example.org")  # hash (HMAC-SHA256, 64 hex)
    assert len(old.email) == 64
    assert old.phone == keyed_hash("+44 20 7946 0018", length=50)  # cut to max_length
    assert old.health_notes == ""  # fixed empty
    assert old.date_of_birth == date(1980, 1, 1)  # truncated to the year
    assert old.created_at == datetime(2019, 3, 1, tzinfo=UTC)  # truncated to the month
    assert old.contract_ended_on is None  # null
    assert old.anonymised_at == NOW  # the marker
    # the untouched fields and the recent row stay as they were
    assert old.status == "closed" and old.external_ref.startswith("RT-")
    recent.refresh_from_db()
    assert recent.email == "bob@example.org" and recent.anonymised_at is None


def test_a_row_is_anonymised_once_the_marker_keeps_it_out_of_the_next_run():
    with time_machine.travel(OLD, tick=False):
        CustomerFactory.create_batch(3)
    with time_machine.travel(NOW, tick=False):
        rule = _anonymise_rule()
        first = _run(rule, batch_size=2)
    with time_machine.travel(NOW.replace(day=20), tick=False):
        second = _run(rule)
    assert first.affected == 3 and first.batches == 2
    assert second.matched == 0 and second.affected == 0


def test_the_hash_uses_the_configured_secret_or_one_derived_from_secret_key(settings):
    # given no HASH_SECRET: the key is derived from SECRET_KEY
    settings.JITPORTAL = {**settings.JITPORTAL, "HASH_SECRET": ""}
    derived = hmac.new(
        settings.SECRET_KEY.encode(), b"jitportal.retention.hash-secret", hashlib.sha256
    ).digest()
    assert hash_key() == derived
    # given a HASH_SECRET: that is the key, and the database computes the same HMAC
    settings.JITPORTAL = {**settings.JITPORTAL, "HASH_SECRET": "s3cret-pepper"}
    assert hash_key() == b"s3cret-pepper"
    with time_machine.travel(OLD, tick=False):
        customer = CustomerFactory(email="grace@example.org")
    with time_machine.travel(NOW, tick=False):
        rule = _anonymise_rule(fields=[{"field_name": "email", "strategy": "hash"}])
        _run(rule)
    customer.refresh_from_db()
    expected = hmac.new(b"s3cret-pepper", b"grace@example.org", hashlib.sha256).hexdigest()
    assert customer.email == expected
    assert settings.JITPORTAL["HASH_SECRET"] == "s3cret-pepper"


def test_empty_values_stay_empty_under_the_hash():
    with time_machine.travel(OLD, tick=False):
        customer = CustomerFactory(email="")
    with time_machine.travel(NOW, tick=False):
        _run(_anonymise_rule(fields=[{"field_name": "email", "strategy": "hash"}]))
    customer.refresh_from_db()
    assert customer.email == "" and customer.anonymised_at == NOW


def test_a_held_customer_is_not_anonymised():
    with time_machine.travel(OLD, tick=False):
        kept, gone = CustomerFactory(full_name="Kept Person"), CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        hold_records(kept)
        run = _run(_anonymise_rule())
    kept.refresh_from_db()
    gone.refresh_from_db()
    assert (run.matched, run.affected, run.skipped_held) == (2, 1, 1)
    assert kept.full_name == "Kept Person" and kept.anonymised_at is None
    assert gone.full_name == "Anonymised customer"
    assert Customer.objects.count() == 2


def test_the_sqlite_hash_function_computes_the_same_hmac():
    # (SQLite computes the hash strategy with this function, registered per connection)
    from apps.retention.anonymise import sqlite_hmac

    key = hash_key()
    assert sqlite_hmac(key.hex(), "ada@example.org") == keyed_hash("ada@example.org")
    assert sqlite_hmac(key.hex(), None) is None
