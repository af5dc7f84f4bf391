"""Decisions are re-checked against the clock and today's facts at the moment they are taken."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, Grant, RequestStatus
from apps.audit.models import AuditEvent
from tests.access.factories import AccessRoleFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) + timedelta(days=1)


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def actions_for(obj) -> list[str]:
    return list(AuditEvent.objects.for_target(obj).order_by("id").values_list("action", flat=True))


@pytest.fixture
def support(groups):
    return Group.objects.create(name="Support")


@pytest.fixture
def requester(support):
    user = UserFactory(username="requester", groups=["Staff"])
    user.groups.add(support)
    return user


@pytest.fixture
def gated_role(asset, approvers_group, support):
    """Requestable only by the Support group; one approval from the Approvers group."""
    return AccessRoleFactory(
        name="Support gated",
        assets=[asset],
        approver_groups=[approvers_group],
        requestable_by_groups=[support],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
        pending_timeout=timedelta(hours=2),
    )


def _submit(user, role, *, start=None, hours=4) -> AccessRequest:
    start = start or timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        justification="Complaint follow-up",
    )


# --- the extension cap ------------------------------------------------------------------------


def test_example_47_one_hour_extensions_stop_at_the_role_limit(asset, staff_user):
    # Given a 4-hour-maximum role with automatic approval (and the default reach, 24 hours)
    role = AccessRoleFactory(
        name="Auto", assets=[asset], max_duration=timedelta(hours=4), approvals_required=0
    )
    assert role.max_total_duration == timedelta(hours=24)
    with time_machine.travel(T0, tick=False):
        grant = _submit(staff_user, role).grant
        # When 47 one-hour extensions are asked for
        refused = []
        for _ in range(47):
            current = Grant.objects.get(pk=grant.pk).ends_at
            try:
                services.access_request_extend(
                    grant_id=grant.pk,
                    requester=staff_user,
                    ends_at=current + timedelta(hours=1),
                    justification="more",
                )
            except ValidationError as exc:
                refused.append(" ".join(exc.messages))
    # Then the grant reaches 24 hours from its start, not 50
    grant.refresh_from_db()
    assert grant.ends_at - grant.starts_at == timedelta(hours=24)
    assert len(refused) == 47 - 20
    assert "at most 1 day from its start" in refused[0]
    assert Grant.objects.count() == 1


def test_reach_limit_is_checked_again_when_the_extension_is_approved(
    role, staff_user, approver, approver2
):
    # Given a live grant and a pending extension within the limit
    first = _submit(staff_user, role, hours=2)
    services.access_request_approve(request_id=first.pk, approver=approver)
    grant = Grant.objects.get(request=first)
    extension = services.access_request_extend(
        grant_id=grant.pk,
        requester=staff_user,
        ends_at=grant.ends_at + timedelta(hours=8),
        justification="more",
    )
    # When the DPO lowers the limit before the approval
    role.max_total_duration = role.max_duration
    role.save()
    # Then the approval is refused and nothing moves
    with pytest.raises(ValidationError, match="at most 8 hours from its start"):
        services.access_request_approve(request_id=extension.pk, approver=approver2)
    assert Grant.objects.get(pk=grant.pk).ends_at == grant.ends_at
    assert AccessRequest.objects.get(pk=extension.pk).status == RequestStatus.PENDING


def test_single_asset_requests_take_the_smallest_reach_of_the_covering_roles(asset, staff_user):
    AccessRoleFactory(
        name="Wide", assets=[asset], approvals_required=0, require_justification=False
    )
    AccessRoleFactory(
        name="Narrow",
        assets=[asset],
        approvals_required=0,
        require_justification=False,
        max_total_duration=timedelta(hours=10),
    )
    now = timezone.now()
    request = services.access_request_submit(
        requester=staff_user, asset=asset, starts_at=now, ends_at=now + timedelta(hours=4)
    )
    assert request.policy_snapshot["max_total_duration"] == 10 * 3600
    with pytest.raises(ValidationError, match="at most 10 hours"):
        services.access_request_extend(
            grant_id=request.grant.pk, requester=staff_user, ends_at=now + timedelta(hours=11)
        )


def test_role_reach_cannot_be_shorter_than_its_maximum(asset):
    role = AccessRoleFactory(name="Bad", assets=[asset])
    role.max_total_duration = timedelta(hours=1)
    with pytest.raises(ValidationError) as exc:
        role.full_clean()
    assert "max_total_duration" in exc.value.message_dict


def test_the_extend_page_names_the_latest_end(client, asset, staff_user):
    role = AccessRoleFactory(name="Auto", assets=[asset], approvals_required=0)
    grant = _submit(staff_user, role).grant
    client.force_login(staff_user)
    html = client.get(reverse("access-grant-extend", args=[grant.pk])).content.decode()
    latest = timezone.localtime(grant.starts_at + timedelta(hours=24))
    assert f"{latest:%-d %b %Y, %H:%M}" in html
    assert "Longest reach through extensions" in html
