"""Every way a grant can end, and what each place that shows it says (docs/architecture.md,
"State machines"): the grant's status and ``end_reason``, the access register's page rows
and its CSV and JSON downloads, the approval statistics, the REST API, the admin and the
audit trail. A lapse at the end of the window is ``expired``; every end a person or the
portal chose is ``revoked`` and says who chose it."""

from __future__ import annotations

import csv
import importlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import escape

from apps.access import services
from apps.access.models import Grant, GrantEnd, GrantStatus, RevokeCode
from apps.audit.models import AuditEvent
from apps.reports.approvals import approval_statistics
from tests.access.factories import AccessRoleFactory
from tests.api.conftest import Api
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AFTER_ALL = DAY1 + timedelta(days=3)


def _at(hours: float) -> datetime:
    return DAY1 + timedelta(hours=hours)


@dataclass(frozen=True)
class Ending:
    """One way to end a grant: ``end(grant, people)`` ends it; what everything then says."""

    name: str
    starts_in_hours: float
    end: Callable[[Grant, dict[str, Any]], None]
    status: GrantStatus
    reason: GrantEnd
    register: str
    action: str
    break_glass: bool = False


def _reconcile_at(hours: float) -> Callable[[Grant, dict[str, Any]], None]:
    def run(_grant: Grant, _people: dict[str, Any]) -> None:
        with time_machine.travel(_at(hours), tick=False):
            services.access_reconcile()

    return run


def _give_back_at(hours: float) -> Callable[[Grant, dict[str, Any]], None]:
    def run(grant: Grant, _people: dict[str, Any]) -> None:
        with time_machine.travel(_at(hours), tick=False):
            services.grant_relinquish(grant_id=grant.pk, actor=grant.user)

    return run


def _revoke_at(hours: float, who: str) -> Callable[[Grant, dict[str, Any]], None]:
    def run(grant: Grant, people: dict[str, Any]) -> None:
        with time_machine.travel(_at(hours), tick=False):
            services.grant_revoke(grant_id=grant.pk, actor=people[who], reason="Done early")

    return run


def _not_entitled(grant: Grant, _people: dict[str, Any]) -> None:
    # the role is withdrawn before the grant starts; the reconcile at its start ends it
    role = grant.request.role
    role.is_active = False
    role.save(update_fields=["is_active"])
    with time_machine.travel(_at(24), tick=False):
        services.access_reconcile()


def _offboarded(grant: Grant, people: dict[str, Any]) -> None:
    with time_machine.travel(_at(1), tick=False):
        services.user_offboard(user_id=grant.user_id, actor=people["dpo"], reason="Left")


ENDINGS = [
    Ending(
        "lapsed at its end",
        0,
        _reconcile_at(5),
        GrantStatus.EXPIRED,
        GrantEnd.EXPIRED,
        "expired at the end of its window",
        "access.grant.expired",
    ),
    Ending(
        "given back before its start",
        24,
        _give_back_at(1),
        GrantStatus.REVOKED,
        GrantEnd.GIVEN_BACK,
        "given back by its holder before it started",
        "access.grant.relinquished",
    ),
    Ending(
        "given back while live",
        0,
        _give_back_at(1),
        GrantStatus.REVOKED,
        GrantEnd.GIVEN_BACK,
        "given back early by its holder",
        "access.grant.relinquished",
    ),
    Ending(
        "revoked by an approver while live",
        0,
        _revoke_at(1, "approver"),
        GrantStatus.REVOKED,
        GrantEnd.REVOKED,
        "revoked by approver: Done early",
        "access.grant.revoked",
    ),
    Ending(
        "revoked by the DPO before its start",
        24,
        _revoke_at(1, "dpo"),
        GrantStatus.REVOKED,
        GrantEnd.REVOKED,
        "withdrawn before it started by dpo: Done early",
        "access.grant.revoked",
    ),
    Ending(
        "holder no longer entitled at its start",
        24,
        _not_entitled,
        GrantStatus.REVOKED,
        GrantEnd.NOT_ENTITLED,
        "Ended at its start: its holder was no longer entitled",
        "access.grant.revoked",
    ),
    Ending(
        "holder offboarded",
        0,
        _offboarded,
        GrantStatus.REVOKED,
        GrantEnd.HOLDER_OFFBOARDED,
        "Ended: its holder's account was deactivated",
        "access.user.offboarded",
    ),
    Ending(
        "break-glass lapsed at its end",
        0,
        _reconcile_at(2),
        GrantStatus.EXPIRED,
        GrantEnd.EXPIRED,
        "expired at the end of its window",
        "access.grant.expired",
        break_glass=True,
    ),
    Ending(
        "break-glass given back",
        0,
        _give_back_at(0.5),
        GrantStatus.REVOKED,
        GrantEnd.GIVEN_BACK,
        "given back early by its holder",
        "access.grant.relinquished",
        break_glass=True,
    ),
]


