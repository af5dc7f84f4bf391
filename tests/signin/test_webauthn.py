"""Security keys (apps/signin/mfa_webauthn.py, the factors page in mfa_views.py): the portal's
rules on the package's endpoints, the key counting as a factor for MFA_REQUIRED and resets,
and the user's own list of factors. The ceremonies themselves run in a real browser:
tests/signin/test_webauthn_browser.py."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from apps.audit.models import AuditEvent
from apps.signin.mfa import devices_reset
from tests.signin.mfa import enrolled, make_stale, verify

pytestmark = pytest.mark.django_db

BEGIN_REGISTRATION = "otp_webauthn:credential-registration-begin"
COMPLETE_REGISTRATION = "otp_webauthn:credential-registration-complete"
BEGIN_AUTHENTICATION = "otp_webauthn:credential-authentication-begin"
COMPLETE_AUTHENTICATION = "otp_webauthn:credential-authentication-complete"


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.MFA_REQUIRED = True
    settings.MFA_REQUIRED_GROUPS = ["DPO", "Approvers"]
    settings.MFA_FRESH_MINUTES = 10
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://localhost:8000"]


def a_key(user, *, credential_id: bytes = b"key-1") -> WebAuthnCredential:
    """A registered key row (what a completed registration stores)."""
    return WebAuthnCredential.objects.create(
        user=user, credential_id=credential_id, public_key=b"\xa5" * 77, confirmed=True
    )


def test_a_key_alone_counts_as_the_second_factor(client, approver):
    # given an approver whose only factor is a security key
    a_key(approver)
    client.force_login(approver)
    # when they open the admin, then they are asked to verify (not to enrol)
    response = client.get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("mfa-verify") + "?next=")
    # and the page offers the key, with the package's script, and no code form
    page = client.get(response["Location"]).content.decode()
    assert 'id="passkey-verification-button"' in page
    assert "django_otp_webauthn/otp_webauthn_auth.js" in page
    assert 'name="token"' not in page


def test_an_app_and_a_key_both_offered(client, approver):
    # given an approver with an app and a key, then the page offers both
    enrolled(approver)
    a_key(approver)
    client.force_login(approver)
    page = client.get(reverse("mfa-verify")).content.decode()
    assert 'id="passkey-verification-button"' in page and 'name="token"' in page


def test_signed_out_nobody_starts_a_ceremony(client):
    # given nobody signed in (passwordless sign-in is off: a key is a second factor only),
    # when a ceremony is begun, then it is refused in words and nothing is recorded
    for name in (BEGIN_REGISTRATION, BEGIN_AUTHENTICATION):
        response = client.post(reverse(name))
        assert response.status_code == 403
        assert response.json()["detail"] == "Sign in first."
    assert not AuditEvent.objects.exists()


def test_adding_a_key_needs_a_fresh_factor(client, approver):
    # given an approver with an app, verified just now
    verify(client, approver)
    a_key(approver)
    # then a registration starts, and the browser is told which keys to skip
    response = client.post(reverse(BEGIN_REGISTRATION))
    assert response.status_code == 200
    options = response.json()
    assert options["rp"]["id"] == "localhost"
    assert len(options["excludeCredentials"]) == 1
    # when the factor is stale, then it is refused in words, and nothing is kept
    make_stale(client)
    response = client.post(reverse(BEGIN_REGISTRATION))
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Confirm it is you with your current second factor first.",
        "code": "user_not_verified",
    }


def test_a_first_key_needs_no_earlier_factor(client, approver):
    # given an approver with no factor yet, then a registration starts at once
    client.force_login(approver)
    response = client.post(reverse(BEGIN_REGISTRATION))
    assert response.status_code == 200
    assert response.json()["authenticatorSelection"]["userVerification"]


def test_a_completion_without_its_challenge_is_refused_and_recorded(client, approver):
    # given a signed-in approver with a key, and no ceremony begun in this session
    a_key(approver)
    client.force_login(approver)
    # when an assertion arrives anyway (a replay), then it is refused, in German too
    response = client.post(
        reverse(COMPLETE_AUTHENTICATION),
        {"id": "x"},
        content_type="application/json",
        headers={"accept-language": "de"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_state"
    assert response.json()["detail"] == (
        "Das hat zu lange gedauert oder wurde schon verwendet. Versuchen Sie es erneut."
    )
    event = AuditEvent.objects.get(action="signin.mfa.failed")
    assert event.data == {
        "user_id": approver.pk,
        "page": "webauthn-verify",
        "code": "invalid_state",
    }
    # and the session is not verified
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("mfa-verify"))


def test_a_started_ceremony_is_used_once(client, approver):
    # given a signed-in approver who began a verification
    a_key(approver)
    client.force_login(approver)
    assert client.post(reverse(BEGIN_AUTHENTICATION)).status_code == 200
    # when a malformed answer arrives, then it is refused and spends the challenge
    first = client.post(
        reverse(COMPLETE_AUTHENTICATION), {"id": "x"}, content_type="application/json"
    )
    assert (first.status_code, first.json()["code"]) == (422, "invalid_json_structure")
    # so a second answer must begin again
    again = client.post(
        reverse(COMPLETE_AUTHENTICATION), {"id": "x"}, content_type="application/json"
    )
    assert (again.status_code, again.json()["code"]) == (400, "invalid_state")
    assert AuditEvent.objects.filter(action="signin.mfa.failed").count() == 2


# Answers no authenticator would send: not JSON, JSON of the wrong shape, bad base64, a
# signature over nothing by a key the account has ("AA" is its id, b"\x00").
_BAD_ANSWERS = [
    "not json",
    "\x00",
    "[]",
    "null",
    "{}",
    '{"id": 1, "rawId": [], "response": {}}',
    '{"id": "!!", "rawId": "!!", "type": "public-key", "response": {"clientDataJSON": "!!",'
    ' "attestationObject": "!!", "authenticatorData": "!!", "signature": "!!"}}',
    '{"id": "AA", "rawId": "AA", "type": "public-key", "response": {"clientDataJSON": "AA",'
    ' "attestationObject": "AA", "authenticatorData": "AA", "signature": "AA"}}',
]


@pytest.mark.parametrize("ceremony", ["registration", "authentication"])
def test_bad_answers_get_a_clear_refusal_and_change_nothing(client, approver, ceremony):
    # given an approver with a key (and, to add one, an app verified just now), and a
    # ceremony begun before each answer
    key = a_key(approver, credential_id=b"\x00")
    if ceremony == "registration":
        verify(client, approver)
    else:
        client.force_login(approver)
    for body in _BAD_ANSWERS:
        assert client.post(reverse(f"otp_webauthn:credential-{ceremony}-begin")).status_code == 200
        # when the answer is garbage
        response = client.post(
            reverse(f"otp_webauthn:credential-{ceremony}-complete"),
            body,
            content_type="application/json",
        )
        # then a 4xx in words, never a server error
        assert 400 <= response.status_code < 500, (body, response.content)
        assert response.json()["detail"], body
    # and nothing is stored or verified
    assert list(WebAuthnCredential.objects.filter(user=approver)) == [key]
    key.refresh_from_db()
    assert key.last_used_at is None and key.sign_count == 0
    if ceremony == "authentication":
        assert client.get(reverse("admin:index"))["Location"].startswith(reverse("mfa-verify"))


def test_the_factors_page_lists_and_removes_own_factors(client, approver, dpo):
    # given an approver with an app, recovery codes and two keys, verified just now
    verify(client, approver)
    app = TOTPDevice.objects.get(user=approver)
    codes = StaticDevice.objects.create(user=approver, name="Recovery codes")
    codes.token_set.create(token="abcd1234")
    first, second = a_key(approver), a_key(approver, credential_id=b"key-2")
    others = a_key(dpo, credential_id=b"dpo-key")
    url = reverse("mfa-devices")
    page = client.get(url).content.decode()
    assert page.count('name="kind" value="webauthn"') == 2
    assert 'name="kind" value="totp"' in page
    assert "1 recovery code left." in page
    assert 'id="passkey-register-button"' in page

    # when they remove a key, then it is gone and recorded
    response = client.post(url, {"kind": "webauthn", "device": first.pk}, follow=True)
    assert "The factor was removed." in response.content.decode()
    assert not WebAuthnCredential.objects.filter(pk=first.pk).exists()
    event = AuditEvent.objects.get(action="signin.mfa.removed")
    assert event.data == {
        "user_id": approver.pk,
        "device": "webauthn",
        "device_id": first.pk,
        "recovery_codes_removed": False,
    }

    # another user's key, an unknown kind or a bad id: a clear message, nothing changed
    for bad in (
        {"kind": "webauthn", "device": others.pk},
        {"kind": "static", "device": codes.pk},
        {"kind": "webauthn", "device": "1; drop"},
        {"kind": "webauthn", "device": "9" * 40},
        {},
    ):
        response = client.post(url, bad, follow=True)
        assert "not one of yours" in response.content.decode(), bad
    assert WebAuthnCredential.objects.filter(pk=others.pk).exists()
    assert AuditEvent.objects.filter(action="signin.mfa.removed").count() == 1

    # removing a key keeps the codes (the app remains); removing the last factor takes them
    client.post(url, {"kind": "webauthn", "device": second.pk})
    assert StaticDevice.objects.filter(user=approver).exists()
    client.post(url, {"kind": "totp", "device": app.pk})
    assert not StaticDevice.objects.filter(user=approver).exists()
    assert (
        AuditEvent.objects.filter(action="signin.mfa.removed")
        .order_by("pk")
        .last()
        .data["recovery_codes_removed"]
    )
    # and the session verified by that app is verified no more
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("mfa-enrol"))


def test_the_factors_page_needs_a_fresh_factor(client, approver):
    # given an approver whose factor has gone stale, when they open or post the page,
    # then they verify first, and nothing is removed
    verify(client, approver)
    key = a_key(approver)
    make_stale(client)
    url = reverse("mfa-devices")
    for response in (client.get(url), client.post(url, {"kind": "webauthn", "device": key.pk})):
        assert response["Location"].startswith(reverse("mfa-verify") + "?next=")
    assert WebAuthnCredential.objects.filter(pk=key.pk).exists()


def test_without_a_factor_the_page_offers_both_ways(client, staff_user):
    # given a staff member without a factor, then the page says so and offers both kinds
    client.force_login(staff_user)
    page = client.get(reverse("mfa-devices")).content.decode()
    assert "No security key yet." in page and "No authenticator app yet." in page
    assert reverse("mfa-enrol") in page
    # and the header links to it
    assert f'href="{reverse("mfa-devices")}"' in client.get(reverse("portal-home")).content.decode()


def test_an_admin_reset_removes_keys_too(approver, dpo):
    # given an approver with an app and a key, when an admin resets them, then both go
    enrolled(approver)
    a_key(approver)
    assert devices_reset(user=approver, actor=dpo) == 2
    assert not WebAuthnCredential.objects.filter(user=approver).exists()
