from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigninConfig(AppConfig):
    """Sign-in: single sign-on (OpenID Connect), password sign-in and its break-glass
    exception, the lockout key for django-axes, the client address behind proxies, and the
    idle-session and deactivated-user session ends.

    Imports no other app of the project.
    """

    name = "apps.signin"
    label = "signin"
    verbose_name = _("Sign-in")
    # The DPO sees failed sign-ins and lockouts in the admin (Axes) and may unlock a username
    # by deleting its access attempts.
    group_permissions = {
        "DPO": [
            "axes.view_accessattempt",
            "axes.delete_accessattempt",
            "axes.view_accessfailurelog",
            "axes.view_accesslog",
            "signin.view_groupmapping",
            "signin.add_groupmapping",
            "signin.change_groupmapping",
            "signin.delete_groupmapping",
            "signin.view_oidcidentity",
            "signin.delete_oidcidentity",
        ]
    }

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401  (registers the sign-in settings check)
        from .policy import session_mark_seen

        user_logged_in.connect(session_mark_seen, dispatch_uid="signin.session_mark_seen")
