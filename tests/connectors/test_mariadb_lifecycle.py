"""MariaDB through the grant's whole life: activation provisions a user, the holder is shown
the password once and reads the bound table, a revoke kills the open session at once, and
at the end the user goes when the portal's worker acts, not before: MariaDB has no
VALID UNTIL (docs/connectors.md, "Guarantee: no VALID UNTIL")."""

from __future__ import annotations

import time
from datetime import timedelta

import pymysql
import pytest
from django.urls import reverse
from django.utils import timezone

from apps.access import services as access_services
from apps.access.models import Grant
from apps.audit.models import AuditEvent
from apps.connectors.models import DriftAction, DriftKind, Provisioning, ProvisioningState
from apps.connectors.services import connectors_reconcile, provisioning_grant_end
from apps.connectors.services.drift import target_drift_check
from tests.connectors.helpers import activate, committed, reveal
from tests.connectors.mariadb_support import admin_connect, login
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bound_asset(mariadb_target):
    asset = DataAssetFactory(name="Customer records")
    mariadb_target.bind(asset)
    return asset


def _alive(conn) -> bool:
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except pymysql.err.OperationalError:
        return False


def test_shown_credentials_read_the_table_and_a_revoke_kills_the_session_at_once(
    mariadb_target, bound_asset, staff_user, approver
):
    # Given a grant to the bound asset, activated and provisioned
    grant = activate(staff_user, bound_asset)
    row, password = reveal(grant, staff_user)
    assert row.state == ProvisioningState.PROVISIONED

    # When the holder logs in with the password shown once, then the table is readable
    session = login(row.account, password, mariadb_target.database)
    with session.cursor() as cursor:
        cursor.execute("SELECT name FROM customers ORDER BY id")
        assert [r[0] for r in cursor.fetchall()] == ["Ada Lovelace", "Alan Turing"]
    assert not AuditEvent.objects.filter(data__icontains=password).exists()

    # When an approver revokes the grant
    with committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Left the team")

    # Then the open session is gone as the revoke returns, and so is the user
    assert not _alive(session)
    with pytest.raises(pymysql.err.OperationalError):
        login(row.account, password, mariadb_target.database)
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED
    assert mariadb_target.users() == set()


def test_without_the_worker_a_login_still_works_after_the_end_and_the_end_task_ends_it(
    mariadb_target, bound_asset, staff_user
):
    # Given a grant ending in two seconds, with an open session, and no worker nor beat
    grant = activate(staff_user, bound_asset, seconds=2)
    row, password = reveal(grant, staff_user)
    session = login(row.account, password, mariadb_target.database)
    time.sleep(max(0.0, (grant.ends_at - timezone.now()).total_seconds()) + 0.2)

    # When the end has passed and nothing of the portal ran, then MariaDB still lets the
    # user in: it has no VALID UNTIL (this is the documented gap, not a wish)
    login(row.account, password, mariadb_target.database).close()
    assert _alive(session)

    # When the exact-end task runs (a worker picks it up at the end)
    with committed():
        provisioning_grant_end(grant_id=grant.pk)

    # Then the session is killed, the login refused, and the row says so
    assert not _alive(session)
    with pytest.raises(pymysql.err.OperationalError):
        login(row.account, password, mariadb_target.database)
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED


def test_overlapping_grants_have_their_own_users_and_one_given_back_leaves_the_other(
    mariadb_target, bound_asset, staff_user
):
    first, second = activate(staff_user, bound_asset), activate(staff_user, bound_asset)
    row1, password1 = reveal(first, staff_user)
    row2, password2 = reveal(second, staff_user)
    assert row1.account != row2.account and password1 != password2
    session2 = login(row2.account, password2, mariadb_target.database)

    # When the first is given back
    with committed():
        access_services.grant_relinquish(grant_id=first.pk, actor=staff_user)

    # Then its login is gone and the second's session and login still work
    with pytest.raises(pymysql.err.OperationalError):
        login(row1.account, password1, mariadb_target.database)
    assert _alive(session2)
    login(row2.account, password2, mariadb_target.database).close()


