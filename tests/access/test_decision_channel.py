"""Where a decision was taken (portal, admin, API, Slack) is in its audit event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, RequestStatus
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _submit(user, role) -> AccessRequest:
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        justification="Complaint follow-up",
    )


def _event(request: AccessRequest, action: str) -> AuditEvent:
    return AuditEvent.objects.for_target(request).get(action=action)


def test_an_approval_records_its_channel_and_the_default_is_the_portal(
    role, staff_user, approver, staff2
):
    # given two pending requests
    slack_request = _submit(staff_user, role)
    portal_request = _submit(staff2, role)
    # when one is approved from Slack and the other without naming a channel
    services.access_request_approve(request_id=slack_request.pk, approver=approver, channel="slack")
    services.access_request_approve(request_id=portal_request.pk, approver=approver)
    # then the approval and the final decision carry where they were taken
    assert _event(slack_request, "access.approval.given").data["channel"] == "slack"
    assert _event(slack_request, "access.request.approved").data["channel"] == "slack"
    assert _event(portal_request, "access.approval.given").data["channel"] == "portal"
    assert _event(portal_request, "access.request.approved").data["channel"] == "portal"


def test_a_denial_records_its_channel(role, staff_user, approver):
    # given a pending request
    request = _submit(staff_user, role)
    # when it is denied through the API
    services.access_request_deny(
        request_id=request.pk, approver=approver, reason="Not needed", channel="api"
    )
    # then the denial's event says so
    assert _event(request, "access.request.denied").data["channel"] == "api"


def test_an_unknown_channel_is_refused_and_nothing_changes(role, staff_user, approver):
    # given a pending request
    request = _submit(staff_user, role)
    events = AuditEvent.objects.count()
    # when a caller names a channel the portal does not know
    for decide in (
        lambda: services.access_request_approve(
            request_id=request.pk, approver=approver, channel="fax"
        ),
        lambda: services.access_request_deny(
            request_id=request.pk, approver=approver, reason="No", channel="fax"
        ),
    ):
        # then it is refused before anything is written
        with pytest.raises(ValueError, match="fax"):
            decide()
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert AuditEvent.objects.count() == events
