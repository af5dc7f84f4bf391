from django.conf import settings
from django.urls import path

from . import views

urlpatterns = [
    path(f"{settings.ADMIN_URL}login/", views.admin_login),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path(
        "accounts/login/password/",
        views.BreakGlassSignInView.as_view(),
        name="login-password",
    ),
    path("oidc/authenticate/", views.OIDCRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", views.OIDCCallbackView.as_view(), name="oidc_authentication_callback"),
]
