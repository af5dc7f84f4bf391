"""Slack's interactive endpoint (Interactivity & Shortcuts, Request URL).

Order matters: the signature is checked over the raw body before anything parses it;
then the payload is parsed and its shape checked (payloads.py: a malformed payload is a 400
and changes nothing); then the body is remembered by its digest (a retry or a replay is
answered and ignored); then it is acted on (interactions.py). When acting fails (a database
error, no bot token for the deny modal) the digest is forgotten again, so Slack's retry is
acted on instead of being ignored.
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

from .interactions import InteractionUnfinished, interaction_handle
from .payloads import PayloadShapeError, payload_shape_check
from .services import slack_delivery_forget, slack_delivery_record
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
    try:
        raw = parse_qs(body.decode("utf-8"), strict_parsing=True).get("payload", [""])[0]
        payload = json.loads(raw)
        payload_shape_check(payload)
    except PayloadShapeError as exc:
        logger.warning("Slack interaction refused: malformed payload (%s)", exc)
        return HttpResponseBadRequest()
    except (UnicodeDecodeError, ValueError):
        return HttpResponseBadRequest()
    if not slack_delivery_record(body=body):
        logger.info(
            "Slack interaction already handled (retry %s)",
            request.headers.get("X-Slack-Retry-Num", "-"),
        )
        return HttpResponse(status=200)
    try:
        # The organisation's language: the portal knows no language of a Slack user.
        with translation.override(settings.LANGUAGE_CODE):
            answer = interaction_handle(payload)
    except InteractionUnfinished:
        slack_delivery_forget(body=body)  # the clicker has been told why
        return HttpResponse(status=200)
    except Exception:
        # Not acted on: forget the body so that Slack's retry is, and answer an error so
        # that Slack retries.
        logger.exception("Slack interaction failed; Slack's retry will be acted on")
        slack_delivery_forget(body=body)
        return HttpResponse(status=503)
    return JsonResponse(answer) if answer else HttpResponse(status=200)
