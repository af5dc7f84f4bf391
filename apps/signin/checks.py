"""System checks of the sign-in settings (``manage.py check``, and at every start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register("signin")
def sign_in_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from .groups import settings_mapping

    problems: list[Any] = []
    try:
        settings_mapping()
    except ValueError as exc:
        problems.append(Error(str(exc), id="signin.E001", obj="OIDC_GROUP_MAP"))
    client_id = getattr(settings, "OIDC_RP_CLIENT_ID", "")
    if client_id:
        endpoints = (
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
        missing = [name for name in endpoints if not getattr(settings, name, "")]
        if missing and not getattr(settings, "OIDC_ISSUER", ""):
            problems.append(
                Error(
                    "Single sign-on needs OIDC_ISSUER (discovery) or " + ", ".join(missing),
                    id="signin.E002",
                )
            )
        if not getattr(settings, "OIDC_RP_CLIENT_SECRET", ""):
            problems.append(Error("OIDC_RP_CLIENT_SECRET is empty", id="signin.E003"))
    if not getattr(settings, "PASSWORD_SIGNIN", True):
        if not client_id:
            problems.append(
                Warning(
                    "PASSWORD_SIGNIN is off and single sign-on is not configured: only the "
                    "break-glass admins can sign in",
                    id="signin.W001",
                )
            )
        if not getattr(settings, "PASSWORD_SIGNIN_BREAK_GLASS", []):
            problems.append(
                Warning(
                    "PASSWORD_SIGNIN is off and PASSWORD_SIGNIN_BREAK_GLASS names nobody: no "
                    "one can sign in while the identity provider is down",
                    id="signin.W002",
                )
            )
    return problems
