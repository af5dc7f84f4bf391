"""The DPO's admin pages: smoke tests, preview, run now with confirmation, four eyes, holds,
run progress, and a permission test per action."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.crm.models import Customer
from apps.retention.models import (
    LegalHold,
    PurgeRun,
    PurgeRunStatus,
    RetentionRule,
)
from apps.retention.services import purge_run_dry
from tests.factories import ProcessingActivityFactory
from tests.retention.conftest import NOW, OLD, hold_records
from tests.retention.factories import CustomerFactory, crm_asset, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def expired():
    with time_machine.travel(OLD, tick=False):
        return CustomerFactory.create_batch(3)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _rule_form(**overrides):
    data = {
        "name": "Closed customers",
        "asset": crm_asset("Customers", Customer).pk,
        "category": "",
        "enabled": "on",
        "target_kind": "model",
        "content_type": ContentType.objects.get_for_model(Customer).pk,
        "date_field": "last_activity_at",
        "filter": '{"status": "closed"}',
        "raw_database": "",
        "raw_table": "",
        "raw_key_column": "",
        "period_amount": "6",
        "period_unit": "years",
        "action": "delete",
        "anonymised_marker_field": "",
        "legal_reason": "Limitation period",
        "legal_citation": "Limitation Act 1980 s.5",
        "run_every_days": "1",
        "batch_size": "",
        "anonymised_fields-TOTAL_FORMS": "0",
        "anonymised_fields-INITIAL_FORMS": "0",
        "anonymised_fields-MIN_NUM_FORMS": "0",
        "anonymised_fields-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


# --- smoke tests, one per ModelAdmin -----------------------------------------------------


def test_every_retention_admin_page_opens_for_the_dpo(client, dpo, expired, now):
    rule = make_rule()
    hold = hold_records(expired[0], actor=dpo)
    dry = purge_run_dry(rule_id=rule.pk, actor=dpo)
    client.force_login(dpo)
    urls = [
        reverse("admin:retention_retentionrule_changelist"),
        reverse("admin:retention_retentionrule_add"),
        reverse("admin:retention_retentionrule_change", args=[rule.pk]),
        reverse("admin:retention_retentionrule_by_activity"),
        reverse("admin:retention_legalhold_changelist"),
        reverse("admin:retention_legalhold_add"),
        reverse("admin:retention_legalhold_change", args=[hold.pk]),
        reverse("admin:retention_legalhold_lift", args=[hold.pk]),
        reverse("admin:retention_purgerun_changelist"),
        reverse("admin:retention_purgerun_change", args=[dry.pk]),
        reverse("admin:retention_retentionrule_preview", args=[rule.pk]),
        reverse("admin:retention_retentionrule_run", args=[rule.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert (
        client.get(
            reverse("admin:retention_retentionrule_changelist") + "?activity=1&enabled__exact=1"
        ).status_code
        == 200
    )


def test_auditors_read_but_cannot_change(client, auditor, expired, now):
    rule = make_rule()
    client.force_login(auditor)
    assert client.get(reverse("admin:retention_retentionrule_changelist")).status_code == 200
    assert client.get(reverse("admin:retention_purgerun_changelist")).status_code == 200
    assert client.get(reverse("admin:retention_legalhold_changelist")).status_code == 200
    page = client.get(reverse("admin:retention_retentionrule_change", args=[rule.pk]))
    assert page.status_code == 200 and b"Run now" not in page.content
    assert client.get(reverse("admin:retention_retentionrule_add")).status_code == 403
    assert client.get(reverse("admin:retention_legalhold_add")).status_code == 403


# --- rules ---------------------------------------------------------------------------------


def test_adding_a_rule_in_the_admin_is_validated_and_audited(client, dpo, now):
    client.force_login(dpo)
    url = reverse("admin:retention_retentionrule_add")
    # when the date field is not a date
    page = client.post(url, _rule_form(date_field="full_name"))
    assert page.status_code == 200
    assert "not a date or date/time field" in page.content.decode()
    assert not RetentionRule.objects.exists()
    # when the filter names no field
    page = client.post(url, _rule_form(filter='{"colour": "red"}'))
    assert "The filter is not valid for crm.Customer" in page.content.decode()
    # when an anonymise rule has no field to anonymise
    page = client.post(url, _rule_form(action="anonymise", anonymised_marker_field="anonymised_at"))
    assert "An anonymise rule needs at least one field to anonymise." in page.content.decode()
    assert not RetentionRule.objects.exists()
    # when the rule is fine
    response = client.post(
        url,
        _rule_form(
            action="anonymise",
            anonymised_marker_field="anonymised_at",
            **{
                "anonymised_fields-TOTAL_FORMS": "1",
                "anonymised_fields-0-field_name": "email",
                "anonymised_fields-0-strategy": "hash",
                "anonymised_fields-0-value": "",
                "anonymised_fields-0-truncate_to": "",
            },
        ),
    )
    assert response.status_code == 302
    rule = RetentionRule.objects.get()
    assert rule.changed_by == dpo and rule.anonymised_fields.get().field_name == "email"
    event = AuditEvent.objects.get(action="retention.rule.created")
    assert event.actor == dpo
    assert event.data["rule"]["anonymised_fields"][0]["strategy"] == "hash"


def test_a_strategy_that_does_not_fit_is_refused_in_the_inline(client, dpo, now):
    client.force_login(dpo)
    page = client.post(
        reverse("admin:retention_retentionrule_add"),
        _rule_form(
            action="anonymise",
            anonymised_marker_field="anonymised_at",
            **{
                "anonymised_fields-TOTAL_FORMS": "1",
                "anonymised_fields-0-field_name": "phone",
                "anonymised_fields-0-strategy": "null",
            },
        ),
    )
    assert page.status_code == 200
    assert "“phone” cannot be NULL" in page.content.decode()
    assert not RetentionRule.objects.exists()


def test_a_rule_with_runs_cannot_be_deleted(client, dpo, now):
    rule = make_rule()
    purge_run_dry(rule_id=rule.pk, actor=dpo)
    client.force_login(dpo)
    response = client.get(reverse("admin:retention_retentionrule_delete", args=[rule.pk]))
    assert response.status_code == 403
    unused = make_rule(name="unused")
    response = client.post(
        reverse("admin:retention_retentionrule_delete", args=[unused.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not RetentionRule.objects.filter(pk=unused.pk).exists()
    assert AuditEvent.objects.filter(action="retention.rule.deleted", actor=dpo).exists()


def test_rules_by_processing_activity(client, dpo, now):
    rule = make_rule()
    activity = ProcessingActivityFactory(name="Customer service")
    activity.assets.add(rule.asset)
    client.force_login(dpo)
    page = client.get(reverse("admin:retention_retentionrule_by_activity")).content.decode()
    assert "Customer service" in page and rule.name in page
    listed = client.get(
        reverse("admin:retention_retentionrule_changelist") + f"?activity={activity.pk}"
    )
    assert rule.name in listed.content.decode()


# --- preview and run now ---------------------------------------------------------------------


def test_preview_shows_the_numbers_and_changes_nothing(client, dpo, expired, now):
    rule = make_rule()
    hold_records(expired[0], actor=dpo)
    client.force_login(dpo)
    url = reverse("admin:retention_retentionrule_preview", args=[rule.pk])
    page = client.get(url).content.decode()
    assert '<td id="matched">3</td>' in page and '<td id="held">1</td>' in page
    assert "<strong>2</strong>" in page
    assert "Customer " not in page  # keys and dates only, no names
    response = client.post(url)
    run = PurgeRun.objects.get(dry_run=True)
    assert response.status_code == 302 and response["Location"].endswith(f"/{run.pk}/change/")
    assert Customer.objects.count() == 3


def test_run_now_asks_for_confirmation_then_runs(
    client, dpo, expired, now, django_capture_on_commit_callbacks
):
    rule = make_rule()
    client.force_login(dpo)
    url = reverse("admin:retention_retentionrule_run", args=[rule.pk])
    page = client.get(url).content.decode()
    assert '<td id="matched">3</td>' in page and "I have checked these numbers" in page
    # when posted without ticking the box
    page = client.post(url, {}).content.decode()
    assert "Tick the box to confirm you have checked the numbers." in page
    assert Customer.objects.count() == 3 and not PurgeRun.objects.exists()
    # when confirmed: the run is planned and handed to the worker after commit
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm": "on"})
    run = PurgeRun.objects.get()
    assert response["Location"] == reverse("admin:retention_purgerun_change", args=[run.pk])
    run.refresh_from_db()
    assert run.status == PurgeRunStatus.SUCCEEDED and run.started_by == dpo
    assert run.trigger == "admin" and Customer.objects.count() == 0
    page = client.get(response["Location"]).content.decode()
    assert "3 / 3 rows" in page and "100%" in page


def test_four_eyes_in_the_admin(
    client, dpo, dpo2, expired, now, settings_threshold, django_capture_on_commit_callbacks
):
    settings_threshold(2)
    rule = make_rule(actor=dpo)
    client.force_login(dpo)
    run_url = reverse("admin:retention_retentionrule_run", args=[rule.pk])
    confirm_url = reverse("admin:retention_retentionrule_confirm", args=[rule.pk])
    assert "four-eyes threshold" in client.get(run_url).content.decode()
    # when the author runs it: the request waits for a second person
    response = client.post(run_url, {"confirm": "on"}, follow=True)
    assert "must confirm it first" in response.content.decode()
    assert not PurgeRun.objects.exists() and Customer.objects.count() == 3
    # when the author tries to confirm it
    response = client.post(confirm_url, {"confirm": "on"}, follow=True)
    assert "cannot also confirm it" in response.content.decode()
    assert not PurgeRun.objects.exists()
    # when a second DPO confirms it
    client.force_login(dpo2)
    page = client.get(confirm_url).content.decode()
    assert "Asked for by <strong>dpo</strong>" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_url, {"confirm": "on"})
    run = PurgeRun.objects.get()
    assert run.status == PurgeRunStatus.SUCCEEDED and Customer.objects.count() == 0
    assert run.started_by == dpo2


# --- holds ------------------------------------------------------------------------------------


def test_placing_and_lifting_a_hold_in_the_admin(client, dpo, expired, now):
    client.force_login(dpo)
    add = reverse("admin:retention_legalhold_add")
    data = {
        "scope": "records",
        "asset": "",
        "rule": "",
        "content_type": ContentType.objects.get_for_model(Customer).pk,
        "raw_table": "",
        "object_ids": "999999",
        "basis": "art17_3_e",
        "reference": "CLAIM-1",
        "reason": "Dispute over the final invoice",
        "review_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }
    page = client.post(add, data)
    assert page.status_code == 200 and "No crm.Customer with id 999999." in page.content.decode()
    assert not LegalHold.objects.exists()
    data["object_ids"] = f"{expired[0].pk}, {expired[1].pk}"
    response = client.post(add, data)
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert sorted(hold.records.values_list("object_id", flat=True)) == sorted(
        [str(expired[0].pk), str(expired[1].pk)]
    )
    assert hold.placed_by == dpo
    # lifting without a reason is refused; with one it is lifted and audited
    lift = reverse("admin:retention_legalhold_lift", args=[hold.pk])
    assert "This field is required." in client.post(lift, {"reason": ""}).content.decode()
    assert client.post(lift, {"reason": "Settled"}).status_code == 302
    hold.refresh_from_db()
    assert hold.lifted_by == dpo and hold.lift_reason == "Settled"
    assert AuditEvent.objects.filter(action="retention.hold.lifted", actor=dpo).exists()


def test_the_review_date_is_the_only_thing_changed_on_a_hold(client, dpo, expired, now):
    hold = hold_records(expired[0], actor=dpo)
    client.force_login(dpo)
    url = reverse("admin:retention_legalhold_change", args=[hold.pk])
    new_date = timezone.localdate() + timedelta(days=60)
    response = client.post(url, {"review_on": new_date.isoformat(), "reason": "changed?"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.review_on == new_date and hold.reason == "Pending claim"
    assert AuditEvent.objects.filter(action="retention.hold.reviewed").exists()


# --- runs -------------------------------------------------------------------------------------


def test_a_planned_run_can_be_stopped_from_its_page(client, dpo, now):
    rule = make_rule()
    run = PurgeRun.objects.create(
        rule=rule, trigger="admin", actor_label="dpo", action="delete", started_by=dpo
    )
    client.force_login(dpo)
    page = client.get(reverse("admin:retention_purgerun_change", args=[run.pk])).content.decode()
    assert "Stop after the current batch" in page
    client.post(reverse("admin:retention_purgerun_stop", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == PurgeRunStatus.FAILED and "Stopped before it began" in run.error


# --- a permission test per action -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("admin:retention_retentionrule_preview", "get"),
        ("admin:retention_retentionrule_run", "post"),
        ("admin:retention_retentionrule_confirm", "post"),
        ("admin:retention_legalhold_lift", "post"),
        ("admin:retention_purgerun_stop", "post"),
    ],
)
def test_each_action_needs_its_permission(client, auditor, dpo, expired, now, name, method):
    rule = make_rule()
    hold = hold_records(expired[0], actor=dpo)
    run = PurgeRun.objects.create(rule=rule, trigger="admin", actor_label="x", action="delete")
    target = {
        "admin:retention_legalhold_lift": hold.pk,
        "admin:retention_purgerun_stop": run.pk,
    }.get(name, rule.pk)
    client.force_login(auditor)
    response = getattr(client, method)(
        reverse(name, args=[target]), {"confirm": "on", "reason": "x"}
    )
    assert response.status_code == 403
    hold.refresh_from_db()
    run.refresh_from_db()
    assert hold.lifted_at is None and run.status == PurgeRunStatus.PLANNED
    assert Customer.objects.count() == 3


def test_staff_without_retention_permissions_see_nothing(client, approver, now):
    rule = make_rule()
    client.force_login(approver)
    assert client.get(reverse("admin:retention_retentionrule_changelist")).status_code == 403
    assert (
        client.get(reverse("admin:retention_retentionrule_preview", args=[rule.pk])).status_code
        == 403
    )


def test_the_preview_action_on_the_list_needs_run_purge(client, dpo, auditor, expired, now):
    rule = make_rule()
    url = reverse("admin:retention_retentionrule_changelist")
    client.force_login(auditor)
    client.post(url, {"action": "preview_rules", "_selected_action": [rule.pk]})
    assert not PurgeRun.objects.exists()
    client.force_login(dpo)
    client.post(url, {"action": "preview_rules", "_selected_action": [rule.pk]})
    assert PurgeRun.objects.get().dry_run
