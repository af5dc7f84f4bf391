"""A target that is down at the end: the removal is retried until done, the dashboard and
the readiness check say so meanwhile, and nothing is recorded removed that was not. The
exact-end step re-reads the grant's real end; an extension moves VALID UNTIL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from health_check.exceptions import ServiceUnavailable

from apps.access import services as access_services
from apps.access.models import Grant
from apps.connectors.models import Provisioning, ProvisioningState
from apps.connectors.services import connectors_reconcile, provisioning_grant_end
from apps.health.checks import ConnectorFailures
from tests.access.factories import AccessRoleFactory
from tests.connectors.conftest import TARGET_DB, URL_VARIABLE
from tests.connectors.helpers import activate, committed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def valid_until(cluster, account):
    with cluster.superuser(TARGET_DB) as conn:
        row = conn.execute("SELECT rolvaliduntil FROM pg_roles WHERE rolname = %s", [account])
        found = row.fetchone()
    return found[0] if found else None


def test_a_target_down_at_the_end_is_retried_until_done_and_said_meanwhile(
    bound_asset, staff_user, approver, dpo, target_db, monkeypatch, client, settings
):
    # Given a provisioned grant
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    real_url = target_db.portal_url(TARGET_DB)
    # When it is revoked while the target does not answer
    monkeypatch.setenv(URL_VARIABLE, "postgresql://portal_admin@127.0.0.1:1/x")
    with committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Left")
    # Then the removal is not recorded, it failed once and waits for its next try
    row.refresh_from_db()
    assert row.state == ProvisioningState.FAILED and row.removal_pending and row.tries == 1
    assert row.deprovisioned_at is None
    # And the dashboard says access is not yet removed in that target
    client.force_login(dpo)
    dashboard = client.get(reverse("admin:reports_dashboard")).content.decode()
    assert "Access not yet removed in target CRM database: 1 account." in dashboard
    # And after the alert threshold the readiness check fails
    later = timezone.now()
    for _ in range(settings.CONNECTORS["ALERT_AFTER_TRIES"] - 1):
        later += timedelta(hours=1)
        with committed():
            connectors_reconcile(now=later)
    with pytest.raises(ServiceUnavailable, match="CRM database"):
        ConnectorFailures()._check()
    # When the target answers again, the next try removes it and all is well
    monkeypatch.setenv(URL_VARIABLE, real_url)
    with committed():
        counts = connectors_reconcile(now=later + timedelta(hours=1))
    assert counts["removed"] == 1
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED
    ConnectorFailures()._check()
    assert valid_until(target_db, row.account) is None


def test_the_exact_end_step_reads_the_real_end(bound_asset, staff_user, target_db):
    # Given a grant whose end task runs before its (moved) end
    grant = activate(staff_user, bound_asset, seconds=600)
    row = Provisioning.objects.get(grant=grant)
    # Then nothing is removed while it is live
    assert provisioning_grant_end(grant_id=grant.pk) is None
    assert Provisioning.objects.get(pk=row.pk).state == ProvisioningState.PROVISIONED
    # When the holder gives it back (a shortened window), the same step removes it
    with committed():
        access_services.grant_relinquish(grant_id=grant.pk, actor=staff_user)
        outcome = provisioning_grant_end(grant_id=grant.pk)
    # (the step removes it; the removal the give-back queued on commit then finds it done)
    assert outcome == {"removed": 1, "failed": 0}
    assert Provisioning.objects.get(pk=row.pk).state == ProvisioningState.DEPROVISIONED


def test_an_extension_moves_valid_until(bound_asset, staff_user, approver, target_db):
    # Given a grant given by approving a request for a role over the bound asset
    role = AccessRoleFactory(
        name="CRM read",
        assets=[bound_asset],
        approver_groups=[Group.objects.get(name="Approvers")],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    now = timezone.now()
    with committed():
        request = access_services.access_request_submit(
            requester=staff_user,
            role=role,
            starts_at=now,
            ends_at=now + timedelta(hours=1),
            justification="Case 12",
        )
        access_services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get(request=request)
    row = Provisioning.objects.get(grant=grant)
    assert row.state == ProvisioningState.PROVISIONED
    before = valid_until(target_db, row.account)
    # When an extension is asked for and approved
    new_end = grant.ends_at + timedelta(hours=1)
    with committed():
        extension = access_services.access_request_extend(
            grant_id=grant.pk, requester=staff_user, ends_at=new_end, justification="More"
        )
        access_services.access_request_approve(request_id=extension.pk, approver=approver)
    # Then PostgreSQL's VALID UNTIL moved to the new end
    after = valid_until(target_db, row.account)
    assert before is not None and after is not None and after > before
    assert abs((after - new_end).total_seconds()) < 1


def test_offboarding_ends_the_holders_accounts(bound_asset, staff_user, target_db):
    # Given a holder with a live grant and its role
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    # When the account is deactivated (offboarding)
    with committed():
        access_services.user_offboard(user_id=staff_user.pk, actor=None, reason="Left")
    # Then the role in the target is gone too
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED
    assert valid_until(target_db, row.account) is None
    with target_db.superuser(TARGET_DB) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [row.account]).fetchone()
            is None
        )
