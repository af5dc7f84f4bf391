"""Offboarding: deactivating an account ends its grants and pending requests, as one event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.forms import MultiWidget
from django.urls import reverse
from django.utils import timezone
from guardian.models import UserObjectPermission

from apps.access import services
from apps.access.models import (
    AccessRequest,
    DecisionCode,
    Grant,
    GrantStatus,
    RequestStatus,
    RevokeCode,
)
from apps.access.selectors import approvals_still_needed
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def fresh(user):
    return type(user).objects.get(pk=user.pk)


def mirrored(user, asset) -> bool:
    return UserObjectPermission.objects.filter(user=user, object_pk=str(asset.pk)).exists()


def offboard_events():
    return AuditEvent.objects.filter(action="access.user.offboarded").order_by("id")


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


@pytest.fixture
def holdings(role, asset, staff_user, approver, run_on_commit):
    """staff_user holds a live grant (mirrored), a scheduled one, and waits on a request."""
    now = timezone.now()
    live_request = services.access_request_submit(
        requester=staff_user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        justification="Complaint follow-up",
    )
    run_on_commit(services.access_request_approve, request_id=live_request.pk, approver=approver)
    later = now + timedelta(days=1)
    scheduled_request = services.access_request_submit(
        requester=staff_user,
        role=role,
        starts_at=later,
        ends_at=later + timedelta(hours=2),
        justification="Audit preparation",
    )
    run_on_commit(
        services.access_request_approve, request_id=scheduled_request.pk, approver=approver
    )
    pending = services.access_request_submit(
        requester=staff_user,
        role=role,
        starts_at=later,
        ends_at=later + timedelta(hours=1),
        justification="Another case",
    )
    live = Grant.objects.get(request=live_request)
    scheduled = Grant.objects.get(request=scheduled_request)
    assert live.mirrored and mirrored(staff_user, asset)
    assert fresh(staff_user).has_perm("inventory.view_data", asset)
    return {"live": live, "scheduled": scheduled, "pending": pending}


def assert_offboarded(user, asset, holdings, *, actor=None):
    live, scheduled, pending = holdings["live"], holdings["scheduled"], holdings["pending"]
    for grant in (live, scheduled):
        grant.refresh_from_db()
        assert grant.status == GrantStatus.REVOKED and grant.revoked_at is not None
        assert grant.revoke_code == RevokeCode.HOLDER_OFFBOARDED
        assert grant.revoked_by == actor
    pending.refresh_from_db()
    assert pending.status == RequestStatus.CANCELLED
    assert pending.decision_code == DecisionCode.REQUESTER_OFFBOARDED
    # Access ends at once and the mirror rows are gone after commit
    assert not fresh(user).has_perm("inventory.view_data", asset)
    live.refresh_from_db()
    assert not live.mirrored and not mirrored(user, asset)
    # One event lists what ended
    (event,) = offboard_events()
    assert event.target_id == str(user.pk)
    assert event.data == {
        "grants_revoked": sorted([live.pk, scheduled.pk]),
        "requests_cancelled": [pending.pk],
    }
    assert event.actor_id == (actor.pk if actor else None)
    assert not AuditEvent.objects.filter(action="access.grant.revoked").exists()
    assert audit_chain_verify().ok


def admin_change_data(form) -> dict:
    """The admin change form's data as the browser would post it unchanged."""
    data: dict = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):
            parts = field.widget.decompress(value)
            for index, part in enumerate(parts):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    return data


def test_admin_deactivation_offboards(
    client, holdings, staff_user, asset, django_capture_on_commit_callbacks
):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = reverse("admin:auth_user_change", args=[staff_user.pk])
    form = client.get(url).context["adminform"].form
    data = admin_change_data(form)
    assert data.pop("is_active") == "on"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not fresh(staff_user).is_active
    assert_offboarded(staff_user, asset, holdings, actor=admin)


def test_shell_save_offboards_and_twice_ends_nothing(
    holdings, staff_user, asset, django_capture_on_commit_callbacks
):
    user = User.objects.get(pk=staff_user.pk)
    user.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    assert_offboarded(staff_user, asset, holdings)
    assert offboard_events().get().actor_label == "system:offboarding"
    # Saving again (still inactive) triggers nothing; calling the service again ends
    # nothing and writes no second event
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        user.save()
    assert callbacks == []
    again = services.user_offboard(user_id=user.pk, actor=None, reason="again")
    assert again.grant_ids == [] and again.request_ids == [] and again.event is None
    assert offboard_events().count() == 1


def test_nothing_to_end_is_still_one_event(staff_user):
    result = services.user_offboard(user_id=staff_user.pk, actor=None, reason="Left")
    assert not fresh(staff_user).is_active
    assert result.event is not None and result.event.data == {
        "grants_revoked": [],
        "requests_cancelled": [],
    }
    assert services.user_offboard(user_id=staff_user.pk, actor=None, reason="Left").event is None
    assert offboard_events().count() == 1


def test_reactivating_does_not_offboard(staff_user, django_capture_on_commit_callbacks):
    staff_user.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        staff_user.save()
    staff_user.is_active = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        staff_user.save()
    assert callbacks == []
    assert offboard_events().count() == 1


def test_rolled_back_deactivation_offboards_nothing(holdings, staff_user):
    # The admin's atomic block failing after the save: on_commit never runs
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        staff_user.is_active = False
        staff_user.save()
        raise RuntimeError
    assert not offboard_events().exists()
    assert AccessRequest.objects.get(pk=holdings["pending"].pk).status == RequestStatus.PENDING


def test_a_deactivated_approvers_approval_stops_counting(
    role, staff_user, approver, approver2, django_capture_on_commit_callbacks
):
    role.approvals_required = 2
    role.save()
    now = timezone.now()
    request = services.access_request_submit(
        requester=staff_user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        justification="Complaint follow-up",
    )
    services.access_request_approve(request_id=request.pk, approver=approver)
    assert approvals_still_needed(request).approvers == 1
    approver.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        approver.save()
    # The request they were asked to decide stays pending; their approval no longer counts
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert approvals_still_needed(request).approvers == 2
    assert offboard_events().get().data == {"grants_revoked": [], "requests_cancelled": []}
