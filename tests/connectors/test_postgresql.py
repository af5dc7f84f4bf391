"""The PostgreSQL connector against a real target database (tests/connectors/pgtarget.py):
the holder connects with the credentials shown once and reads the bound table; access ends
in PostgreSQL itself at the end, at once on a revoke."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.utils import timezone

from apps.access import services as access_services
from apps.audit.models import AuditEvent
from apps.connectors.models import Provisioning, ProvisioningState
from apps.connectors.services import connectors_reconcile
from tests.connectors.conftest import TARGET_DB
from tests.connectors.helpers import activate, committed, reveal

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_holder_connects_with_the_shown_credentials_and_reads_the_bound_table(
    bound_asset, staff_user, target_db
):
    # Given a grant to the bound asset, activated
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    assert row.state == ProvisioningState.PROVISIONED
    assert row.account.startswith(f"jpt_g{grant.pk}_")
    # When its holder is shown the password and connects with it
    row, password = reveal(grant, staff_user)
    with target_db.holder_connect(TARGET_DB, row.account, password) as conn:
        # Then the bound table is readable, nothing else is writable
        names = [r[0] for r in conn.execute("SELECT name FROM customers ORDER BY id")]
        assert names == ["Ada Lovelace", "Alan Turing"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE customers SET name = 'x'")
    # And the password is not kept, nor in the audit trail
    row.refresh_from_db()
    assert row.secret_sealed is None and row.secret_shown_at is not None
    shown = AuditEvent.objects.get(action="connectors.secret.shown")
    assert shown.actor == staff_user
    assert not AuditEvent.objects.filter(data__icontains=password).exists()


def test_change_right_maps_to_the_bindings_privileges(bound_asset, staff_user, target_db):
    grant = activate(staff_user, bound_asset, can_change=True)
    row, password = reveal(grant, staff_user)
    with target_db.holder_connect(TARGET_DB, row.account, password) as conn:
        conn.execute("UPDATE customers SET name = 'Ada King' WHERE id = 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM customers")


def test_after_the_end_with_worker_and_beat_stopped_a_new_login_is_refused(
    bound_asset, staff_user, target_db
):
    # Given a grant ending in two seconds, provisioned, and no worker nor beat running
    grant = activate(staff_user, bound_asset, seconds=2)
    row, password = reveal(grant, staff_user)
    target_db.holder_connect(TARGET_DB, row.account, password).close()
    # When the end passes and nothing of the portal runs
    time.sleep(max(0.0, (grant.ends_at - timezone.now()).total_seconds()) + 0.3)
    # Then PostgreSQL itself refuses the login (VALID UNTIL), though the role still exists
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        target_db.holder_connect(TARGET_DB, row.account, password)
    row.refresh_from_db()
    assert row.state == ProvisioningState.PROVISIONED
    # And the reconcile, when it runs, removes the role
    with committed():
        connectors_reconcile()
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED, row.error
    with target_db.superuser(TARGET_DB) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [row.account]).fetchone()
            is None
        )


def test_a_revoke_cuts_an_open_session_at_once(bound_asset, staff_user, approver, target_db):
    grant = activate(staff_user, bound_asset)
    row, password = reveal(grant, staff_user)
    session = target_db.holder_connect(TARGET_DB, row.account, password)
    session.execute("SELECT 1")
    # When an approver revokes the grant
    with committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Left the team")
    # Then the open session is gone as the revoke returns, and so is the role
    with pytest.raises(psycopg.OperationalError):
        session.execute("SELECT 1")
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED
    assert AuditEvent.objects.filter(action="connectors.account.removed").count() == 1
    with pytest.raises(psycopg.OperationalError):
        target_db.holder_connect(TARGET_DB, row.account, password)


def test_overlapping_grants_each_have_their_own_credentials(bound_asset, staff_user, target_db):
    first = activate(staff_user, bound_asset)
    second = activate(staff_user, bound_asset)
    row1, password1 = reveal(first, staff_user)
    row2, password2 = reveal(second, staff_user)
    assert row1.account != row2.account and password1 != password2
    # When the first is given back
    with committed():
        access_services.grant_relinquish(grant_id=first.pk, actor=staff_user)
    # Then its login is gone and the second still works
    with pytest.raises(psycopg.OperationalError):
        target_db.holder_connect(TARGET_DB, row1.account, password1)
    with target_db.holder_connect(TARGET_DB, row2.account, password2) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (2,)
