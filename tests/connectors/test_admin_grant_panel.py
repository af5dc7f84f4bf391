"""A grant's admin change page shows its accounts in other systems (state, last try, error,
drift), each linking to its provisioning, through the access app's ``grant_panels`` signal;
a grant with none says why. Only those who may view provisionings see it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.connectors.models import (
    DriftAction,
    DriftFinding,
    DriftKind,
    Provisioning,
    ProvisioningState,
    Target,
    TargetBinding,
)
from tests.access.factories import GrantFactory
from tests.connectors.helpers import activate, committed
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db


def change_page(client, grant) -> str:
    response = client.get(reverse("admin:access_grant_change", args=[grant.pk]))
    assert response.status_code == 200
    return response.content.decode()


def panel(page: str) -> str:
    found = re.search(
        r'<fieldset class="module" id="grant-provisionings">.*?</fieldset>', page, re.S
    )
    assert found, "no panel of accounts on the page"
    return found.group(0)


def row_of(html: str, provisioning: Provisioning) -> str:
    found = re.search(rf'<tr [^>]*data-provisioning="{provisioning.pk}".*?</tr>', html, re.S)
    assert found, f"no row for {provisioning.account}"
    return found.group(0)


def bound_target(name: str, kind: str, asset) -> Target:
    target = Target.objects.create(name=name, kind=kind, account_prefix="jpt_")
    TargetBinding.objects.create(target=target, asset=asset, options={"group": "x"})
    return target


@pytest.fixture
def asset(db):
    return DataAssetFactory(name="Customer records")


def test_a_grant_with_accounts_in_several_states_shows_each_with_its_link(
    client, dpo, staff_user, asset
):
    # Given a grant whose accounts are in four targets, each in another state
    now = timezone.now()
    grant = GrantFactory(user=staff_user, assets=[asset])
    crm = bound_target("CRM database", "postgresql", asset)
    shop = bound_target("Shop database", "mariadb", asset)
    hr = bound_target("HR system", "webhook", asset)
    old = bound_target("Old readers", "django_groups", asset)
    made = Provisioning.objects.create(
        grant=grant,
        target=crm,
        account="jpt_g1_made",
        state=ProvisioningState.PROVISIONED,
        tries=0,
        provisioned_at=now - timedelta(minutes=20),
        last_try_at=now - timedelta(minutes=20),
    )
    failing = Provisioning.objects.create(
        grant=grant,
        target=shop,
        account="jpt_g1_fails",
        state=ProvisioningState.FAILED,
        tries=3,
        error="connection refused by 10.0.0.7:3306",
        last_try_at=now - timedelta(minutes=2),
        next_try_at=now + timedelta(minutes=1),
        alerted_at=now - timedelta(minutes=2),
    )
    waiting = Provisioning.objects.create(
        grant=grant, target=hr, account="jpt_g1_waits", state=ProvisioningState.PENDING
    )
    removed = Provisioning.objects.create(
        grant=grant,
        target=old,
        account="jpt_g1_gone",
        state=ProvisioningState.DEPROVISIONED,
        tries=1,
        remove_requested_at=now - timedelta(minutes=5),
        deprovisioned_at=now - timedelta(minutes=4),
        last_try_at=now - timedelta(minutes=4),
    )
    # and drift found the made account missing once and provisioned it again
    DriftFinding.objects.create(
        target=crm,
        kind=DriftKind.MISSING,
        account=made.account,
        action=DriftAction.REPROVISIONED,
        grant=grant,
        found_at=now - timedelta(minutes=20),
    )

    # When the DPO opens the grant's admin page
    client.force_login(dpo)
    html = panel(change_page(client, grant))

    # Then every account is a row, in target order, linking to its provisioning
    shown = re.findall(r'data-provisioning="(\d+)"', html)
    assert shown == [str(p.pk) for p in (made, waiting, removed, failing)]
    for row in (made, failing, waiting, removed):
        link = reverse("admin:connectors_provisioning_change", args=[row.pk])
        assert f'href="{link}"' in row_of(html, row)
    # with its state, last try, error and drift
    assert "Provisioned" in row_of(html, made)
    assert "Account a live grant needs is missing: Provisioned again" in row_of(html, made)
    failed = row_of(html, failing)
    assert "Failed" in failed and "admins alerted" in failed and "next try" in failed
    assert "connection refused by 10.0.0.7:3306" in failed
    assert ">3<" in failed
    assert "Pending" in row_of(html, waiting) and "not tried yet" in row_of(html, waiting)
    assert "none found" in row_of(html, waiting)
    assert "Deprovisioned" in row_of(html, removed)
    assert "not yet confirmed" not in row_of(html, removed)


def test_a_removal_not_yet_confirmed_says_so(client, dpo, staff_user, asset):
    grant = GrantFactory(user=staff_user, assets=[asset])
    crm = bound_target("CRM database", "postgresql", asset)
    row = Provisioning.objects.create(
        grant=grant,
        target=crm,
        account="jpt_g1_stays",
        state=ProvisioningState.FAILED,
        tries=1,
        error="timeout",
        remove_requested_at=timezone.now(),
        last_try_at=timezone.now(),
    )
    client.force_login(dpo)
    assert "removal asked for" in row_of(panel(change_page(client, grant)), row)


def test_a_grant_whose_assets_no_target_binds_says_it_opens_no_account(
    client, dpo, staff_user, asset
):
    grant = GrantFactory(user=staff_user, assets=[asset])
    client.force_login(dpo)
    html = panel(change_page(client, grant))
    assert "data-provisioning" not in html
    assert "none of its assets is bound to an enabled target" in html


def test_a_grant_not_started_says_where_it_will_open_accounts(client, dpo, staff_user, asset):
    bound_target("CRM database", "postgresql", asset)
    start = timezone.now() + timedelta(days=1)
    grant = GrantFactory(user=staff_user, assets=[asset], starts_at=start)
    client.force_login(dpo)
    html = panel(change_page(client, grant))
    assert "No account yet: the grant opens one in CRM database when it starts." in html


def test_a_live_grant_bound_after_it_started_says_when_accounts_are_opened(
    client, dpo, staff_user, asset
):
    grant = GrantFactory(user=staff_user, assets=[asset])
    bound_target("CRM database", "postgresql", asset)
    client.force_login(dpo)
    html = panel(change_page(client, grant))
    assert "No account was opened in CRM database" in html


def test_only_those_who_may_view_provisionings_see_the_panel(
    client, approver, auditor, staff_user, asset
):
    # Given a grant with an account
    grant = GrantFactory(user=staff_user, assets=[asset])
    crm = bound_target("CRM database", "postgresql", asset)
    Provisioning.objects.create(grant=grant, target=crm, account="jpt_g1_abc")
    # When an approver (who may see grants, not provisionings) opens it, then no panel
    client.force_login(approver)
    assert 'id="grant-provisionings"' not in change_page(client, grant)
    # and an auditor (who may) sees it
    client.force_login(auditor)
    assert "jpt_g1_abc" in panel(change_page(client, grant))


@pytest.mark.postgres
def test_the_services_record_each_try_the_panel_shows(
    client, dpo, staff_user, bound_asset, pg_target, approver, monkeypatch
):
    # Given a grant activated against the real PostgreSQL target
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    assert row.state == ProvisioningState.PROVISIONED
    assert row.last_try_at == row.provisioned_at
    # When the target stops answering and the grant is revoked
    monkeypatch.setenv("JITPORTAL_TEST_TARGET_URL", "postgresql://nobody@127.0.0.1:1/none")
    from apps.access import services as access_services

    with committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")
    row.refresh_from_db()
    # Then the failed removal is a try of its own, with its error, shown on the grant's page
    assert row.state == ProvisioningState.FAILED and row.tries == 1
    assert row.last_try_at > row.provisioned_at
    client.force_login(dpo)
    shown = row_of(panel(change_page(client, grant)), row)
    assert "Failed" in shown and "removal asked for" in shown and "Connection refused" in shown
