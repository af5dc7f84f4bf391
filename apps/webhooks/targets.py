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


#: Ranges refused whatever Python's ``is_global`` says of them (it differs between
#: versions): IANA special-purpose registries (RFC 6890) for IPv4 and IPv6.
_REFUSED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network" (RFC 791)
        "100.64.0.0/10",  # shared address space, carrier-grade NAT (RFC 6598)
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
        "192.0.2.0/24",  # documentation TEST-NET-1 (RFC 5737)
        "192.88.99.0/24",  # 6to4 relay anycast, deprecated (RFC 7526)
        "198.18.0.0/15",  # benchmarking (RFC 2544)
        "198.51.100.0/24",  # documentation TEST-NET-2 (RFC 5737)
        "203.0.113.0/24",  # documentation TEST-NET-3 (RFC 5737)
        "240.0.0.0/4",  # reserved, and the limited broadcast (RFC 1112, RFC 919)
    )
)
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback and IPv4-compatible, deprecated (RFC 4291 2.5.5.1)
        "::ffff:0:0:0/96",  # IPv4-translated (RFC 2765)
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation (RFC 8215)
        "100::/64",  # discard-only (RFC 6666)
        "2001::/23",  # IETF protocol assignments, Teredo 2001::/32 included (RFC 2928, 4380)
        "2001:db8::/32",  # documentation (RFC 3849)
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # segment routing SIDs (RFC 9602)
        "fc00::/7",  # unique local (RFC 4193)
        "fe80::/10",  # link-local (RFC 4291)
        "fec0::/10",  # site-local, deprecated (RFC 3879)
    )
)
#: NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: Prefixes whose last 32 bits are an IPv4 address: NAT64, IPv4-compatible, IPv4-translated.
_IPV4_IN_LOW_BITS = (_NAT64, _REFUSED_V6[0], _REFUSED_V6[1])


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries: IPv4-mapped (RFC 4291), 6to4
    (RFC 3056), Teredo server and client (RFC 4380), NAT64 (RFC 6052), IPv4-compatible
    and IPv4-translated (low 32 bits of ``::/96`` and ``::ffff:0:0:0/96``)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in net for net in _IPV4_IN_LOW_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _allowed_ipv4(address: ipaddress.IPv4Address) -> bool:
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not any(address in net for net in _REFUSED_V4)
    )


def _allowed_address(address: IPAddress) -> bool:
    """Whether a webhook may connect to ``address``: a globally reachable unicast address,
    and so is every IPv4 address embedded in an IPv6 one (an embedded private address
    reaches the private network through NAT64, 6to4 or a dual stack)."""
    if isinstance(address, ipaddress.IPv4Address):
        return _allowed_ipv4(address)
    embedded = _embedded_ipv4(address)
    if not all(_allowed_ipv4(inner) for inner in embedded):
        return False
    if address.ipv4_mapped is not None or address in _NAT64:
        return True  # these reach exactly the embedded address, checked above
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_site_local
        and not any(address in net for net in _REFUSED_V6)
    )


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
