"""The Django groups connector: membership of a bound group for the grant's window, kept
while another open grant needs it, members seen by observe, bad bindings refused
(docs/connectors.md, "Django groups")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from apps.access.models import Notice, NoticeKind
from apps.audit.models import AuditEvent
from apps.connectors.base import ConnectorError, GrantContext
from apps.connectors.models import (
    DriftAction,
    DriftKind,
    Provisioning,
    ProvisioningState,
    Target,
    TargetBinding,
)
from apps.connectors.registry import connector_for
from apps.connectors.services import provisioning_provision
from apps.connectors.services._common import record_failures
from apps.connectors.services.drift import target_drift_check
from tests.access.factories import GrantFactory
from tests.connectors.helpers import committed
from tests.factories import DataAssetFactory, UserFactory

PREFIX = "jpgrp_"


@pytest.fixture
def target(db):
    return Target.objects.create(name="CRM app groups", kind="django_groups", account_prefix=PREFIX)


@pytest.fixture
def crm_readers(db):
    return Group.objects.create(name="CRM readers")


@pytest.fixture
def asset(target, crm_readers):
    asset = DataAssetFactory(name="Customer records")
    TargetBinding.objects.create(target=target, asset=asset, options={"group": crm_readers.name})
    return asset


def _provisioned(target, grant) -> tuple[Provisioning, GrantContext]:
    """The provisioning row the core writes for a grant, and the connector's context."""
    row = Provisioning.objects.create(
        grant=grant, target=target, account=f"{PREFIX}g{grant.pk}_abcdef"
    )
    context = GrantContext(
        grant_id=grant.pk,
        user_id=grant.user_id,
        username=grant.user.username,
        email=grant.user.email,
        starts_at=grant.starts_at,
        ends_at=grant.ends_at,
        actions=frozenset({"view"}),
        account=row.account,
        bindings=tuple(target.bindings.filter(asset__in=grant.assets.all())),
    )
    result = connector_for(target).provision(context)
    assert result.account == row.account and result.secret is None
    row.state = ProvisioningState.PROVISIONED
    row.save(update_fields=["state"])
    return row, context


def _end(row: Provisioning) -> None:
    """What the core does at the end: ask for the removal, then call the connector."""
    row.remove_requested_at = timezone.now()
    row.save(update_fields=["remove_requested_at"])
    connector_for(row.target).deprovision([row.account])


def test_membership_is_given_for_the_window_and_taken_at_the_end(target, asset, crm_readers):
    # Given a live grant of an asset bound to the "CRM readers" group
    grant = GrantFactory(assets=[asset])

    # When it is provisioned, then its holder is a member
    row, _context = _provisioned(target, grant)
    assert grant.user.groups.filter(pk=crm_readers.pk).exists()

    # When it ends, then the membership is gone, and removing again changes nothing
    _end(row)
    assert not grant.user.groups.filter(pk=crm_readers.pk).exists()
    connector_for(target).deprovision([row.account])


def test_overlapping_grants_keep_the_membership_until_the_last_ends(target, asset, crm_readers):
    # Given two live grants of one person to the bound asset, both provisioned
    holder = UserFactory()
    first, _ = _provisioned(target, GrantFactory(user=holder, assets=[asset]))
    second, _ = _provisioned(target, GrantFactory(user=holder, assets=[asset]))

    # When the first ends, then the person is still a member (the second needs it)
    _end(first)
    assert holder.groups.filter(pk=crm_readers.pk).exists()

    # When the second ends too, then the membership is gone
    _end(second)
    assert not holder.groups.filter(pk=crm_readers.pk).exists()


def test_an_expired_grant_does_not_keep_a_membership(target, asset, crm_readers):
    # Given a provisioned grant whose window has passed (its removal not yet asked for),
    # and a second, live one being removed
    holder = UserFactory()
    past = GrantFactory(user=holder, assets=[asset], starts_at=timezone.now() - timedelta(hours=5))
    stale, _ = _provisioned(target, past)
    live, _ = _provisioned(target, GrantFactory(user=holder, assets=[asset]))
    assert stale.remove_requested_at is None

    # When the live one ends, then the expired one keeps nothing alive
    _end(live)
    assert not holder.groups.filter(pk=crm_readers.pk).exists()


def test_observe_lists_grant_accounts_and_members_no_grant_explains(target, asset, crm_readers):
    # Given a provisioned grant and someone an admin put in the group by hand
    row, _ = _provisioned(target, GrantFactory(assets=[asset]))
    by_hand = UserFactory()
    by_hand.groups.add(crm_readers)
    other_group_member = UserFactory()
    other_group_member.groups.add(Group.objects.create(name="Unbound"))

    # When the target is observed
    seen = {a.name: a.memberships for a in connector_for(target).observe()}

    # Then the grant's account and the hand-made member are listed, nothing else
    assert seen == {
        row.account: frozenset({"CRM readers"}),
        f"{PREFIX}u{by_hand.pk}": frozenset({"CRM readers"}),
    }

    # When the stray member is removed (an authoritative target), then only they leave
    connector_for(target).deprovision([f"{PREFIX}u{by_hand.pk}"])
    assert not by_hand.groups.exists()
    assert row.grant.user.groups.filter(pk=crm_readers.pk).exists()
    assert other_group_member.groups.count() == 1


