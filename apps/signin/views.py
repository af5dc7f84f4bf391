"""The login pages: single sign-on and, where allowed, the password form.

* ``/accounts/login/``: "Sign in with <provider>" when single sign-on is configured, and the
  password form unless ``PASSWORD_SIGNIN`` is off.
* ``/accounts/login/password/``: the password form whatever ``PASSWORD_SIGNIN`` says, for the
  break-glass admins (``PASSWORD_SIGNIN_BREAK_GLASS``); the backend refuses everyone else's
  password there too (apps/signin/backends.py).
* ``/admin/login/``: the admin's own login page while passwords are on; when they are off, the
  portal's login page (with the same ``next``).
* ``/oidc/authenticate/`` and ``/oidc/callback/``: mozilla-django-oidc's views, reading the
  provider's endpoints through discovery when only ``OIDC_ISSUER`` is set.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from jitportal.redirects import safe_next_url

from .oidc import oidc_enabled, oidc_setting


def _provider_name() -> str:
    """The provider's name for "Sign in with …" (``OIDC_PROVIDER_NAME``)."""
    return str(getattr(settings, "OIDC_PROVIDER_NAME", "") or _("single sign-on"))


class SignInView(auth_views.LoginView):
    """The portal's login page (``registration/login.html``)."""

    show_password_form: bool | None = None  # None: as PASSWORD_SIGNIN says

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        password = self.show_password_form
        if password is None:
            password = bool(getattr(settings, "PASSWORD_SIGNIN", True))
        context.update(
            show_password_form=password or not oidc_enabled(),
            oidc_enabled=oidc_enabled(),
            oidc_provider_name=_provider_name(),
        )
        return context


class BreakGlassSignInView(SignInView):
    """The password form at its own address, for break-glass admins when passwords are off."""

    show_password_form = True


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin's login: Django's while passwords are on, else the portal's login page."""
    if getattr(settings, "PASSWORD_SIGNIN", True):
        return admin.site.login(request, extra_context)
    query = {"next": safe_next_url(request, reverse("admin:index"))}
    return HttpResponseRedirect(f"{reverse('login')}?{urlencode(query)}")


class OIDCRequestView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider (authorization code flow, with PKCE and a nonce)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The endpoint is read per request in get(): not configured is a 404, not a crash.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("single sign-on is not configured")
        self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        response = super().get(request)
        # Where to go after the sign-in: only a place on this site (jitportal/redirects.py).
        request.session["oidc_login_next"] = safe_next_url(request, "") or None
        return response


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back; failures land on the login page, with the
    reason the backend gave (Django messages)."""

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("single sign-on is not configured")
        return super().get(request)
