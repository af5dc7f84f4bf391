"""Slack's interactive endpoint (Interactivity & Shortcuts, Request URL).

Order matters: the signature is checked over the raw body before anything parses it;
then the body is remembered by its digest (a retry or a replay is answered and ignored);
then it is parsed and acted on (interactions.py).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    RawPostDataException,
)
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .interactions import interaction_handle
from .services import slack_delivery_record
from .slack import slack_signature_valid

logger = logging.getLogger(__name__)


@csrf_exempt  # Slack cannot send a CSRF token; its signature stands in for it.
@require_POST
def slack_interactions(request: HttpRequest) -> HttpResponse:
    try:
        # The exact bytes Slack signed. (The site-wide NUL check may have looked at the
        # fields of a URL-encoded body first; Django keeps its bytes as they came. A multipart
        # body, which Slack never sends, is consumed by that check: refused.)
        body = request.body
    except RawPostDataException:
        return HttpResponseBadRequest()
    if not slack_signature_valid(body=body, headers=request.headers):
        logger.warning("Slack interaction refused: bad or stale signature")
        return HttpResponse(status=401)
    if not slack_delivery_record(body=body):
        logger.info(
            "Slack interaction already handled (retry %s)",
            request.headers.get("X-Slack-Retry-Num", "-"),
        )
        return HttpResponse(status=200)
    try:
        raw = parse_qs(body.decode("utf-8"), strict_parsing=True).get("payload", [""])[0]
        payload = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return HttpResponseBadRequest()
    if not isinstance(payload, dict):
        return HttpResponseBadRequest()
    # The organisation's language: the portal knows no language of a Slack user.
    with translation.override(settings.LANGUAGE_CODE):
        answer = interaction_handle(payload)
    return JsonResponse(answer) if answer else HttpResponse(status=200)
