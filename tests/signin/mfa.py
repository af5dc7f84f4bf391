"""Helpers of the second-factor tests: real TOTP codes from django-otp's own algorithm."""

from __future__ import annotations

from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.signin.mfa import SESSION_VERIFIED_AT_KEY


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def verify(client, user, *, next_url: str = "/", steps_ahead: int = 0) -> TOTPDevice:
    """Sign ``user`` in with a password session and a fresh second factor (a code is used
    once: a second verification in the same time step takes the next step's code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrolled(user)
    client.force_login(user)
    response = client.post(
        f"{reverse('mfa-verify')}?next={next_url}",
        {"token": code_for(device, steps_ahead=steps_ahead)},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return device


def make_stale(client, *, minutes: int = 11) -> None:
    """Move the time the factor was presented ``minutes`` into the past."""
    session = client.session
    session[SESSION_VERIFIED_AT_KEY] -= minutes * 60
    session.save()
