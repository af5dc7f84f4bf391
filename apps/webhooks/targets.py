"""Where a webhook may be sent: HTTPS to a public address (server-side request forgery).

A subscription's URL is checked when it is saved and again before every try, on the
addresses its host resolves to at that moment; the try then connects to an address that
was checked (``apps.webhooks.transport``), so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot send a delivery into the portal's own network.
``WEBHOOKS["ALLOW_HTTP"]`` and ``["ALLOW_PRIVATE_TARGETS"]`` lift the rules for local testing.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A checked URL: scheme, host (as written), port, path with query, and the addresses
    the host resolved to, all allowed."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _allowed_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def webhook_target_check(url: str) -> Target:
    """Check ``url`` now and return where to connect. Raises ValidationError (code
    ``scheme``, ``url``, ``unresolved`` or ``private``) with a message for the person."""
    conf = settings.WEBHOOKS
    url = (url or "").strip()
    if any(c.isspace() or unicodedata.category(c) in {"Cc", "Cf"} for c in url):
        raise ValidationError(_("Enter a valid URL."), code="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(_("Enter a valid URL."), code="url") from None
    schemes = ("https", "http") if conf.get("ALLOW_HTTP") else ("https",)
    if parts.scheme not in schemes:
        raise ValidationError(_("The endpoint URL must start with https://."), code="scheme")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ValidationError(
            _("Enter a valid URL with a host name and without a user name or password."),
            code="url",
        )
    if parts.fragment:
        raise ValidationError(_("The endpoint URL cannot have a #fragment."), code="url")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not addresses:
        raise ValidationError(
            _("The host %(host)s does not resolve to any address.") % {"host": parts.hostname},
            code="unresolved",
        )
    if not conf.get("ALLOW_PRIVATE_TARGETS"):
        refused = [str(a) for a in addresses if not _allowed_address(a)]
        if refused:
            raise ValidationError(
                _(
                    "The host %(host)s resolves to %(address)s, a private, loopback or "
                    "reserved address: webhooks go to public addresses only."
                )
                % {"host": parts.hostname, "address": refused[0]},
                code="private",
            )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        path=path,
        addresses=tuple(str(a) for a in addresses),
    )