@pytest.fixture
def ended(groups, approver, dpo, django_capture_on_commit_callbacks):
    """One grant per way of ending, each of its own holder, ended as its case says."""
    asset = DataAssetFactory(name="Customer records")
    people = {"approver": approver, "dpo": dpo}
    grants = {}
    for number, case in enumerate(ENDINGS):
        holder = UserFactory(username=f"holder{number}", groups=["Staff"])
        role = AccessRoleFactory(
            name=f"Support read {number}",
            assets=[asset],
            approver_groups=[Group.objects.get(name="Approvers")],
            approve_by_asset_owner=False,
            approve_by_steward_group=False,
        )
        start = _at(case.starts_in_hours)
        with time_machine.travel(_at(-1), tick=False):
            if case.break_glass:
                holder.groups.add(Group.objects.get(name="DPO"))
            else:
                request = services.access_request_submit(
                    requester=holder,
                    role=role,
                    starts_at=start,
                    ends_at=start + timedelta(hours=4),
                    justification=case.name,
                )
                with django_capture_on_commit_callbacks(execute=True):
                    services.access_request_approve(request_id=request.pk, approver=approver)
        if case.break_glass:
            with time_machine.travel(_at(0), tick=False):
                grant = services.grant_break_glass(
                    user=holder, asset=asset, duration=timedelta(hours=1), reason=case.name
                )
        else:
            grant = Grant.objects.get(request=request)
            with time_machine.travel(_at(0), tick=False):
                services.access_reconcile()
        with django_capture_on_commit_callbacks(execute=True):
            case.end(Grant.objects.get(pk=grant.pk), people)
        grants[case.name] = Grant.objects.get(pk=grant.pk)
    return asset, grants


def test_every_way_a_grant_ends_is_said_alike_everywhere(ended, client, auditor, dpo):
    asset, grants = ended
    # given every way a grant can end, seen once everything has ended
    # (a new GrantEnd or RevokeCode needs its case here)
    assert {case.reason for case in ENDINGS} == set(GrantEnd)
    for code in RevokeCode:
        probe = Grant(starts_at=_at(0), ends_at=_at(1), revoked_at=_at(0), revoke_code=code)
        assert probe.ended_how() not in {None, GrantEnd.REVOKED, GrantEnd.EXPIRED}, code
    client.force_login(auditor)
    url = reverse("admin:reports_asset_register")
    params = {"asset": asset.pk, "start": "2026-03-01", "end": "2026-03-05"}
    with time_machine.travel(AFTER_ALL, tick=False):
        services.access_reconcile()
        page = client.get(url, params).content.decode()
        exported = list(
            csv.DictReader(
                io.StringIO(
                    client.get(url, {**params, "format": "csv"}).content.decode("utf-8-sig")
                )
            )
        )
        doc = json.loads(client.get(url, {**params, "format": "json"}).content)
        api = Api(user=dpo)
        admin = Api(user=dpo)
        stats = approval_statistics(start=_at(-24), end=AFTER_ALL)
        for case in ENDINGS:
            grant = Grant.objects.get(pk=grants[case.name].pk)
            # then the grant's own status and end reason
            assert (grant.status, grant.ended_how()) == (case.status, case.reason), case.name
            # the register page, its CSV export and its JSON export say the same
            assert escape(case.register) in page, case.name
            row = next(r for r in exported if r["Grant"] == str(grant.pk))
            assert row["How it ended"] == case.register, case.name
            entry = next(g for g in doc["grants"] if g["grant"] == grant.pk)
            assert (entry["ended"], entry["end_reason"]) == (case.register, case.reason.value)
            if grant.revoked_at is not None:
                held_until = datetime.fromisoformat(entry["held_until"].replace("Z", "+00:00"))
                assert held_until == max(grant.revoked_at, grant.starts_at), case.name
            # the REST API
            body = api.get(f"/api/grants/{grant.pk}/").json()
            assert (body["status"], body["end_reason"]) == (case.status, case.reason), case.name
            assert body["end_reason_label"] == str(case.reason.label)
            assert (body["revoked_at"] is None) == (case.reason == GrantEnd.EXPIRED)
            # the admin's grant page
            change = admin.get(reverse("admin:access_grant_change", args=[grant.pk]))
            assert escape(str(case.reason.label)) in change.content.decode(), case.name
            # the approval statistics: revoked early by others, or given back by the holder
            revoked_by_others = grant.pk in {r["grant"] for r in stats["revoked_early_rows"]}
            assert revoked_by_others == (
                case.reason not in {GrantEnd.EXPIRED, GrantEnd.GIVEN_BACK}
            ), case.name
            # the audit trail: the end's own event
            if case.action == "access.user.offboarded":
                event = AuditEvent.objects.for_target(grant.user).get(action=case.action)
                assert event.data["grants_revoked"] == [grant.pk]
            else:
                assert AuditEvent.objects.for_target(grant).filter(action=case.action).exists()
        given_back = [c for c in ENDINGS if c.reason == GrantEnd.GIVEN_BACK]
        assert stats["given_back_early"] == len(given_back)


def test_the_migration_makes_an_old_give_back_revoked(ended):
    # given a grant given back while live, as the portal recorded it before: expired, with
    # its end moved to the give-back time
    _asset, grants = ended
    grant = grants["given back while live"]
    migration = importlib.import_module("apps.access.migrations.0013_grant_given_back_is_revoked")
    migration.revoked_to_given_back(django_apps, None)
    old = Grant.objects.get(pk=grant.pk)
    assert (old.status, old.revoked_at, old.ends_at) == ("expired", None, grant.revoked_at)
    # when the migration runs
    migration.given_back_to_revoked(django_apps, None)
    # then it is revoked by its holder, with its planned end, as a give-back is now
    new = Grant.objects.get(pk=grant.pk)
    assert (new.status, new.revoke_code, new.revoked_by_id) == (
        GrantStatus.REVOKED,
        RevokeCode.GIVEN_BACK,
        grant.user_id,
    )
    assert (new.revoked_at, new.ends_at) == (grant.revoked_at, grant.ends_at)
    # and a grant that lapsed, or was revoked by someone else, is left as it was
    for name in ("lapsed at its end", "revoked by an approver while live"):
        before = grants[name]
        after = Grant.objects.get(pk=before.pk)
        assert (after.status, after.revoke_code, after.ends_at) == (
            before.status,
            before.revoke_code,
            before.ends_at,
        )
