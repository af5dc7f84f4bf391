"""Error reporting to Sentry without personal data.

``init_sentry`` is called by the settings when ``SENTRY_DSN`` is set. The SDK is told not to
send personal data (``send_default_pii=False``: no cookies, no user's name, email or address)
and every event passes ``scrub_event`` on its way out, which removes what could still carry
personal data: request bodies, cookies, query strings, authorisation and cookie headers, and
anything about the user but the numeric id. Exceptions keep their type, message and stack.
"""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk

# Request headers that are kept; every other header (cookies, authorisation, forwarded
# addresses, the user agent) is dropped.
KEPT_HEADERS = frozenset({"accept", "accept-language", "content-type", "content-length", "host"})


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return ``event`` (a Sentry event dict) with personal data removed, in place.

    Removes ``request.data``, ``request.cookies``, ``request.query_string``, ``request.env``
    and every header not in ``KEPT_HEADERS``; keeps ``user.id`` only."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: value for name, value in headers.items() if name.lower() in KEPT_HEADERS
            }
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return event


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    """Start the Sentry SDK (its Django, Celery and logging integrations switch on by
    themselves) with personal data off and ``scrub_event`` on every event and transaction."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,  # type: ignore[arg-type]
        traces_sample_rate=traces_sample_rate,
    )


def not_a_health_probe(record: logging.LogRecord) -> bool:
    """Logging filter for ``django.request``: a failing health check answers 500 every few
    seconds to its probe, which is the probe's news, not a server error to mail the ADMINS
    or report to Sentry about (the check itself logs why, as a warning)."""
    request = getattr(record, "request", None)
    path = getattr(request, "path_info", "") or ""
    return not path.startswith("/health/")
