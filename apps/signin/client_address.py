"""The client's address, as the proxy settings say it is: the one function the lockout
(django-axes, ``AXES_CLIENT_IP_CALLABLE``) and the audit trail (``AuditlogMiddleware`` below;
the lockout event's ``ip_address`` comes from django-axes) use.

``TRUSTED_PROXY_COUNT`` is the number of reverse proxies in front of the portal, each of
which appends the address it received the request from to ``X-Forwarded-For`` (nginx
``$proxy_add_x_forwarded_for``, HAProxy ``option forwardfor``, most load balancers). The
client is then the ``TRUSTED_PROXY_COUNT``-th address from the right of that header: what a
client writes into the header itself stays to the left and is never taken. With no proxy (0,
the default) the header is ignored and the address is the TCP peer's, ``REMOTE_ADDR``.
(MDN, "X-Forwarded-For: selecting an IP address"; OWASP Logging Cheat Sheet.)

python-ipware and django-ipware count proxies differently (they expect the last proxy's own
address in the header and read from the left), which would take a client-written address
behind a single nginx, hence this small function.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware
from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    """``value`` as an IP address without port or brackets, or None if it is not one."""
    value = value.strip()
    if value.startswith("["):  # [2001:db8::1]:443
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address (a string), or None when the request carries none."""
    meta = request.META
    remote = _address(str(meta.get("REMOTE_ADDR") or ""))
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    header = getattr(settings, "TRUSTED_PROXY_HEADER", "HTTP_X_FORWARDED_FOR")
    hops = [hop for hop in str(meta.get(header) or "").split(",") if hop.strip()]
    if len(hops) < count:
        # Fewer hops than proxies: the request did not come through them all; the peer is
        # the only address no client wrote.
        return remote
    return _address(hops[-count]) or remote


class AuditlogMiddleware(_AuditlogMiddleware):
    """django-auditlog's middleware, taking the client address from :func:`client_address`
    (its own takes the leftmost ``X-Forwarded-For`` entry, which any client can write)."""

    @staticmethod
    def _get_remote_addr(request: Any) -> str | None:
        if getattr(settings, "AUDITLOG_DISABLE_REMOTE_ADDR", False):
            return None
        return client_address(request)
