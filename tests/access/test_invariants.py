"""Invariants 1, 3, 4 and 5 of docs/architecture.md for access, each with its test."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.models import UserObjectPermission

from apps.access import services
from apps.access.models import AccessRequest, Approval, Grant, GrantStatus, RequestStatus
from apps.access.selectors import approval_queue_for, approvals_still_needed
from apps.audit.models import AuditEvent
from tests.access.factories import AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, UserFactory

T0 = timezone.now().replace(microsecond=0) + timedelta(days=1)


def fresh(user):
    return type(user).objects.get(pk=user.pk)


def submit(user, role, hours=2, **kwargs):
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
        justification="Customer case",
        **kwargs,
    )


# --- 1. access is decided at the moment of use ---------------------------------------------------


@pytest.mark.django_db
def test_expiry_counts_at_use_with_beat_stopped(role, asset, staff_user, approver, groups):
    # Given an active, mirrored grant, and a user object that has already cached its grants
    with time_machine.travel(T0, tick=False):
        request = submit(staff_user, role)
        services.access_request_approve(request_id=request.pk, approver=approver)
        services.access_reconcile()
        grant = Grant.objects.get()
        assert grant.status == GrantStatus.ACTIVE and grant.mirrored
        user = fresh(staff_user)
        assert user.has_perm("inventory.view_data", asset)
    # When the window closes and no reconcile runs (beat, worker and Redis are down)
    with time_machine.travel(grant.ends_at, tick=False):
        # Then access is gone at once, for the cached user object and a fresh one
        assert not user.has_perm("inventory.view_data", asset)
        assert not fresh(staff_user).has_perm("inventory.view_data", asset)
    # although nothing was tidied: the status and the guardian mirror still say active
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    assert UserObjectPermission.objects.filter(user=staff_user, object_pk=str(asset.pk)).exists()


@pytest.mark.django_db
def test_a_left_over_guardian_row_gives_no_access(asset, staff_user):
    # Given a guardian row for a grant that has ended (mirror not tidied yet)
    from guardian.shortcuts import assign_perm

    past = timezone.now() - timedelta(hours=3)
    GrantFactory(user=staff_user, assets=[asset], starts_at=past, ends_at=past + timedelta(hours=1))
    assign_perm("inventory.view_data", staff_user, asset)
    # Then the permission check does not fall through to it
    assert not fresh(staff_user).has_perm("inventory.view_data", asset)


# --- 3. who may approve ------------------------------------------------------------------------


@pytest.mark.django_db
def test_nobody_approves_their_own_request(role, approver):
    # Given an approver asking for access themselves
    request = submit(approver, role)
    # Then they cannot approve or deny it, and do not see it in their queue
    with pytest.raises(PermissionDenied, match="their own request"):
        services.access_request_approve(request_id=request.pk, approver=approver)
    with pytest.raises(PermissionDenied):
        services.access_request_deny(request_id=request.pk, approver=approver, reason="no")
    assert request not in approval_queue_for(approver)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and not Approval.objects.exists()


@pytest.mark.django_db
def test_an_ineligible_approver_is_refused_and_nothing_changes(asset, staff_user, approver, groups):
    # Given a role only the asset's owner may approve
    owner = UserFactory(username="owner", groups=["Approvers"], is_staff=True)
    asset.owner = owner
    asset.save()
    role = AccessRoleFactory(name="Owner decides", assets=[asset], approve_by_steward_group=False)
    request = submit(staff_user, role)
    before = AuditEvent.objects.count()
    # When another member of Approvers, or a staff member without the permission, decides
    for intruder in (approver, UserFactory(groups=["Staff"])):
        with pytest.raises(PermissionDenied, match="not an approver"):
            services.access_request_approve(request_id=request.pk, approver=intruder)
        with pytest.raises(PermissionDenied):
            services.access_request_deny(request_id=request.pk, approver=intruder, reason="x")
    # Then nothing changed
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert not Approval.objects.exists() and AuditEvent.objects.count() == before
    # And the owner may
    services.access_request_approve(request_id=request.pk, approver=owner)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


@pytest.mark.django_db
def test_n_of_m_counts_distinct_approvers(asset, staff_user, approver, approver2, approvers_group):
    role = AccessRoleFactory(
        name="Two approvers",
        assets=[asset],
        approvals_required=2,
        approver_groups=[approvers_group],
    )
    request = submit(staff_user, role)
    services.access_request_approve(request_id=request.pk, approver=approver)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert approvals_still_needed(request).total == 1
    # The same approver approving again does not count twice
    with pytest.raises(ValidationError, match="already decided"):
        services.access_request_approve(request_id=request.pk, approver=approver)
    assert request not in approval_queue_for(approver)
    assert request in approval_queue_for(approver2)
    services.access_request_approve(request_id=request.pk, approver=approver2)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Grant.objects.filter(request=request).count() == 1


@pytest.mark.django_db
def test_special_category_needs_the_dpo_as_well(
    special_asset, staff_user, approver, dpo, approvers_group
):
    # Given a one-approval role over Art. 9 data (require_dpo left off)
    role = AccessRoleFactory(
        name="Health read", assets=[special_asset], approver_groups=[approvers_group]
    )
    assert not role.require_dpo
    request = submit(staff_user, role)
    assert request.dpo_required
    assert request.policy_snapshot["special"] is True
    # When the approver approves, it still waits for the DPO
    services.access_request_approve(request_id=request.pk, approver=approver)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and approvals_still_needed(request).total == 1
    assert request in approval_queue_for(dpo)
    # When the DPO approves, it is approved
    services.access_request_approve(request_id=request.pk, approver=dpo)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Approval.objects.get(request=request, approver=dpo).as_dpo


@pytest.mark.django_db
def test_the_dpo_approval_does_not_stand_in_for_the_approvers(
    special_asset, staff_user, approver, dpo, groups, approvers_group
):
    role = AccessRoleFactory(
        name="Health read", assets=[special_asset], approver_groups=[approvers_group]
    )
    request = submit(staff_user, role)
    services.access_request_approve(request_id=request.pk, approver=dpo)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    # A second DPO who is not an approver of the role cannot fill the approver's place
    dpo2 = UserFactory(username="dpo2", groups=["DPO"], is_staff=True)
    assert request not in approval_queue_for(dpo2)
    with pytest.raises(PermissionDenied, match="DPO's approval is already in"):
        services.access_request_approve(request_id=request.pk, approver=dpo2)
    services.access_request_approve(request_id=request.pk, approver=approver)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


# --- 4. two approvers at once give one outcome ------------------------------------------------------


def _race(callables):
    """Run the callables at the same instant in threads; return their results or errors."""
    barrier = threading.Barrier(len(callables))
    results: list = [None] * len(callables)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(callables)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_give_exactly_one_grant(role, staff_user, approver, approver2):
    # Given a request needing one approval
    request = submit(staff_user, role)
    # When two approvers approve it at the same instant from two threads
    results = _race(
        [
            lambda: services.access_request_approve(request_id=request.pk, approver=approver),
            lambda: services.access_request_approve(request_id=request.pk, approver=approver2),
        ]
    )
    # Then exactly one succeeded, the other was told it was already decided
    succeeded = [r for r in results if isinstance(r, AccessRequest)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(succeeded) == 1 and len(refused) == 1, results
    assert "already approved" in refused[0].messages[0]
    assert Grant.objects.filter(request=request).count() == 1
    assert Approval.objects.filter(request=request).count() == 1
    assert AuditEvent.objects.filter(action="access.request.approved").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_of_two_approving_at_once_approve_once(
    asset, staff_user, approver, approver2, approvers_group
):
    role = AccessRoleFactory(
        name="Two at once", assets=[asset], approvals_required=2, approver_groups=[approvers_group]
    )
    request = submit(staff_user, role)
    results = _race(
        [
            lambda: services.access_request_approve(request_id=request.pk, approver=approver),
            lambda: services.access_request_approve(request_id=request.pk, approver=approver2),
        ]
    )
    assert all(isinstance(r, AccessRequest) for r in results), results
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Grant.objects.filter(request=request).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_approve_and_deny_at_once_give_one_outcome(role, staff_user, approver, approver2):
    request = submit(staff_user, role)
    results = _race(
        [
            lambda: services.access_request_approve(request_id=request.pk, approver=approver),
            lambda: services.access_request_deny(
                request_id=request.pk, approver=approver2, reason="No"
            ),
        ]
    )
    assert sum(isinstance(r, AccessRequest) for r in results) == 1, results
    request.refresh_from_db()
    assert request.status in {RequestStatus.APPROVED, RequestStatus.DENIED}
    assert Grant.objects.filter(request=request).count() == (
        1 if request.status == RequestStatus.APPROVED else 0
    )


# --- 5. overlapping grants: the last one to end wins ---------------------------------------------


@pytest.mark.django_db
def test_overlapping_grants_end_when_the_last_one_ends(asset, staff_user):
    # Given two active, mirrored grants to the same asset, ending one hour apart
    with time_machine.travel(T0, tick=False):
        first = GrantFactory(
            user=staff_user,
            assets=[asset],
            starts_at=T0,
            ends_at=T0 + timedelta(hours=1),
            status=GrantStatus.SCHEDULED,
        )
        second = GrantFactory(
            user=staff_user,
            assets=[asset],
            starts_at=T0,
            ends_at=T0 + timedelta(hours=2),
            status=GrantStatus.SCHEDULED,
        )
        assert services.access_reconcile()["activated"] == 2
    rows = UserObjectPermission.objects.filter(
        user=staff_user, object_pk=str(asset.pk), permission__codename="view_data"
    )
    assert rows.count() == 1
    # When the first ends: access and the mirror stay
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert fresh(staff_user).has_perm("inventory.view_data", asset)
        assert services.access_reconcile()["expired"] == 1
        assert rows.exists()
        assert fresh(staff_user).has_perm("inventory.view_data", asset)
    first.refresh_from_db()
    assert first.status == GrantStatus.EXPIRED
    # When the last ends: both go
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert not fresh(staff_user).has_perm("inventory.view_data", asset)
        assert services.access_reconcile()["expired"] == 1
    assert not rows.exists()
    second.refresh_from_db()
    assert second.status == GrantStatus.EXPIRED


@pytest.mark.django_db
def test_revoking_one_of_two_overlapping_grants_keeps_the_other(
    asset, staff_user, approver, django_capture_on_commit_callbacks
):
    now = timezone.now()
    first = GrantFactory(
        user=staff_user, assets=[asset], starts_at=now, ends_at=now + timedelta(hours=1)
    )
    GrantFactory(user=staff_user, assets=[asset], starts_at=now, ends_at=now + timedelta(hours=2))
    services.mirror_add(grant_ids=Grant.objects.values_list("pk", flat=True))
    Grant.objects.update(mirrored=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke(grant_id=first.pk, actor=approver, reason="Wrong ticket")
    assert fresh(staff_user).has_perm("inventory.view_data", asset)
    assert UserObjectPermission.objects.filter(user=staff_user, object_pk=str(asset.pk)).exists()


@pytest.mark.django_db
def test_mirror_removal_keeps_exactly_the_rights_another_live_grant_still_gives(staff_user):
    # Given two assets and three mirrored grants of one user, all live now:
    # "wide" gives view+change+export on both assets, "narrow" gives view on the first
    # only, and another user's grant on the first asset
    first, second = DataAssetFactory(name="Orders"), DataAssetFactory(name="Invoices")
    now = timezone.now()
    wide = GrantFactory(
        user=staff_user,
        assets=[first, second],
        can_change=True,
        can_export=True,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    narrow = GrantFactory(
        user=staff_user,
        assets=[first],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
    )
    other = GrantFactory(
        assets=[first], starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
    )
    services.mirror_add(grant_ids=[wide.pk, narrow.pk, other.pk])
    assert UserObjectPermission.objects.count() == 7

    # When "wide" ends and its mirror is removed
    later = now + timedelta(hours=2)
    removed = services.mirror_remove(grant_ids=[wide.pk, other.pk], now=later)

    # Then only the view right on the first asset is left for the user (the narrow grant
    # still gives it), and the other user's row went with their ended grant
    left = set(
        UserObjectPermission.objects.values_list("user_id", "object_pk", "permission__codename")
    )
    assert left == {(staff_user.pk, str(first.pk), "view_data")}
    assert removed == 6


@pytest.mark.django_db
def test_reconcile_expiry_queries_do_not_grow_with_the_batch(asset, staff_user):
    # Given 3 mirrored grants ending in an hour, and (separately) 30 such grants
    def expire(count: int) -> int:
        now = timezone.now()
        grants = [
            GrantFactory(assets=[asset], starts_at=now, ends_at=now + timedelta(hours=1))
            for _ in range(count)
        ]
        services.mirror_add(grant_ids=[g.pk for g in grants])
        Grant.objects.filter(pk__in=[g.pk for g in grants]).update(mirrored=True)
        with (
            time_machine.travel(now + timedelta(hours=1), tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            assert services.access_reconcile(batch_size=100)["expired"] == count
        assert not UserObjectPermission.objects.filter(object_pk=str(asset.pk)).exists()
        return len(queries)

    # When each set expires in one batch, then both take the same number of queries
    assert expire(3) == expire(30)
