"""The audit-trail feed a SIEM polls: JSON Lines after a cursor, next cursor in a header."""

from __future__ import annotations

import base64
import binascii

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jitportal.inputs import BIGINT_MAX, parse_bounded_int

from .exports import (
    CONTENT_TYPES,
    FORMATS,
    audit_export_chunks,
    audit_export_has_more,
    audit_export_window,
    parse_moment,
)

FEED_DEFAULT_LIMIT = 10_000
FEED_MAX_LIMIT = 100_000
PERMISSION = "audit.export_auditevent"


def _basic_auth_user(request: HttpRequest):
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return authenticate(request, username=username, password=password)


def _unauthorised() -> HttpResponse:
    response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Basic realm="jitportal audit feed", charset="UTF-8"'
    return response


def _bad(message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")


@never_cache
@require_GET
def audit_feed(request: HttpRequest) -> HttpResponseBase:
    """GET ?after_id=N&limit=M[&since=&until=&format=jsonl|csv] (session or HTTP Basic)."""
    user = request.user if request.user.is_authenticated else _basic_auth_user(request)
    if user is None or not user.is_active:
        return _unauthorised()
    if not user.has_perm(PERMISSION):
        return HttpResponse(
            "Forbidden: exporting the audit trail needs the audit.export_auditevent permission "
            "(groups DPO and Auditors).\n",
            status=403,
            content_type="text/plain",
        )
    fmt = request.GET.get("format", "jsonl")
    if fmt not in FORMATS:
        return _bad(f"format must be one of: {', '.join(FORMATS)}.")
    after_id = parse_bounded_int(
        request.GET.get("after_id"), default=0, minimum=0, maximum=BIGINT_MAX
    )
    if after_id is None:
        return _bad(f"after_id must be 0 or more, in whole numbers up to {BIGINT_MAX}.")
    limit = parse_bounded_int(
        request.GET.get("limit"), default=FEED_DEFAULT_LIMIT, minimum=1, maximum=FEED_MAX_LIMIT
    )
    if limit is None:
        return _bad(f"limit must be between 1 and {FEED_MAX_LIMIT}, in whole numbers.")
    try:
        since = parse_moment(request.GET["since"], name="since") if "since" in request.GET else None
        until = parse_moment(request.GET["until"], name="until") if "until" in request.GET else None
        window = audit_export_window(since=since, until=until, after_id=after_id, limit=limit)
    except ValueError as exc:
        return _bad(str(exc))
    response = StreamingHttpResponse(
        audit_export_chunks(window=window, fmt=fmt), content_type=CONTENT_TYPES[fmt]
    )
    has_more = audit_export_has_more(window=window)
    params: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k != "after_id"}
    params["after_id"] = str(window.next_cursor)
    response["X-Next-Cursor"] = str(window.next_cursor)
    response["X-Has-More"] = "true" if has_more else "false"
    response["Link"] = f'<{request.path}?{urlencode(params)}>; rel="next"'
    return response