def test_a_membership_removed_by_hand_is_missing_from_observe(target, asset, crm_readers):
    # Given a provisioned grant whose holder someone took out of the group
    row, context = _provisioned(target, GrantFactory(assets=[asset]))
    row.grant.user.groups.remove(crm_readers)

    # When observed, then its account is not there (drift: missing), and provisioning
    # again restores it
    assert [a.name for a in connector_for(target).observe()] == []
    connector_for(target).provision(context)
    assert [a.name for a in connector_for(target).observe()] == [row.account]


def test_a_binding_to_a_group_that_was_deleted_fails_without_retry(target, asset, crm_readers):
    # Given the bound group deleted after the binding was saved
    grant = GrantFactory(assets=[asset])
    crm_readers.delete()

    # When provisioning, then a non-retryable error names the group
    with pytest.raises(ConnectorError) as error:
        _provisioned(target, grant)
    assert not error.value.retryable
    assert "CRM readers" in str(error.value)


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({}, "Name the group"),
        ({"group": "Nobody made this"}, "There is no group"),
        ({"group": "DPO"}, "gives rights in this portal"),
        ({"group": "Sneaky"}, "gives rights in this portal"),
    ],
)
def test_bad_bindings_are_refused(target, groups, options, text):
    # Given a group holding a permission of the portal itself
    sneaky = Group.objects.create(name="Sneaky")
    sneaky.permissions.add(Permission.objects.get(codename="revoke_grant"))
    binding = TargetBinding(target=target, asset=DataAssetFactory(), options=options)

    # When checked, then the options field carries a clear message
    problems = connector_for(target).check_binding(binding)
    assert [p.field for p in problems] == ["options"]
    assert text in problems[0].message


def test_a_group_of_another_app_is_accepted(target, crm_readers):
    binding = TargetBinding(
        target=target, asset=DataAssetFactory(), options={"group": "CRM readers"}
    )
    assert connector_for(target).check_binding(binding) == []
    assert "no end of its own" in str(connector_for(target).guarantees)


def test_drift_takes_a_hand_added_member_out_where_authoritative(target, asset, crm_readers):
    # Given an authoritative groups target, a provisioned grant and a member added by hand
    target.authoritative = True
    target.save(update_fields=["authoritative"])
    row, _ = _provisioned(target, GrantFactory(assets=[asset]))
    by_hand = UserFactory()
    by_hand.groups.add(crm_readers)

    # When drift is checked
    with committed():
        result = target_drift_check(target_id=target.pk)

    # Then the hand-added member is flagged and removed, the grant's holder stays
    assert [(f.account, f.kind, f.action) for f in result.findings] == [
        (f"{PREFIX}u{by_hand.pk}", DriftKind.HAND_MADE, DriftAction.REMOVED)
    ]
    assert not by_hand.groups.exists()
    assert row.grant.user.groups.filter(pk=crm_readers.pk).exists()


@pytest.mark.parametrize("given", ["a portal permission", "a portal group's name"])
def test_a_group_that_gives_portal_rights_after_its_binding_is_never_joined(
    target, asset, crm_readers, groups, given
):
    # Given a binding saved while its group gave no rights here, and the group changed later
    if given == "a portal permission":
        crm_readers.permissions.add(Permission.objects.get(codename="decide_accessrequest"))
    else:
        Group.objects.filter(name="Auditors").delete()
        crm_readers.name = "Auditors"
        crm_readers.save()
        TargetBinding.objects.filter(target=target).update(options={"group": "Auditors"})
    grant = GrantFactory(assets=[asset])

    # When the grant is provisioned
    with pytest.raises(ConnectorError) as error:
        _provisioned(target, grant)

    # Then the holder joins no group, and the error says why, without a retry
    assert not error.value.retryable
    assert "gives rights in this portal" in str(error.value)
    assert not grant.user.groups.filter(pk=crm_readers.pk).exists()
    assert not grant.user.has_perm("access.decide_accessrequest")


@pytest.mark.django_db(transaction=True)
def test_a_failure_no_retry_can_mend_alerts_at_once_and_is_tried_slowly(
    target, asset, crm_readers, settings
):
    # Given a grant whose bound group is deleted before its account is made
    grant = GrantFactory(assets=[asset])
    row = Provisioning.objects.create(grant=grant, target=target, account=f"{PREFIX}g{grant.pk}_x")
    crm_readers.delete()
    now = timezone.now()
    # When the account is set up,
    provisioning_provision(provisioning_id=row.pk, now=now)
    # then the first failed try already alerts the admins (event and email notice), and the
    # next try waits the longest delay rather than the first step of the backoff
    row.refresh_from_db()
    assert row.state == ProvisioningState.FAILED and row.tries == 1
    assert row.alerted_at == now
    assert row.next_try_at == now + timedelta(seconds=settings.CONNECTORS["RETRY_MAX_SECONDS"])
    assert AuditEvent.objects.filter(action="connectors.provisioning.alerted").count() == 1
    assert Notice.objects.filter(kind=NoticeKind.GRANT_TARGET_FAILING).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failure_a_retry_may_mend_backs_off_and_alerts_after_the_threshold(
    target, asset, settings
):
    # Given a failure trying again may mend (a target that does not answer),
    grant = GrantFactory(assets=[asset])
    row = Provisioning.objects.create(grant=grant, target=target, account=f"{PREFIX}g{grant.pk}_y")
    now = timezone.now()
    record_failures([row], error=ConnectorError("target down"), now=now)
    # then the first try backs off by the first step and alerts nobody yet
    row.refresh_from_db()
    assert row.next_try_at == now + timedelta(seconds=settings.CONNECTORS["RETRY_SECONDS"])
    assert row.alerted_at is None
