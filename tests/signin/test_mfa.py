"""The second factor (apps/signin/mfa.py): who needs one for the admin, enrolment with a QR
code and recovery codes, verification, reset by an admin, and the audit events."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEvent
from tests.factories import UserFactory
from tests.signin.mfa import code_for, enrolled, make_stale, verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.MFA_REQUIRED = True
    settings.MFA_REQUIRED_GROUPS = ["DPO", "Approvers"]
    settings.MFA_FRESH_MINUTES = 10
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a right code straight after a wrong one counts


def admin_index():
    return reverse("admin:index")


def test_admin_blocked_without_a_device(client, approver, dpo, auditor):
    for user in (approver, dpo):
        client.force_login(user)
        response = client.get(admin_index())
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("mfa-enrol") + "?next=")
    # Not in a required group: the admin opens with a password alone
    client.force_login(auditor)
    assert client.get(admin_index()).status_code == 200


def test_superuser_needs_it_and_the_setting_turns_it_off(client, settings):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    enrolled(root)
    client.force_login(root)
    response = client.get(admin_index())
    assert response["Location"].startswith(reverse("mfa-verify"))
    settings.MFA_REQUIRED = False
    assert client.get(admin_index()).status_code == 200


def test_enrolment_with_a_real_code_gives_recovery_codes(client, approver):
    client.force_login(approver)
    url = f"{reverse('mfa-enrol')}?next={admin_index()}"
    page = client.get(url).content.decode()
    assert "<svg" in page and " style=" not in page  # the QR code, inline, no inline style
    device = TOTPDevice.objects.get(user=approver, confirmed=False)
    # A wrong code: refused and recorded
    response = client.post(url, {"token": "000000" if code_for(device) != "000000" else "111111"})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert AuditEvent.objects.filter(action="signin.mfa.failed").count() == 1
    # The app's code: confirmed, ten recovery codes shown once
    response = client.post(url, {"token": code_for(device)})
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    codes = re.findall(r"<code>([a-z0-9]+)</code>", response.content.decode())
    assert len(codes) == 10
    assert set(codes) == set(
        StaticToken.objects.filter(device__user=approver).values_list("token", flat=True)
    )
    event = AuditEvent.objects.get(action="signin.mfa.enrolled")
    assert event.actor_id == approver.pk and event.data["user_id"] == approver.pk
    assert client.get(admin_index()).status_code == 200


def test_a_new_session_verifies_with_a_recovery_code_once(client, approver):
    enrolled(approver)
    static = approver.staticdevice_set.create(name="Recovery codes")
    static.token_set.create(token="abcd1234")
    client.force_login(approver)
    response = client.get(admin_index())
    verify_url = response["Location"]
    assert verify_url.startswith(reverse("mfa-verify") + "?next=")
    response = client.post(verify_url, {"token": "abcd1234"})
    assert response.status_code == 302 and response["Location"] == admin_index()
    assert client.get(admin_index()).status_code == 200
    # Used: a second session cannot use it again
    client.logout()
    client.force_login(approver)
    response = client.post(verify_url, {"token": "abcd1234"})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="signin.mfa.failed").count() == 1


def test_next_stays_on_this_site(client, approver):
    device = enrolled(approver)
    client.force_login(approver)
    response = client.post(
        f"{reverse('mfa-verify')}?next=https://evil.example/", {"token": code_for(device)}
    )
    assert response["Location"] == admin_index()


def test_admin_resets_a_users_devices_audited(client, approver, dpo):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    verify(client, root)
    enrolled(approver)
    approver.staticdevice_set.create(name="Recovery codes")
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [approver.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=approver).exists()
    assert not approver.staticdevice_set.exists()
    event = AuditEvent.objects.get(action="signin.mfa.reset")
    assert event.actor_id == root.pk
    assert event.data == {"user_id": approver.pk, "devices": 2}
    # The approver enrols again at their next admin visit
    client.force_login(approver)
    assert client.get(admin_index())["Location"].startswith(reverse("mfa-enrol"))


def test_adding_a_second_app_needs_a_fresh_factor(client, approver):
    verify(client, approver)
    assert client.get(reverse("mfa-enrol")).status_code == 200
    make_stale(client)
    response = client.get(reverse("mfa-enrol"))
    assert response["Location"].startswith(reverse("mfa-verify"))


def test_without_a_next_page_staff_go_to_the_admin_and_others_to_the_portal(client, approver):
    # given a member of staff and someone who may not open the admin, neither naming a page
    portal_user = UserFactory(username="plain-staff", groups=["Staff"])
    for user, home in ((approver, admin_index()), (portal_user, reverse("portal-home"))):
        client.force_login(user)
        # when they enrol an app from the second-factor page with nothing else asked
        enrol = reverse("mfa-enrol")
        client.get(enrol)
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        response = client.post(enrol, {"token": code_for(device)})
        # then the page sends them on to the home they may open
        assert response.status_code == 200
        assert f'href="{home}"' in response.content.decode(), user
