"""Signing a webhook body, and checking a signature the way a receiver does.

The signature is HMAC-SHA256 (RFC 2104) over ``"<timestamp>.<body>"``: the Unix time of the
try, a dot, and the exact bytes of the body. The timestamp is in the signed text so that a
captured request cannot be replayed later (the receiver refuses an old timestamp); the body
is signed as bytes, before anything parses it. docs/webhooks.md has a receiver's code.
"""

from __future__ import annotations

import hashlib
import hmac
import time

#: Header names of every delivery.
HEADER_EVENT_ID = "X-Jitportal-Event-Id"
HEADER_EVENT_TYPE = "X-Jitportal-Event-Type"
HEADER_TIMESTAMP = "X-Jitportal-Timestamp"
HEADER_SIGNATURE = "X-Jitportal-Signature"
HEADER_IDEMPOTENCY_KEY = "Idempotency-Key"
SIGNATURE_SCHEME = "v1"
#: How old a timestamp a receiver should accept, in seconds.
DEFAULT_TOLERANCE_SECONDS = 300


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<64 hex digits>``: HMAC-SHA256 keyed with ``secret`` (UTF-8) over
    ``b"<timestamp>." + body``; ``timestamp`` in whole seconds since the Unix epoch."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_SCHEME}={digest.hexdigest()}"


def webhook_signature_verify(
    *,
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the timestamp is an integer no further than
    ``tolerance_seconds`` from ``now`` (default: the clock), and ``signature`` equals the
    expected one (constant-time comparison). Header values are passed as received."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, timestamp=stamp, body=body)
    return hmac.compare_digest(expected.encode(), (signature or "").encode())


def webhook_headers(
    *,
    secret: str,
    body: bytes,
    event_id: str,
    event_type: str,
    idempotency_key: str,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Every header of one try (a fresh timestamp and signature per try)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": "jitportal-webhooks/1",
        HEADER_EVENT_ID: event_id,
        HEADER_EVENT_TYPE: event_type,
        HEADER_TIMESTAMP: str(stamp),
        HEADER_IDEMPOTENCY_KEY: idempotency_key,
        HEADER_SIGNATURE: webhook_signature(secret=secret, timestamp=stamp, body=body),
    }
