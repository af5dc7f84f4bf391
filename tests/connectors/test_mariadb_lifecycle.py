"""MariaDB through the grant's whole life: activation provisions a user, the holder is shown
the password once and reads the bound table, a revoke kills the open session at once, and
at the end the user goes when the portal's worker acts, not before: MariaDB has no
VALID UNTIL (docs/connectors.md, "Guarantee: no VALID UNTIL")."""

from __future__ import annotations

import time
from datetime import timedelta

import pymysql
import pytest
from django.utils import timezone

from apps.access import services as access_services
from apps.audit.models import AuditEvent
from apps.connectors.models import ProvisioningState
from apps.connectors.services import connectors_reconcile, provisioning_grant_end
from tests.connectors.helpers import activate, committed, reveal
from tests.connectors.mariadb_support import login
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
    good_url = settings.JITPORTAL_TEST_MARIADB_URL
    settings.JITPORTAL_TEST_MARIADB_URL = "mysql://root@127.0.0.1:1/none"

    # When the grant is revoked, then the removal fails and is not recorded as done
    with committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")
    row.refresh_from_db()
    assert row.state == ProvisioningState.FAILED and row.removal_pending
    assert row.tries == 1 and row.error
    login(row.account, password, mariadb_target.database).close()

    # When the target is back and the reconcile runs after the backoff
    settings.JITPORTAL_TEST_MARIADB_URL = good_url
    with committed():
        connectors_reconcile(now=timezone.now() + timedelta(minutes=5))

    # Then the user is gone and the row says so
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED, row.error
    with pytest.raises(pymysql.err.OperationalError):
        login(row.account, password, mariadb_target.database)
