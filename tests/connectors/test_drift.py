"""Drift: the target is compared with live grants; strays are removed where the portal is
authoritative and reported otherwise; a dropped role of a live grant is made again; a role
made by hand with the portal's prefix is flagged. Every finding is an audit event."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.connectors.models import DriftAction, DriftFinding, DriftKind, Provisioning
from apps.connectors.services.drift import target_drift_check
from tests.connectors.conftest import TARGET_DB
from tests.connectors.helpers import activate, committed, reveal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def role_exists(cluster, name: str) -> bool:
    with cluster.superuser(TARGET_DB) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone() is not None
        )


def test_a_hand_made_role_with_the_prefix_is_removed_where_authoritative(
    bound_asset, pg_target, staff_user, target_db
):
    # Given a live grant's role and a role someone made by hand with the portal's prefix
    grant = activate(staff_user, bound_asset)
    live_account = Provisioning.objects.get(grant=grant).account
    with target_db.superuser(TARGET_DB) as conn:
        conn.execute('CREATE ROLE "jpt_by_hand" LOGIN')
    # When drift is checked on the authoritative target
    with committed():
        result = target_drift_check(target_id=pg_target.pk)
    # Then the hand-made role is flagged and removed, the live grant's role is kept
    assert [(f.kind, f.account, f.action) for f in result.findings] == [
        (DriftKind.HAND_MADE, "jpt_by_hand", DriftAction.REMOVED)
    ]
    assert not role_exists(target_db, "jpt_by_hand")
    assert role_exists(target_db, live_account)
    event = AuditEvent.objects.get(action="connectors.drift.found")
    assert event.data["account"] == "jpt_by_hand" and event.data["kind"] == "hand_made"


def test_a_stray_is_only_reported_where_the_portal_is_not_authoritative(
    bound_asset, pg_target, staff_user, target_db
):
    pg_target.authoritative = False
    pg_target.save()
    with target_db.superuser(TARGET_DB) as conn:
        conn.execute('CREATE ROLE "jpt_g999999_abcdef" LOGIN')
    with committed():
        result = target_drift_check(target_id=pg_target.pk)
    assert [(f.kind, f.action) for f in result.findings] == [
        (DriftKind.HAND_MADE, DriftAction.REPORTED)
    ]
    assert role_exists(target_db, "jpt_g999999_abcdef")
    assert DriftFinding.objects.count() == 1


def test_a_dropped_role_of_a_live_grant_is_made_again(
    bound_asset, pg_target, staff_user, target_db
):
    # Given a live grant whose role someone dropped by hand
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    with target_db.superuser(TARGET_DB) as conn:
        conn.execute(f'DROP ROLE "{row.account}"')
    # When drift is checked
    with committed():
        result = target_drift_check(target_id=pg_target.pk)
    # Then it is found missing and provisioned again, with a new password for the holder
    assert [(f.kind, f.action) for f in result.findings] == [
        (DriftKind.MISSING, DriftAction.REPROVISIONED)
    ]
    assert role_exists(target_db, row.account)
    row, password = reveal(grant, staff_user)
    with target_db.holder_connect(TARGET_DB, row.account, password) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (2,)


def test_a_target_that_does_not_answer_is_said_and_nothing_is_recorded(pg_target, monkeypatch):
    monkeypatch.setenv("JITPORTAL_TEST_TARGET_URL", "postgresql://nobody@127.0.0.1:1/none")
    with committed():
        result = target_drift_check(target_id=pg_target.pk)
    assert result.error and not result.findings
    assert not DriftFinding.objects.exists()
