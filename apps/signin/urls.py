from django.conf import settings
from django.urls import path

from . import mfa_views, views

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
    path("oidc/authenticate/", views.OIDCRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", views.OIDCCallbackView.as_view(), name="oidc_authentication_callback"),
]
