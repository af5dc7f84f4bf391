from django.conf import settings
from django.urls import include, path

from . import mfa_views, mfa_webauthn, views

urlpatterns = [
    path(f"{settings.ADMIN_URL}login/", views.admin_login),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path(
        "accounts/login/password/",
        views.BreakGlassSignInView.as_view(),
        name="login-password",
    ),
    path("accounts/second-factor/", mfa_views.verify, name="mfa-verify"),
    path("accounts/second-factor/enrol/", mfa_views.enrol, name="mfa-enrol"),
    path("accounts/second-factor/factors/", mfa_views.devices, name="mfa-devices"),
    # Security keys (WebAuthn): JSON endpoints the package's scripts call.
    path(
        "accounts/second-factor/webauthn/",
        include((mfa_webauthn.urlpatterns, "otp_webauthn")),
    ),
    path("oidc/authenticate/", views.OIDCRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", views.OIDCCallbackView.as_view(), name="oidc_authentication_callback"),
]
