"""System checks of the sign-in settings (``manage.py check``, and at every start)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.http.request import validate_host


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


def _under_rp_id(host: str, rp_id: str) -> bool:
    """Whether ``host`` may run a WebAuthn ceremony for ``rp_id``: the RP ID must equal the
    origin's host or be a registrable suffix of it (W3C Web Authentication Level 2, the
    definition of "RP ID", and the HTML standard's "is a registrable domain suffix of")."""
    host, rp_id = host.lower().rstrip("."), rp_id.lower().rstrip(".")
    return host == rp_id or host.endswith("." + rp_id)


@register("signin")
def security_key_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Every allowed origin of a security-key ceremony lies under ``OTP_WEBAUTHN_RP_ID``.

    A browser refuses to create or use a key for a relying party ID its page's host is not
    under, so a mismatch means nobody can register or use a key (signin.E004).
    """
    rp_id = str(getattr(settings, "OTP_WEBAUTHN_RP_ID", "") or "")
    problems: list[Any] = []
    for origin in getattr(settings, "OTP_WEBAUTHN_ALLOWED_ORIGINS", []):
        host = urlsplit(origin).hostname or ""
        if not rp_id or not _under_rp_id(host, rp_id):
            problems.append(
                Error(
                    f"OTP_WEBAUTHN_ALLOWED_ORIGINS has {origin!r}, whose host is not "
                    f"OTP_WEBAUTHN_RP_ID ({rp_id!r}) or a name under it: browsers refuse "
                    "security keys there",
                    hint="Set OTP_WEBAUTHN_RP_ID to the portal's host name (or leave both "
                    "unset to follow PORTAL_BASE_URL).",
                    id="signin.E004",
                    obj="OTP_WEBAUTHN_ALLOWED_ORIGINS",
                )
            )
    return problems


@register(Tags.security, deploy=True)
def portal_address_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Under ``check --deploy``: the address people and emails use is the deployed one.

    ``PORTAL_BASE_URL`` must be ``https`` on a host ``ALLOWED_HOSTS`` accepts (else links in
    email notices, Slack messages and agents' answers point elsewhere: signin.W003), and
    every security-key origin must be such a host too (signin.W004).
    """
    allowed = list(getattr(settings, "ALLOWED_HOSTS", []))
    problems: list[Any] = []
    base = urlsplit(str(getattr(settings, "PORTAL_BASE_URL", "")))
    if base.scheme != "https" or not validate_host(base.hostname or "", allowed):
        problems.append(
            Warning(
                f"PORTAL_BASE_URL is {settings.PORTAL_BASE_URL!r}: links in emails, Slack "
                "messages and agents' answers need the portal's own https address on a host "
                "ALLOWED_HOSTS accepts",
                hint="e.g. PORTAL_BASE_URL=https://jit.example.org",
                id="signin.W003",
                obj="PORTAL_BASE_URL",
            )
        )
    for origin in getattr(settings, "OTP_WEBAUTHN_ALLOWED_ORIGINS", []):
        parts = urlsplit(origin)
        if parts.scheme != "https" or not validate_host(parts.hostname or "", allowed):
            problems.append(
                Warning(
                    f"OTP_WEBAUTHN_ALLOWED_ORIGINS has {origin!r}, which is not an https "
                    "address on a host ALLOWED_HOSTS accepts: no security key can be used "
                    "from it",
                    id="signin.W004",
                    obj="OTP_WEBAUTHN_ALLOWED_ORIGINS",
                )
            )
    return problems
