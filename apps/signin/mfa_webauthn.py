"""Security keys and passkeys (WebAuthn) as a second factor, through django-otp-webauthn.

A registered key is a django-otp device (``WebAuthnCredential``), so it counts wherever a
device counts in apps/signin/mfa.py: ``MFA_REQUIRED`` for the admin, the fresh-factor rule
(``MFA_FRESH_MINUTES``) before Art. 9/10 approvals, break-glass and purges, and an admin's
reset. These are the package's four JSON endpoints (W3C Web Authentication Level 3: the
registration and authentication ceremonies), with the portal's rules on top:

* a key is a second factor only (``OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN`` off): the person
  signed in first (single sign-on or password), and the key must be one of theirs;
* adding a key when one already has a factor asks for a fresh one first, as adding an
  authenticator app does (``mfa_views.enrol``);
* a key that verifies marks the session's factor fresh (``mark_verified``), the next page is
  only a place on this site (``jitportal.redirects.safe_next_url``);
* events: ``signin.mfa.enrolled`` (``device="webauthn"``) and ``signin.mfa.failed``
  (``page="webauthn-enrol"`` or ``"webauthn-verify"`` with the package's error code), through
  ``jitportal.security_signals.second_factor_event`` as for TOTP;
* a refusal answers JSON ``{"detail": <message in the reader's language>, "code": ...}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog
from django_otp import user_has_device
from django_otp_webauthn import exceptions
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from jitportal.redirects import safe_next_url
from jitportal.security_signals import second_factor_event

from .mfa import factor_is_fresh, home_url, mark_verified

# The package's errors, in words for the person at the key (its own are English only).
_MESSAGES = {
    "user_not_verified": _("Confirm it is you with your current second factor first."),
    "not_authenticated": _("Sign in first."),
    "passwordless_login_disabled": _("Sign in first."),
    "credential_not_found": _("This security key is not registered to your account."),
    "credential_user_mismatch": _("This security key is not registered to your account."),
    "credential_disabled": _("This security key is not registered to your account."),
    "user_disabled": _("This account is deactivated."),
    "invalid_state": _("That took too long or was already used. Try again."),
}
_DEFAULT_MESSAGE = _("The security key was not accepted. Try again.")


class NeedsFreshFactor(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_code = "user_not_verified"


def _event(action: str, request: HttpRequest, **data: Any) -> None:
    second_factor_event.send(
        sender=None, action=action, user=request.user, actor=request.user, data=data
    )


class _PortalErrors:
    """Answer the package's API errors in the reader's language, and record a failed
    ceremony at its completion step as ``signin.mfa.failed``."""

    failure_page = ""
    request: HttpRequest

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if not isinstance(exc, exceptions.OTPWebAuthnApiError):
            raise exc
        user = getattr(self.request, "user", None)
        if self.failure_page and user is not None and user.is_authenticated:
            _event("signin.mfa.failed", self.request, page=self.failure_page, code=exc.code)
        detail = _MESSAGES.get(exc.code, _DEFAULT_MESSAGE)
        return JsonResponse({"detail": str(detail), "code": exc.code}, status=exc.status_code)


class _RegistrationRules:
    """Adding a key: signed in, and a fresh factor when the account already has one."""

    request: HttpRequest

    def user_is_mfa_enrolled(self, user: Any) -> bool:
        # The package asks only for a verified session; the portal's rule is stricter (a
        # fresh factor) and is checked in check_can_register.
        return False

    def check_can_register(self) -> None:
        if user_has_device(self.request.user) and not factor_is_fresh(self.request):
            raise NeedsFreshFactor()


class RegistrationBegin(_PortalErrors, _RegistrationRules, BeginCredentialRegistrationView):
    """POST: the options for ``navigator.credentials.create()`` (the challenge is kept in
    the session)."""


class RegistrationComplete(_PortalErrors, _RegistrationRules, CompleteCredentialRegistrationView):
    """POST the authenticator's attestation: verified against the challenge, the relying
    party ID and the allowed origins, then saved as the user's device."""

    failure_page = "webauthn-enrol"

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        had_device = user_has_device(self.request.user)
        response = super().post(*args, **kwargs)
        device_id = json.loads(response.content)["id"]
        if not had_device:
            # The first factor of the account: the key was just presented.
            mark_verified(self.request)
        _event("signin.mfa.enrolled", self.request, device="webauthn", device_id=device_id)
        # Shown by the page the script goes to next.
        messages.success(self.request, _("Security key added."))
        return response


class AuthenticationBegin(_PortalErrors, BeginCredentialAuthenticationView):
    """POST: the options for ``navigator.credentials.get()`` listing the user's keys."""


class AuthenticationComplete(_PortalErrors, CompleteCredentialAuthenticationView):
    """POST the key's assertion: verified (signature, challenge, origin, relying party ID,
    signature counter), then the session is verified with this device and fresh."""

    failure_page = "webauthn-verify"

    def complete_auth(self, device: Any) -> None:
        if not self.request.user.is_authenticated:
            raise exceptions.PasswordlessLoginDisabled()
        super().complete_auth(device)
        mark_verified(self.request)

    def get_success_url(self) -> str:
        return safe_next_url(self.request, home_url(self.request.user))


# Included under the package's namespace, since its template tags reverse these names.
urlpatterns = [
    path(route, view.as_view(), name=name)
    for route, view, name in (
        ("registration/begin/", RegistrationBegin, "credential-registration-begin"),
        ("registration/complete/", RegistrationComplete, "credential-registration-complete"),
        ("authentication/begin/", AuthenticationBegin, "credential-authentication-begin"),
        ("authentication/complete/", AuthenticationComplete, "credential-authentication-complete"),
    )
]
# The package's script strings (German in the package; English otherwise).
urlpatterns.append(
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="js-i18n-catalog",
    )
)
