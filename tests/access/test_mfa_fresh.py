"""A fresh second factor (MFA_FRESH_MINUTES) before approving Art. 9/10 access and before
break-glass; a stale one sends the approver to verification and back."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import Grant, RequestStatus
from tests.access.factories import AccessRoleFactory
from tests.signin.mfa import code_for, make_stale, verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.MFA_REQUIRED = True
    settings.MFA_FRESH_MINUTES = 10
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def submit(user, role):
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        justification="Customer case 17",
    )


def decide_url(request, decision):
    return reverse("admin:access_accessrequest_decide", args=[request.pk, decision])


def test_special_approval_needs_a_fresh_factor(
    client, role, special_asset, staff_user, approver, approvers_group
):
    special_role = AccessRoleFactory(
        name="Needs read",
        assets=[special_asset],
        approver_groups=[approvers_group],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    special = submit(staff_user, special_role)
    plain = submit(staff_user, role)
    device = verify(client, approver)
    assert client.get(decide_url(special, "approve")).status_code == 200
    make_stale(client)
    # Stale: the plain request and denials are unaffected
    assert client.get(decide_url(plain, "approve")).status_code == 200
    assert client.get(decide_url(special, "deny")).status_code == 200
    # The special approval, shown or posted, goes to verification with next= back
    url = decide_url(special, "approve")
    for response in (client.get(url), client.post(url, {"comment": "ok"})):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('mfa-verify')}?next={quote(url, safe='')}"
    special.refresh_from_db()
    assert special.status == RequestStatus.PENDING and not special.approvals.exists()
    # A code later (the next time step: a code is used once), back to the page
    response = client.post(
        f"{reverse('mfa-verify')}?next={url}", {"token": code_for(device, steps_ahead=1)}
    )
    assert response["Location"] == url
    assert client.get(url).status_code == 200


def test_bulk_approval_with_special_requests_needs_a_fresh_factor(
    client, special_asset, staff_user, approver, approvers_group
):
    special_role = AccessRoleFactory(
        name="Needs read",
        assets=[special_asset],
        approver_groups=[approvers_group],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    special = submit(staff_user, special_role)
    verify(client, approver)
    make_stale(client)
    response = client.post(
        reverse("admin:access_accessrequest_changelist"),
        {"action": "approve_selected", "_selected_action": [special.pk], "apply": "1"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa-verify"))
    special.refresh_from_db()
    assert special.status == RequestStatus.PENDING


def test_break_glass_needs_a_fresh_factor(client, asset, dpo):
    url = reverse("admin:access_grant_break_glass")
    verify(client, dpo)
    assert client.get(url).status_code == 200
    make_stale(client)
    response = client.post(url, {"asset": asset.pk, "minutes": 30, "reason": "Outage #99"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa-verify") + "?next=")
    assert not Grant.objects.exists()
