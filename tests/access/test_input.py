"""Hostile input on the access pages and services: refused with a clear message, nothing changes.

NUL bytes, Unicode digits, invisible text and terminal control characters, through the portal
form, the admin's decision pages and the services every channel calls.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, Grant, RequestStatus
from tests.access.factories import AccessRoleFactory
from tests.factories import DataAssetFactory, ProcessingActivityFactory

pytestmark = pytest.mark.django_db

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
ESCAPE = "Fix \x1b[2J\x1b[31mINC-1"


@pytest.fixture
def role(approvers_group):
    return AccessRoleFactory(
        name="Orders support",
        assets=[DataAssetFactory(name="Orders")],
        approver_groups=[approvers_group],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
        require_justification=True,
    )


def _submit(user, role, **kwargs):
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        **{"justification": "Customer case 17", **kwargs},
    )


def _post(role, **overrides):
    activity = ProcessingActivityFactory(name="Complaints")
    activity.assets.add(*role.assets.all())
    data = {
        "target": f"role-{role.pk}",
        "start": "now",
        "duration": "2",
        "processing_activity": str(activity.pk),
        "justification": "Customer complaint about a missing order",
    }
    data.update(overrides)
    return data


@pytest.mark.postgres
def test_nul_in_a_changelist_filter_is_a_400_not_a_database_error(client, dpo):
    # given the DPO on the grants changelist (PostgreSQL cannot compare text with NUL)
    client.force_login(dpo)
    # when a filter value holds NUL
    response = client.get("/admin/access/grant/?status__exact=%00")
    # then the answer is a 400 that names the parameter
    assert response.status_code == 400
    assert "status__exact" in response.content.decode()
    assert "NUL" in response.content.decode()


def test_nul_in_a_form_field_path_or_cookie_is_a_400_and_changes_nothing(
    client, role, staff_user, approver
):
    # given a pending request and its approver
    request = _submit(staff_user, role)
    client.force_login(approver)
    url = reverse("admin:access_accessrequest_decide", args=[request.pk, "deny"])
    # when the deny reason, the path or a cookie holds NUL
    posted = client.post(url, {"reason": "no\x00"})
    pathed = client.get("/admin/access/accessrequest/%00/change/")
    client.cookies["sessionid"] = "abcdefgh\x00"
    cookied = client.get("/")
    # then each is a 400 and the request is still pending
    assert [posted.status_code, pathed.status_code, cookied.status_code] == [400, 400, 400]
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_a_unicode_digit_target_is_a_form_error_not_a_500(client, role, staff_user):
    # given a member of staff on the request form
    client.force_login(staff_user)
    # when the target names a role with a superscript two ('²'.isdigit() is true)
    response = client.post(reverse("access-request-create"), _post(role, target="role-²"))
    # then the form comes back with the message, and nothing is created
    assert response.status_code == 200
    assert "target" in response.context["form"].errors
    assert not AccessRequest.objects.exists()
    # and the same value in the query string preselects nothing
    assert client.get(reverse("access-request-create") + "?target=role-²").status_code == 200
    assert client.get(reverse("access-request-create") + "?role=٣").status_code == 200


def test_a_required_justification_of_zero_width_characters_is_refused(client, role, staff_user):
    client.force_login(staff_user)
    # when the required justification is made only of invisible characters
    response = client.post(reverse("access-request-create"), _post(role, justification=ZERO_WIDTH))
    # then the form says so and nothing is created
    assert response.status_code == 200
    assert "Enter visible text" in response.content.decode()
    assert not AccessRequest.objects.exists()
    # and the service refuses it too, whatever the channel
    with pytest.raises(ValidationError) as error:
        _submit(staff_user, role, justification=f" {ZERO_WIDTH} ")
    assert "justification" in error.value.message_dict
    assert not AccessRequest.objects.exists()


def test_terminal_control_sequences_in_a_justification_are_refused(client, role, staff_user):
    client.force_login(staff_user)
    # when the justification carries ESC sequences (they reach emails and logs as they are)
    response = client.post(reverse("access-request-create"), _post(role, justification=ESCAPE))
    # then the form names the character and nothing is created
    assert response.status_code == 200
    assert "U+001B" in response.content.decode()
    assert not AccessRequest.objects.exists()
    # and the service refuses ESC in the justification and the ticket
    with pytest.raises(ValidationError) as error:
        _submit(staff_user, role, justification=ESCAPE, ticket="INC-1\x1b]0;x\x07")
    assert set(error.value.message_dict) == {"justification", "ticket"}
    # while line breaks and tabs in a justification are fine
    assert _submit(staff_user, role, justification="Line one\n\tLine two").pk


def test_a_deny_reason_of_zero_width_characters_is_refused(client, role, staff_user, approver):
    # given a pending request
    request = _submit(staff_user, role)
    client.force_login(approver)
    url = reverse("admin:access_accessrequest_decide", args=[request.pk, "deny"])
    # when the approver denies with a reason made only of zero-width characters
    response = client.post(url, {"reason": ZERO_WIDTH})
    # then the form says so and the request is still pending
    assert response.status_code == 200
    assert "Enter visible text" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    # and the service refuses it too (commands, bulk actions)
    with pytest.raises(ValidationError, match="Give a reason for the denial"):
        services.access_request_deny(request_id=request.pk, approver=approver, reason=ZERO_WIDTH)
    with pytest.raises(ValidationError, match="U\\+001B"):
        services.access_request_deny(request_id=request.pk, approver=approver, reason=ESCAPE)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_every_reason_and_comment_service_refuses_invisible_and_control_text(
    role, staff_user, approver, dpo
):
    # given a live grant
    request = _submit(staff_user, role)
    with pytest.raises(ValidationError, match="U\\+001B"):
        services.access_request_approve(request_id=request.pk, approver=approver, comment=ESCAPE)
    services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get(request=request)
    # when it is revoked with an invisible or an ESC reason, then both are refused
    for reason in (ZERO_WIDTH, ESCAPE):
        with pytest.raises(ValidationError):
            services.grant_revoke(grant_id=grant.pk, actor=dpo, reason=reason)
    grant.refresh_from_db()
    assert grant.revoked_at is None
