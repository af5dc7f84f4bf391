"""The second-factor pages: enrolment (TOTP with a QR code, then recovery codes, or a
security key), verification (a TOTP code, a recovery code or a security key) and the
user's own list of factors (add a key, remove a key or an app). See apps/signin/mfa.py for
who needs them and apps/signin/mfa_webauthn.py for the security-key endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from jitportal.inputs import parse_id
from jitportal.redirects import safe_next_url
from jitportal.security_signals import second_factor_event

from .mfa import factor_is_fresh, home_url, mark_verified

RECOVERY_CODES = 10


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def _next(request: HttpRequest) -> str:
    return safe_next_url(request, home_url(request.user))


def _event(action: str, request: HttpRequest, **data: Any) -> None:
    second_factor_event.send(
        sender=None, action=action, user=request.user, actor=request.user, data=data
    )


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app. A user who already has a device must first verify it
    (freshly) to add another; the pending device is kept until confirmed by a code."""
    user = request.user
    if user_has_device(user) and not factor_is_fresh(request):
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('mfa-verify')}?{query}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            StaticDevice.objects.filter(user=user).delete()
            static = StaticDevice.objects.create(user=user, name="Recovery codes")
            codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
            StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
            otp_login(request, device)
            mark_verified(request)
            _event("signin.mfa.enrolled", request, device="totp", device_id=device.pk)
            return render(
                request, "signin/mfa_recovery.html", {"codes": codes, "next": _next(request)}
            )
        _event("signin.mfa.failed", request, page="enrol")
        form.add_error("token", _("That code is not right. Check the time on your phone."))
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        # Generated here from the device's own URL: no user input reaches the markup.
        "qr_svg": mark_safe(qr.svg_inline(scale=5, dark="#000", light="#fff")),  # noqa: S308
        "secret": device.config_url.split("secret=")[1].split("&")[0],
        "next": _next(request),
    }
    return render(request, "signin/mfa_enrol.html", context)


def _has_codes(user: Any) -> bool:
    """An authenticator app or recovery codes: the code form applies."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or StaticToken.objects.filter(device__user=user, device__confirmed=True).exists()
    )


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Present a code from the authenticator app or a recovery code."""
    if not user_has_device(request.user):
        query = urlencode({"next": _next(request)})
        return HttpResponseRedirect(f"{reverse('mfa-enrol')}?{query}")
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"].strip())
        if device is not None:
            otp_login(request, device)
            mark_verified(request)
            return HttpResponseRedirect(_next(request))
        _event("signin.mfa.failed", request, page="verify")
        form.add_error("token", _("That code is not right, or was already used."))
    context = {
        "form": form,
        "next": _next(request),
        "has_codes": _has_codes(request.user),
        "has_keys": WebAuthnCredential.objects.filter(user=request.user, confirmed=True).exists(),
    }
    return render(request, "signin/mfa_verify.html", context)


# What the factors page may remove: security keys and authenticator apps, by id.
_REMOVABLE = {"webauthn": WebAuthnCredential, "totp": TOTPDevice}


@login_required
@require_http_methods(["GET", "POST"])
def devices(request: HttpRequest) -> HttpResponse:
    """The user's own second factors: authenticator apps, how many recovery codes are left,
    security keys (added, last used); add a key or an app, remove one. An account with a
    factor opens it only with a fresh one (adding or removing a factor is as sensitive as
    the actions the factor guards). Removing the last app or key also removes the recovery
    codes (they back up a factor that no longer exists). Recorded as ``signin.mfa.removed``."""
    user = request.user
    if user_has_device(user) and not factor_is_fresh(request):
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('mfa-verify')}?{query}")
    here = reverse("mfa-devices")
    if request.method == "POST":
        model = _REMOVABLE.get(request.POST.get("kind", ""))
        device_id = request.POST.get("device", "")
        device = (
            model.objects.filter(user=user, pk=parse_id(device_id)).first()  # type: ignore[attr-defined]
            if model is not None and parse_id(device_id) is not None
            else None
        )
        if device is None:
            messages.error(request, _("That factor is not one of yours, or was already removed."))
            return HttpResponseRedirect(here)
        kind = request.POST["kind"]
        device.delete()
        codes_removed = False
        if not (
            TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
        ):
            codes_removed = StaticDevice.objects.filter(user=user).delete()[0] > 0
        _event(
            "signin.mfa.removed",
            request,
            device=kind,
            device_id=int(device_id),
            recovery_codes_removed=codes_removed,
        )
        messages.success(request, _("The factor was removed."))
        return HttpResponseRedirect(here)
    context = {
        "apps": TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"),
        "keys": WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk"),
        "codes_left": StaticToken.objects.filter(device__user=user, device__confirmed=True).count(),
        "next": here,
    }
    return render(request, "signin/mfa_devices.html", context)
