"""Where the portal finds its OpenID provider: the endpoints named in settings, or read from
the provider's discovery document (OpenID Connect Discovery 1.0, section 4) when only
``OIDC_ISSUER`` is set.

mozilla-django-oidc reads every setting through a ``get_settings(name, *default)`` method of
its backend and views; the portal's subclasses (apps/signin/backends.py, views.py) call
:func:`oidc_setting` instead, so an endpoint left empty in settings comes from discovery.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from mozilla_django_oidc.utils import import_from_settings

# mozilla-django-oidc's setting name -> the discovery document's field.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
# A discovery document is read again after this many seconds (keys and endpoints may move).
DISCOVERY_TTL_SECONDS = 3600

_lock = threading.Lock()
_documents: dict[str, tuple[float, dict[str, Any]]] = {}


def oidc_enabled() -> bool:
    """Single sign-on is offered when a client id is configured (``OIDC_RP_CLIENT_ID``)."""
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


def discovery_document(issuer: str) -> dict[str, Any]:
    """The provider's ``/.well-known/openid-configuration``, cached per process for
    ``DISCOVERY_TTL_SECONDS``.

    Raises ``ImproperlyConfigured`` when the document cannot be read or names another issuer
    (Discovery 1.0 section 4.3: the issuer must be identical to the one asked for).
    """
    issuer = issuer.rstrip("/")
    now = time.monotonic()
    with _lock:
        cached = _documents.get(issuer)
        if cached is not None and now - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(
            url,
            timeout=getattr(settings, "OIDC_TIMEOUT", None) or 10,
            verify=getattr(settings, "OIDC_VERIFY_SSL", True),
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ImproperlyConfigured(f"OIDC discovery failed at {url}: {exc}") from exc
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ImproperlyConfigured(f"OIDC discovery at {url} names another issuer")
    with _lock:
        _documents[issuer] = (now, document)
    return document


def oidc_setting(attr: str, *args: Any) -> Any:
    """A mozilla-django-oidc setting; an endpoint not set comes from discovery.

    ``args`` is the optional default, as for ``mozilla_django_oidc.utils.import_from_settings``.
    """
    if attr in DISCOVERED and not getattr(settings, attr, None):
        issuer = getattr(settings, "OIDC_ISSUER", "")
        if issuer:
            value = discovery_document(issuer).get(DISCOVERED[attr])
            if value:
                return value
    return import_from_settings(attr, *args)
