"""The portal's own records are governed too: audit events, access requests, grants and
purge runs. Purging old audit events keeps the chain verifiable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from apps.access.models import AccessRequest, Grant
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import audit_event_record
from apps.retention.models import PurgeRun, PurgeRunStatus
from apps.retention.services import purge_run_execute, purge_run_request
from tests.access.factories import AccessRequestFactory, GrantFactory
from tests.retention.conftest import NOW, OLD, hold_records
from tests.retention.factories import make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _run(rule, **kwargs) -> PurgeRun:
    request = purge_run_request(
        rule_id=rule.pk, actor=None, actor_label="system:test", trigger="code", queue=False
    )
    return purge_run_execute(run_id=request.run.pk, **kwargs)


def _audit_rule(settings, days=365):
    settings.JITPORTAL = {**settings.JITPORTAL, "AUDIT_RETENTION_DAYS": days}
    return make_rule(
        model=AuditEvent,
        date_field="occurred_at",
        filter={},
        period_amount=days,
        period_unit="days",
    )


def test_old_audit_events_go_and_the_chain_still_verifies(settings):
    # given events from 2019 and from 2026 in one chain
    with time_machine.travel(OLD, tick=False):
        old = [audit_event_record(action="test.old", reason=f"r{i}") for i in range(7)]
    with time_machine.travel(datetime(2026, 6, 1, tzinfo=UTC), tick=False):
        young = [audit_event_record(action="test.young") for _ in range(2)]
    with time_machine.travel(NOW, tick=False):
        rule = _audit_rule(settings)
        # when the audit rule (one year) runs in batches of 3
        run = _run(rule, batch_size=3)

    # then the old events are gone, the young ones and the run's own events stay
    assert run.status == PurgeRunStatus.SUCCEEDED
    assert (run.matched, run.affected) == (7, 7)
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in young]).count() == 2
    # each batch recorded the new anchor, and the chain verifies from the oldest event left
    anchors = AuditEvent.objects.filter(action="audit.trail.purged").order_by("id")
    assert anchors.count() == 3
    assert anchors.last().data["anchor"] == young[0].prev_hash == old[-1].hash
    assert anchors.last().data["oldest_kept_id"] == young[0].pk
    result = audit_chain_verify()
    assert result.ok, result
    assert result.first_id == young[0].pk and result.anchor == old[-1].hash
    assert result.anchor_confirmed is True


def test_the_newest_event_and_held_events_stop_the_prefix(settings, dpo):
    # given only old events, one of them under a legal hold
    with time_machine.travel(OLD, tick=False):
        events = [audit_event_record(action="test.old") for _ in range(6)]
    with time_machine.travel(NOW, tick=False):
        hold = hold_records(events[3], model=AuditEvent, actor=dpo)
        rule = _audit_rule(settings)
        run = _run(rule)
    # then the events before the held one go; the held one and everything after it stay
    assert hold.records.get().object_id == str(events[3].pk)
    assert run.affected == 3
    assert list(
        AuditEvent.objects.filter(pk__lte=events[-1].pk).values_list("pk", flat=True).order_by("pk")
    ) == [e.pk for e in events[3:]]
    assert audit_chain_verify().ok


def test_the_audit_rule_never_removes_the_head_of_the_chain(settings):
    # given a chain whose every event is older than the cutoff
    from apps.retention.holds import HoldState
    from apps.retention.targets import AuditChainTarget

    with time_machine.travel(OLD, tick=False):
        rule = _audit_rule(settings)
        for _ in range(3):
            audit_event_record(action="test.only")
    total = AuditEvent.objects.count()
    newest = AuditEvent.objects.order_by("-id").first()
    with time_machine.travel(NOW, tick=False):
        # when a batch covers every id
        target = AuditChainTarget(rule, cutoff=NOW)
        first = AuditEvent.objects.order_by("id").first()
        result = target.run_chunk(first.pk, newest.pk + 10, HoldState())
    # then all but the newest went, and it is where verification starts, vouched for
    assert result.affected == total - 1
    assert AuditEvent.objects.order_by("id").first() == newest
    verified = audit_chain_verify()
    assert verified.ok and verified.first_id == newest.pk and verified.anchor_confirmed


def test_ended_grants_and_decided_requests_are_purged_after_their_retention():
    # given grants that ended in 2019 (expired, revoked), one still live, and requests
    with time_machine.travel(OLD, tick=False):
        expired = GrantFactory(status="expired")
        revoked = GrantFactory(status="revoked", revoked_at=OLD)
        denied = AccessRequestFactory(status="denied")
        pending = AccessRequestFactory(status="pending")
    with time_machine.travel(datetime(2026, 1, 10, tzinfo=UTC), tick=False):
        recent = GrantFactory(status="expired")
    with time_machine.travel(NOW, tick=False):
        live = GrantFactory(ends_at=NOW + timedelta(hours=2))
        grants = make_rule(
            model=Grant,
            date_field="ends_at",
            filter={"status__in": ["expired", "revoked"]},
            period_amount=2,
        )
        requests = make_rule(
            model=AccessRequest,
            date_field="created_at",
            filter={"status__in": ["approved", "denied", "cancelled", "lapsed"]},
            period_amount=2,
        )
        # when requests are purged first, grants protect their approved requests
        first = _run(requests)
        grant_run = _run(grants)
        second = _run(requests)
    assert (first.affected, first.skipped_protected) == (1, 2)
    assert grant_run.affected == 2
    assert (second.affected, second.skipped_protected) == (2, 0)
    assert set(Grant.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert not AccessRequest.objects.filter(
        pk__in=[denied.pk, expired.request_id, revoked.request_id]
    ).exists()
    assert AccessRequest.objects.filter(pk=pending.pk).exists()
    # the grants' asset links (many-to-many rows) went with them
    through = Grant.assets.through
    assert not through.objects.filter(grant_id__in=[expired.pk, revoked.pk]).exists()


def test_purge_runs_themselves_are_purged(settings):
    # given old finished runs of a customer rule
    with time_machine.travel(OLD, tick=False):
        customers = make_rule(name="customers")
        old_runs = [
            _run(customers),
            _run(customers),
        ]
    with time_machine.travel(NOW, tick=False):
        runs_rule = make_rule(
            name="runs",
            model=PurgeRun,
            date_field="finished_at",
            filter={},
            period_amount=6,
        )
        run = _run(runs_rule)
    assert run.affected == 2
    assert not PurgeRun.objects.filter(pk__in=[r.pk for r in old_runs]).exists()
    assert PurgeRun.objects.filter(pk=run.pk, status=PurgeRunStatus.SUCCEEDED).exists()
    ct = ContentType.objects.get_for_model(PurgeRun)
    assert runs_rule.content_type == ct
