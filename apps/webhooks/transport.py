"""One try of one delivery: a POST to the address that was checked, nothing else.

urllib3 connects to the checked IP address while TLS still verifies the certificate for the
host name (SNI and hostname check); no redirect is followed (a redirect could point inside
the network) and no proxy from the environment is used. Only the first
``RESPONSE_EXCERPT_BYTES`` of the answer are read.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from .targets import Target

RESPONSE_EXCERPT_BYTES = 2000


@dataclass(frozen=True)
class Answer:
    """What one try got: the status code and the start of the body (as text), or an error
    code of ``DeliveryError`` when there was no answer."""

    status: int | None
    excerpt: str
    error: str


def _printable(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() or c in "\n\t" else "?" for c in text)


def _read_excerpt(response: urllib3.BaseHTTPResponse, timeout: float) -> bytes:
    """The first ``RESPONSE_EXCERPT_BYTES`` of the answer, read for at most about
    ``timeout`` seconds in all: an endpoint that sends its answer a byte at a time cannot
    hold the worker (and the delivery's row lock) longer than that."""
    deadline = time.monotonic() + timeout
    data = b""
    while len(data) < RESPONSE_EXCERPT_BYTES and time.monotonic() < deadline:
        chunk = response.read1(RESPONSE_EXCERPT_BYTES - len(data))
        if not chunk:
            break
        data += chunk
    return data


def webhook_post(*, target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``target``, waiting at most ``timeout`` seconds to connect and for
    each read. The checked addresses are tried in order while a connection is refused (a
    host with an IPv6 and an IPv4 address, one of them not listening)."""
    answer = Answer(status=None, excerpt="", error="connection")
    for address in target.addresses:
        answer = _post_to(address, target=target, body=body, headers=headers, timeout=timeout)
        if answer.error != "connection":
            break
    return answer


def _post_to(
    address: str, *, target: Target, body: bytes, headers: dict[str, str], timeout: float
) -> Answer:
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    if target.port != default_port:
        host_header = f"{host_header}:{target.port}"
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        context = ssl.create_default_context(cafile=settings.WEBHOOKS.get("CA_FILE") or None)
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            ssl_context=context,
            maxsize=1,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, maxsize=1)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            preload_content=False,
            assert_same_host=False,
        )
        try:
            excerpt = _printable(_read_excerpt(response, timeout))
        finally:
            response.release_conn()
        return Answer(status=response.status, excerpt=excerpt, error="")
    except NewConnectionError:
        # (a subclass of ConnectTimeoutError in urllib3 2: refused, unreachable)
        return Answer(status=None, excerpt="", error="connection")
    except (ConnectTimeoutError, ReadTimeoutError):
        return Answer(status=None, excerpt="", error="timeout")
    except SSLError:
        return Answer(status=None, excerpt="", error="tls")
    except (HTTPError, OSError):
        return Answer(status=None, excerpt="", error="connection")
    finally:
        pool.close()
