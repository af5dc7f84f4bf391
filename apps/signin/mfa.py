"""The second factor (django-otp: TOTP, single-use recovery codes, and security keys or
passkeys through django-otp-webauthn, apps/signin/mfa_webauthn.py; each a django-otp device,
so every rule here counts them alike).

* Who needs one for the admin: superusers and members of ``MFA_REQUIRED_GROUPS`` (default
  "DPO" and "Approvers"), when ``MFA_REQUIRED`` is on (off in the base settings for the demo
  and development, on by default in production). :class:`AdminSecondFactorMiddleware` sends
  such a user, signed in but not verified in this session, to the verification page (or to
  enrolment when they have no device yet) before any admin page.
* A *fresh* factor: verified within ``MFA_FRESH_MINUTES`` (default 10). Required before
  approving a request for Art. 9/10 data, break-glass and running or confirming a purge:
  :func:`fresh_factor_redirect` (for views) and :func:`fresh_factor_required` (a decorator).
  When ``MFA_REQUIRED`` is off, every factor counts as fresh.

Imports no other app of the project; events go to the audit trail through
``jitportal.security_signals.second_factor_event``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp import devices_for_user, user_has_device

from jitportal.security_signals import second_factor_event

SESSION_VERIFIED_AT_KEY = "_jitportal_mfa_verified_at"


def mfa_on() -> bool:
    return bool(getattr(settings, "MFA_REQUIRED", False))


def mfa_required_for(user: Any) -> bool:
    """Whether ``user`` must present a second factor for the admin."""
    if not mfa_on() or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    groups = list(getattr(settings, "MFA_REQUIRED_GROUPS", ["DPO", "Approvers"]))
    return bool(groups) and user.groups.filter(name__in=groups).exists()


def mark_verified(request: HttpRequest) -> None:
    """Record in the session that the factor was presented now (after ``otp_login``)."""
    request.session[SESSION_VERIFIED_AT_KEY] = int(time.time())


def factor_is_fresh(request: HttpRequest) -> bool:
    """The user verified a factor in this session within ``MFA_FRESH_MINUTES``."""
    if not mfa_on():
        return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return False
    at = request.session.get(SESSION_VERIFIED_AT_KEY)
    minutes = int(getattr(settings, "MFA_FRESH_MINUTES", 10))
    return isinstance(at, int) and time.time() - at <= minutes * 60


def _to(name: str, request: HttpRequest, *, back: str | None = None) -> HttpResponse:
    query = urlencode({"next": back if back is not None else request.get_full_path()})
    return HttpResponseRedirect(f"{reverse(name)}?{query}")


def fresh_factor_redirect(request: HttpRequest, *, back: str | None = None) -> HttpResponse | None:
    """None when the factor is fresh; else a redirect to verification (or enrolment when the
    user has no device), with ``next`` back to this page (or ``back``)."""
    if factor_is_fresh(request):
        return None
    if not user_has_device(request.user):
        return _to("mfa-enrol", request, back=back)
    return _to("mfa-verify", request, back=back)


def fresh_factor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorator for a view function or a ModelAdmin view method: refuse a stale factor."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> HttpResponse:
        request = next(a for a in args if isinstance(a, HttpRequest))
        return fresh_factor_redirect(request) or view(*args, **kwargs)

    return wrapped


def devices_reset(*, user: Any, actor: Any) -> int:
    """Delete every second-factor device of ``user`` (apps, keys, recovery codes); their next
    admin visit asks them to enrol again. Recorded as ``signin.mfa.reset``. Returns how many
    devices were removed."""
    removed = 0
    for device in list(devices_for_user(user, confirmed=None)):
        device.delete()
        removed += 1
    second_factor_event.send(
        sender=None, action="signin.mfa.reset", user=user, actor=actor, data={"devices": removed}
    )
    return removed


class AdminSecondFactorMiddleware:
    """Before an admin page: a user who needs a second factor and has not verified one in
    this session goes to verification (or enrolment). Runs after django-otp's
    ``OTPMiddleware``. The admin's login and logout pages stay reachable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        prefix = f"/{settings.ADMIN_URL}"
        if (
            user is not None
            and request.path.startswith(prefix)
            and request.path not in (f"{prefix}login/", f"{prefix}logout/")
            and user.is_authenticated
            and user.is_staff
            and not user.is_verified()
            and mfa_required_for(user)
        ):
            name = "mfa-verify" if user_has_device(user) else "mfa-enrol"
            return _to(name, request)
        return self.get_response(request)


def home_url(user: Any) -> str:
    """Where a person goes after a second-factor page when nothing else is asked: the admin
    for staff, the portal's home for everyone else (who may not open the admin)."""
    return reverse("admin:index" if getattr(user, "is_staff", False) else "portal-home")
