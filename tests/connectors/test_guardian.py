"""The django-guardian mirror behind the connector interface: the access services and the
connector never write or delete a grant's rows twice, observe finds rows no grant gives,
and the last overlapping grant to end keeps its rights (docs/connectors.md,
"django-guardian mirror")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm

from apps.access import services as access_services
from apps.access.models import Grant
from apps.access.services import access_reconcile
from apps.connectors.models import (
    DriftAction,
    DriftKind,
    Provisioning,
    ProvisioningState,
    Target,
    TargetBinding,
)
from apps.connectors.registry import connector_for
from apps.connectors.services._common import grant_context
from apps.connectors.services.drift import target_drift_check
from tests.access.factories import GrantFactory
from tests.connectors.helpers import committed
from tests.factories import DataAssetFactory, UserFactory

PREFIX = "jpgd_"
GUARDIAN_TABLE = "guardian_userobjectpermission"


@pytest.fixture
def target(db):
    return Target.objects.create(name="Object permissions", kind="guardian", account_prefix=PREFIX)


@pytest.fixture
def asset(target):
    asset = DataAssetFactory(name="Customer records")
    TargetBinding.objects.create(target=target, asset=asset)
    return asset


def _scheduled(user, asset, **extra):
    now = timezone.now()
    return GrantFactory(
        user=user,
        assets=[asset],
        starts_at=now - timedelta(seconds=1),
        ends_at=now + timedelta(hours=1),
        status="scheduled",
        **extra,
    )


def _statements(queries, verb: str) -> int:
    return sum(
        1 for q in queries if q["sql"].lstrip().startswith(verb) and GUARDIAN_TABLE in q["sql"]
    )


def _holds(user, asset, action="view") -> bool:
    """Whether guardian holds the row of ``action`` on ``asset`` for ``user``."""
    return UserObjectPermission.objects.filter(
        user=user, object_pk=str(asset.pk), permission__codename=f"{action}_data"
    ).exists()


def test_activation_and_revoke_touch_the_mirror_once(target, asset, staff_user, approver):
    # Given a grant of an asset bound to the guardian target
    grant = _scheduled(staff_user, asset)

    # When it is activated (the access service mirrors it; the connector is asked too)
    with CaptureQueriesContext(connection) as activation, committed():
        access_services.grant_activate(grant_id=grant.pk)

    # Then its rows were written by one statement, and the provisioning counts as made
    assert _statements(activation.captured_queries, "INSERT") == 1
    row = Provisioning.objects.get(grant=grant, target=target)
    assert row.state == ProvisioningState.PROVISIONED
    assert [a.name for a in connector_for(target).observe()] == [row.account]

    # When it is revoked (the access mirror sync and the connector's removal both run)
    with CaptureQueriesContext(connection) as revoke, committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")

    # Then the rows were deleted by one statement, and the provisioning is removed
    assert _statements(revoke.captured_queries, "DELETE") == 1
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED
    assert connector_for(target).observe() == []


def test_when_the_connector_removes_first_the_access_reconcile_does_nothing(
    target, asset, staff_user
):
    # Given an activated grant whose window has passed, nothing having run since
    grant = _scheduled(staff_user, asset)
    with committed():
        access_services.grant_activate(grant_id=grant.pk)
    row = Provisioning.objects.get(grant=grant)
    Grant.objects.filter(pk=grant.pk).update(ends_at=timezone.now() - timedelta(seconds=1))

    # When the connector removes the account first
    connector_for(target).deprovision([row.account])
    grant.refresh_from_db()
    assert not grant.mirrored

    # Then the access reconcile expires the grant, its unmirror step finds nothing to do
    # (the grant is no longer marked mirrored), and no row comes back
    assert not Grant.objects.due_for_unmirror().filter(pk=grant.pk).exists()
    with committed():
        access_reconcile()
    grant.refresh_from_db()
    assert grant.status == "expired" and not grant.mirrored
    assert not UserObjectPermission.objects.filter(user=staff_user).exists()
    assert connector_for(target).observe() == []


def test_overlapping_grants_keep_the_rights_the_other_still_gives(target, asset, staff_user):
    # Given two grants of one person to the asset, both activated
    first = _scheduled(staff_user, asset)
    second = _scheduled(staff_user, asset)
    with committed():
        access_services.grant_activate(grant_id=first.pk)
    with committed():
        access_services.grant_activate(grant_id=second.pk)

    # When the first is given back
    with committed():
        access_services.grant_relinquish(grant_id=first.pk, actor=staff_user)

    # Then the person keeps the right (the second gives it) and the first's row is removed
    assert _holds(staff_user, asset)
    rows = dict(Provisioning.objects.values_list("grant_id", "state"))
    assert rows == {first.pk: "deprovisioned", second.pk: "provisioned"}


def test_observe_reports_rows_no_grant_gives_and_removes_only_those(target, asset):
    # Given a live, mirrored grant, and a row someone assigned by hand to another person
    # and to the grant's holder on another asset
    holder, someone = UserFactory(), UserFactory()
    grant = GrantFactory(user=holder, assets=[asset])
    row = Provisioning.objects.create(
        grant=grant, target=target, account=f"{PREFIX}g{grant.pk}_abcdef"
    )
    connector = connector_for(target)
    connector.provision(grant_context(row))
    other = DataAssetFactory(name="Invoices")
    assign_perm("inventory.view_data", someone, asset)
    assign_perm("inventory.export_data", holder, other)

    # When observed
    seen = {a.name: a.memberships for a in connector.observe()}

    # Then the grant's account and both unexplained holders are listed
    assert seen == {
        row.account: frozenset({f"asset{asset.pk}:view"}),
        f"{PREFIX}u{someone.pk}": frozenset({f"asset{asset.pk}:view"}),
        f"{PREFIX}u{holder.pk}": frozenset({f"asset{other.pk}:export"}),
    }

    # When the strays are removed (an authoritative target)
    connector.deprovision([f"{PREFIX}u{someone.pk}", f"{PREFIX}u{holder.pk}"])

    # Then only the grant's row is left
    assert [a.name for a in connector.observe()] == [row.account]
    assert _holds(holder, asset)
    assert "decide nothing" in str(connector.guarantees)


def test_drift_reports_a_hand_assigned_row_on_a_report_only_target(target, asset):
    # Given a report-only guardian target and a row someone assigned by hand
    someone = UserFactory()
    assign_perm("inventory.view_data", someone, asset)

    # When drift is checked, then it is reported and the row stays (it gives nothing)
    with committed():
        result = target_drift_check(target_id=target.pk)
    assert [(f.account, f.kind, f.action) for f in result.findings] == [
        (f"{PREFIX}u{someone.pk}", DriftKind.HAND_MADE, DriftAction.REPORTED)
    ]
    assert _holds(someone, asset)