def test_a_target_down_at_the_end_is_retried_and_never_marked_removed_before(
    mariadb_target, bound_asset, staff_user, approver, settings
):
    # Given a provisioned grant, and then the target unreachable
    grant = activate(staff_user, bound_asset)
    row, password = reveal(grant, staff_user)
    good_url = settings.JITPORTAL_TEST_MARIADB_TARGET_URL
    settings.JITPORTAL_TEST_MARIADB_TARGET_URL = "mysql://root@127.0.0.1:1/none"

    # When the grant is revoked, then the removal fails and is not recorded as done
    with committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")
    row.refresh_from_db()
    assert row.state == ProvisioningState.FAILED and row.removal_pending
    assert row.tries == 1 and row.error
    login(row.account, password, mariadb_target.database).close()

    # When the target is back and the reconcile runs after the backoff
    settings.JITPORTAL_TEST_MARIADB_TARGET_URL = good_url
    with committed():
        connectors_reconcile(now=timezone.now() + timedelta(minutes=5))

    # Then the user is gone and the row says so
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED, row.error
    with pytest.raises(pymysql.err.OperationalError):
        login(row.account, password, mariadb_target.database)


def _create_user(name: str) -> None:
    with admin_connect() as admin, admin.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY 'byhand'", [name])


def test_drift_removes_a_stray_user_where_authoritative_and_keeps_the_live_one(
    mariadb_target, bound_asset, staff_user
):
    # Given an authoritative target with a live grant's user, a user made by hand with the
    # prefix, and the user of a grant whose removal was lost (ended, row still provisioned)
    mariadb_target.target.authoritative = True
    mariadb_target.target.save(update_fields=["authoritative"])
    live = Provisioning.objects.get(grant=activate(staff_user, bound_asset))
    lost = Provisioning.objects.get(grant=activate(staff_user, bound_asset))
    Grant.objects.filter(pk=lost.grant_id).update(ends_at=timezone.now())
    by_hand = f"{mariadb_target.target.account_prefix}by_hand"
    _create_user(by_hand)

    # When drift is checked
    with committed():
        result = target_drift_check(target_id=mariadb_target.target.pk)

    # Then both strays are removed, the hand-made one flagged as such; the live user stays
    found = sorted((f.account, f.kind, f.action) for f in result.findings)
    assert found == sorted(
        [
            (by_hand, DriftKind.HAND_MADE, DriftAction.REMOVED),
            (lost.account, DriftKind.STRAY, DriftAction.REMOVED),
        ]
    )
    assert mariadb_target.users() == {live.account}


def test_drift_only_reports_where_not_authoritative(mariadb_target, staff_user):
    # Given a report-only target and a user made by hand with the prefix
    by_hand = f"{mariadb_target.target.account_prefix}g424242_abcdef"
    _create_user(by_hand)

    # When drift is checked, then it is reported and left in place
    with committed():
        result = target_drift_check(target_id=mariadb_target.target.pk)
    assert [(f.account, f.action) for f in result.findings] == [(by_hand, DriftAction.REPORTED)]
    assert mariadb_target.users() == {by_hand}


def test_drift_makes_a_dropped_user_of_a_live_grant_again(mariadb_target, bound_asset, staff_user):
    # Given a live grant whose user someone dropped by hand
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    with admin_connect() as admin, admin.cursor() as cursor:
        cursor.execute("DROP USER %s@'%%'", [row.account])

    # When drift is checked, then it is provisioned again, with a new password shown once
    with committed():
        result = target_drift_check(target_id=mariadb_target.target.pk)
    assert [(f.kind, f.action) for f in result.findings] == [
        (DriftKind.MISSING, DriftAction.REPROVISIONED)
    ]
    row, password = reveal(grant, staff_user)
    with login(row.account, password, mariadb_target.database) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers")
        assert cursor.fetchone() == (2,)


def test_the_targets_admin_page_says_there_is_no_valid_until(mariadb_target, admin_client):
    # Given the MariaDB target, when its admin page is opened, then it says plainly that new
    # logins end only when the worker removes the user
    page = admin_client.get(
        reverse("admin:connectors_target_change", args=[mariadb_target.target.pk])
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "MariaDB and MySQL have no VALID UNTIL" in text
    assert "new logins end only when the portal" in text
