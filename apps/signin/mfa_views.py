"""The second-factor pages: enrolment (TOTP with a QR code, then recovery codes) and
verification (a TOTP code or a recovery code). See apps/signin/mfa.py for who needs them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import segno
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from jitportal.redirects import safe_next_url
from jitportal.security_signals import second_factor_event

from .mfa import factor_is_fresh, mark_verified

RECOVERY_CODES = 10


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def _next(request: HttpRequest) -> str:
    return safe_next_url(request, reverse("admin:index"))


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
    return render(request, "signin/mfa_verify.html", {"form": form, "next": _next(request)})
