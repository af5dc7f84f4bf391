"""Slack's interactive endpoint (Interactivity & Shortcuts, Request URL).

Order matters: the signature is checked over the raw body before anything parses it;
then the payload is parsed and its shape checked (payloads.py: a malformed payload is a 400
and changes nothing); then its workspace is checked against ``SLACK_TEAM_ID`` (another one
is told so and changes nothing); then the body is claimed by its digest
(services.slack_delivery_claim: a retry or a replay of a body being handled or done is
acknowledged and not acted on again); then it is acted on (interactions.py) and the delivery
marked done. When acting fails (a database error, no bot token for the deny modal) the
delivery is marked failed and the clicker told what failed, so Slack's retry, or the same
click again, is acted on.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.db import DatabaseError
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

from .interactions import (
    InteractionUnfinished,
    foreign_team_refuse,
    interaction_failed_tell,
    interaction_handle,
)
from .models import DeliveryState
from .payloads import PayloadShapeError, payload_shape_check
from .services import slack_delivery_claim, slack_delivery_done, slack_delivery_failed
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
        logger.warning("Slack interaction refused: the body is no form with a JSON payload")
        return HttpResponseBadRequest()
    with translation.override(settings.LANGUAGE_CODE):
        # The organisation's language: the portal knows no language of a Slack user.
        if foreign_team_refuse(payload):
            return HttpResponse(status=200)
        return _act(request, body, payload)


def _act(request: HttpRequest, body: bytes, payload: dict[str, Any]) -> HttpResponse:
    retry = request.headers.get("X-Slack-Retry-Num", "-")[:8]
    try:
        delivery, claimed = slack_delivery_claim(body=body)
    except DatabaseError as exc:
        logger.exception("Slack interaction not claimed (retry %s)", retry)
        interaction_failed_tell(payload, exc)
        return HttpResponse(status=503)
    if not claimed:
        # Being handled by another request (Slack's retry of a slow one), or done.
        logger.info("Slack interaction %s already (retry %s)", delivery.state, retry)
        if delivery.state == DeliveryState.DONE and delivery.answer:
            return JsonResponse(delivery.answer)
        return HttpResponse(status=200)
    try:
        answer = interaction_handle(payload)
    except InteractionUnfinished:
        _failed(delivery.pk, "not finished: no Slack bot token")  # the clicker has been told
        return HttpResponse(status=200)
    except Exception as exc:
        # Not acted on: marked failed, so that Slack's retry (or the same click) is; the
        # clicker is told; an error answer, so that Slack retries if it still waits.
        logger.exception("Slack interaction failed (attempt %s)", delivery.attempts)
        _failed(delivery.pk, f"{type(exc).__name__}: {exc}")
        interaction_failed_tell(payload, exc)
        return HttpResponse(status=503)
    try:
        slack_delivery_done(delivery_id=delivery.pk, answer=answer)
    except DatabaseError:
        # Acted on; the delivery stays "handling" until its lease lapses, and a retry after
        # that is refused by the decision services as already decided.
        logger.exception("Slack interaction acted on but not marked done")
    return JsonResponse(answer) if answer else HttpResponse(status=200)


def _failed(delivery_id: int, error: str) -> None:
    try:
        slack_delivery_failed(delivery_id=delivery_id, error=error)
    except DatabaseError:
        # Left "handling": a retry after services.HANDLING_LEASE acts on it.
        logger.exception("Slack delivery %s not marked failed", delivery_id)
