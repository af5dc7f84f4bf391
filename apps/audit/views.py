"""The audit-trail feed a SIEM polls: JSON Lines after a cursor, next cursor in a header."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.integrations.services import TokenRefused, integration_token_authenticate
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
# The integration-token scope the feed needs (registered in AuditConfig.ready).
FEED_SCOPE = "audit"


_REALM = "jitportal audit feed"


def _challenge(status: int, message: str, error: str = "") -> HttpResponse:
    """401/403 with an RFC 6750 section 3 ``WWW-Authenticate: Bearer`` challenge; the message
    in the reader's language."""
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    params = f'realm="{_REALM}", scope="{FEED_SCOPE}"'
    if error:
        params += f', error="{error}"'
    response["WWW-Authenticate"] = f"Bearer {params}"
    return response


def _feed_user(request: HttpRequest) -> tuple[Any, HttpResponse | None]:
    """The user the feed acts for: the session's, else the owner of a Bearer token.

    HTTP Basic (a person's password) is refused with a message naming the token: passwords
    are for people, tokens for machines (issue one with ``integration_token_create``).
    """
    if request.user.is_authenticated:
        return request.user, None
    scheme, _sep, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        try:
            token = integration_token_authenticate(raw=credentials, scope=FEED_SCOPE)
        except TokenRefused as refused:
            status = 403 if refused.error == "insufficient_scope" else 401
            return None, _challenge(
                status,
                _("Refused: %(reason)s") % {"reason": refused.message},
                refused.error,
            )
        return token.owner, None
    if scheme.lower() == "basic":
        return None, _challenge(
            401,
            _(
                "HTTP Basic with a password is not accepted here: send an integration token "
                "with the “%(scope)s” scope as 'Authorization: Bearer <token>' "
                "(see docs/audit.md)."
            )
            % {"scope": FEED_SCOPE},
        )
    return None, _challenge(
        401,
        _(
            "Authentication required: send an integration token with the “%(scope)s” scope "
            "as 'Authorization: Bearer <token>'."
        )
        % {"scope": FEED_SCOPE},
    )


def _bad(message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")


@never_cache
@require_GET
def audit_feed(request: HttpRequest) -> HttpResponseBase:
    """GET ?after_id=N&limit=M[&since=&until=&format=jsonl|csv] (session or Bearer token)."""
    user, refusal = _feed_user(request)
    if refusal is not None:
        return refusal
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
