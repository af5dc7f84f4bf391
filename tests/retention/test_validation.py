"""Bad rules are refused with a message that says what to do; nothing is saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.access.models import AccessRequest
from apps.audit.models import AuditEvent
from apps.crm.models import Customer
from apps.retention.models import (
    AnonymisedField,
    HoldBasis,
    HoldScope,
    LegalHold,
    RetentionRule,
)
from apps.retention.selectors import rule_runtime_problems
from tests.retention.factories import crm_asset, make_rule

pytestmark = pytest.mark.django_db


def _rule(**values) -> RetentionRule:
    defaults = {
        "name": "r",
        "asset": crm_asset("Customers", Customer),
        "content_type": ContentType.objects.get_for_model(Customer),
        "date_field": "last_activity_at",
        "filter": {"status": "closed"},
        "period_amount": 6,
        "period_unit": "years",
        "action": "delete",
        "legal_reason": "reason",
        "legal_citation": "citation",
    }
    defaults.update(values)
    return RetentionRule(**defaults)


def _errors(rule: RetentionRule) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    return error.value.message_dict


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"date_field": "full_name"},
            "date_field",
            "“full_name” is a CharField, not a date or date/time field",
        ),
        ({"date_field": "closed_on"}, "date_field", "crm.Customer has no field “closed_on”"),
        ({"filter": {"stat": "closed"}}, "filter", "The filter is not valid for crm.Customer"),
        ({"filter": {"status__in": "closed"}}, "filter", "“status__in” needs a list of values"),
        ({"filter": {"status__in": []}}, "filter", "the rule would match no row"),
        ({"filter": ["status"]}, "filter", "The filter must be a JSON object of field lookups"),
        (
            {"filter": {"created_at__gt": "not a date"}},
            "filter",
            "A filter value does not fit its field",
        ),
        (
            {"period_amount": 10, "period_unit": "days"},
            "period_amount",
            "is shorter than the minimum of 30 days",
        ),
        ({"period_amount": 0}, "period_amount", "The period must be at least 1."),
        (
            {"action": "anonymise"},
            "anonymised_marker_field",
            "An anonymise rule needs a nullable date/time field",
        ),
        (
            {"action": "anonymise", "anonymised_marker_field": "created_at"},
            "anonymised_marker_field",
            "“created_at” must be a nullable DateField or DateTimeField.",
        ),
        (
            {"anonymised_marker_field": "anonymised_at"},
            "anonymised_marker_field",
            "Only anonymise rules mark rows",
        ),
        (
            {"content_type": None},
            "content_type",
            "Choose the model whose rows this rule purges.",
        ),
        ({"batch_size": 0}, "batch_size", "A batch holds between 1 and 1,000,000 rows."),
        (
            {"raw_table": "legacy"},
            "raw_table",
            "Raw table settings are only for a raw table target",
        ),
    ],
)
def test_rule_validation_errors(values, field, message):
    errors = _errors(_rule(**values))
    assert any(message in text for text in errors[field]), errors


def test_the_retention_apps_own_configuration_is_not_a_target():
    errors = _errors(_rule(content_type=ContentType.objects.get_for_model(RetentionRule)))
    assert "retention.RetentionRule is configuration" in errors["content_type"][0]


def test_the_minimum_period_is_a_setting(settings):
    settings.JITPORTAL = {**settings.JITPORTAL, "PURGE_MIN_PERIOD_DAYS": 5}
    _rule(period_amount=10, period_unit="days").full_clean()


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"action": "anonymise"}, "action", "Audit events can only be deleted"),
        ({"filter": {"action": "x"}}, "filter", "no filter"),
        ({"date_field": "occurred_at", "period_amount": 1}, "period_amount", "kept at least"),
    ],
)
def test_audit_trail_rules_keep_the_chain_whole(values, field, message):
    base = {
        "content_type": ContentType.objects.get_for_model(AuditEvent),
        "date_field": "occurred_at",
        "filter": {},
        "period_amount": 10,
        "period_unit": "years",
    }
    base.update(values)
    errors = _errors(_rule(**base))
    assert any(message in text for text in errors[field]), errors


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"field_name": "nickname", "strategy": "null"}, "crm.Customer has no field “nickname”"),
        ({"field_name": "id", "strategy": "hash"}, "“id” is the primary key"),
        ({"field_name": "phone", "strategy": "null"}, "“phone” cannot be NULL"),
        ({"field_name": "external_ref", "strategy": "fixed", "value": "x"}, "must be unique"),
        ({"field_name": "date_of_birth", "strategy": "hash"}, "A hash is text"),
        ({"field_name": "country", "strategy": "hash"}, "too short for a hash"),
        ({"field_name": "status", "strategy": "hash"}, "only takes its choices"),
        ({"field_name": "email", "strategy": "truncate_date", "truncate_to": "year"}, "Only dates"),
        (
            {"field_name": "date_of_birth", "strategy": "fixed", "value": "soon"},
            "The fixed value does not fit “date_of_birth”",
        ),
        ({"field_name": "anonymised_at", "strategy": "null"}, "is the marker field"),
        ({"field_name": "email", "strategy": "hash", "value": "x"}, "Only a 'fixed value'"),
        ({"field_name": "date_of_birth", "strategy": "truncate_date"}, "Choose what the date"),
    ],
)
def test_anonymised_field_validation_errors(spec, message):
    rule = make_rule(
        action="anonymise",
        anonymised_marker_field="anonymised_at",
        fields=[{"field_name": "full_name", "strategy": "fixed", "value": "Anonymised"}],
    )
    with pytest.raises(ValidationError) as error:
        AnonymisedField(rule=rule, **spec).full_clean()
    assert message in str(error.value), error.value


def test_the_hash_strategy_is_refused_where_the_database_cannot_compute_it(monkeypatch):
    # given a rule whose target lives in a database the keyed hash is not written for
    from django.db import connections

    rule = make_rule(
        action="anonymise",
        anonymised_marker_field="anonymised_at",
        fields=[{"field_name": "full_name", "strategy": "fixed", "value": "Anonymised"}],
    )
    monkeypatch.setattr(connections["default"], "vendor", "mysql")
    # when a hash is asked for, then it is refused up front, not at purge time
    with pytest.raises(ValidationError) as error:
        AnonymisedField(rule=rule, field_name="email", strategy="hash").full_clean()
    assert "The hash strategy runs in PostgreSQL or SQLite" in str(error.value)


def test_a_delete_rule_takes_no_fields_and_an_anonymise_rule_needs_some():
    rule = make_rule()
    with pytest.raises(ValidationError, match="only anonymised by an anonymise rule"):
        AnonymisedField(rule=rule, field_name="email", strategy="hash").full_clean()
    anonymise = make_rule(
        name="anon",
        action="anonymise",
        anonymised_marker_field="anonymised_at",
        fields=[{"field_name": "email", "strategy": "hash"}],
    )
    anonymise.anonymised_fields.all().delete()
    assert "An anonymise rule needs at least one field to anonymise." in rule_runtime_problems(
        anonymise
    )


def test_cascades_the_engine_cannot_follow_are_refused_and_protect_is_accepted():
    # deleting a content type would reach guardian's permission tables along two paths
    from apps.retention.targets import deletion_plan

    relations, problems = deletion_plan(ContentType)
    assert any("along more than one path: not supported" in p for p in problems)
    # an access request's grant protects it (PROTECT), its approvals cascade: acceptable
    relations, problems = deletion_plan(AccessRequest)
    assert problems == []
    kinds = {rel.model._meta.label: rel.kind for rel in relations}
    assert kinds["access.Approval"] == "cascade" and kinds["access.Grant"] == "protect"
    _rule(
        asset=crm_asset("Access requests", AccessRequest),
        content_type=ContentType.objects.get_for_model(AccessRequest),
        date_field="created_at",
        filter={},
    ).full_clean()


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"scope": HoldScope.ASSET}, "asset", "Choose the data asset the hold covers."),
        ({"scope": HoldScope.RULE}, "rule", "Choose the retention rule the hold covers."),
        ({"scope": HoldScope.RECORDS}, "content_type", "Name either the model of the records"),
        (
            {"scope": HoldScope.RECORDS, "raw_table": "legacy"},
            "raw_table",
            "Write it as '<database alias>:<table>'.",
        ),
        (
            {"scope": HoldScope.RULE, "review_on": timezone.localdate() - timedelta(days=1)},
            "review_on",
            "The review date cannot be in the past.",
        ),
    ],
)
def test_hold_validation_errors(values, field, message):
    defaults = {"basis": HoldBasis.ART_18, "reason": "r", "review_on": timezone.localdate()}
    defaults.update(values)
    with pytest.raises(ValidationError) as error:
        LegalHold(**defaults).full_clean()
    assert message in " ".join(error.value.message_dict[field])


def test_a_raw_table_target_checks_the_database_and_the_table():
    errors = _errors(
        _rule(
            target_kind="raw_table",
            content_type=None,
            raw_database="legacy",
            raw_table="t",
            raw_key_column="id",
        )
    )
    assert "No database “legacy” in settings.DATABASES" in errors["raw_database"][0]
    errors = _errors(
        _rule(
            target_kind="raw_table",
            content_type=None,
            raw_database="default",
            raw_table="no_such_table",
            raw_key_column="id",
        )
    )
    assert "has no table “no_such_table”" in errors["raw_table"][0]
