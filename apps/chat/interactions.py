"""What a click in Slack does: Approve, Deny (the modal asking why) and the modal's
submission, each decided by the access services with ``channel="slack"``.

Called by the endpoint (views.py) once Slack's signature over the raw body is checked. A
refusal (own request, not eligible, already decided, lapsed, not linked) goes to the clicker
only: through the payload's ``response_url`` (an ephemeral reply) or, for a modal, with
``chat.postEphemeral``. An approval that needs a fresh second factor (Art. 9/10 data,
break-glass) is not taken here: the reply is a button to the portal's decision page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _
from slack_sdk.errors import SlackClientError
from slack_sdk.webhook import WebhookClient

from apps.access import selectors
from apps.access.models import AccessRequest, RequestStatus
from apps.access.services import access_request_approve, access_request_deny
from jitportal.formats import datetime_display
from jitportal.inputs import parse_id

from .blocks import (
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_OPEN_PORTAL,
    REASON_BLOCK,
    REASON_INPUT,
    REASON_MAX,
    VIEW_DENY,
    deny_modal,
    esc,
    portal_link_reply,
)
from .payloads import PayloadShapeError, modal_metadata
from .services import request_holds_special, slack_account_match, slack_request_sync_queue
from .slack import slack_client

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

#: What the endpoint answers Slack: a JSON body (a modal's errors) or nothing (HTTP 200).
Answer = dict[str, Any] | None


class InteractionUnfinished(Exception):
    """The click was not acted on for a reason of the portal's (no bot token to open the
    modal); the clicker has been told. The endpoint marks the delivery failed, so Slack's
    retry or the same click again is acted on once the portal is able to."""


def _no_bot_token_text() -> str:
    return _(
        "The portal has no Slack bot token configured, so it cannot open the form here; "
        "deny the request on the portal."
    )


def _service_error_text(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc) or _("You may not decide this request.")


def _reply(payload: dict[str, Any], text: str, blocks: list[dict[str, Any]] | None = None) -> None:
    """Say ``text`` to the person who clicked, and to nobody else: through a button's
    ``response_url``, or with ``chat.postEphemeral`` in the deny modal's channel. A payload
    that names neither (another view, a field of another type) gets nothing said: logged."""
    kind = payload.get("type")
    url = payload.get("response_url") if kind == "block_actions" else ""
    try:
        if isinstance(url, str) and url:
            WebhookClient(url, timeout=int(settings.SLACK_TIMEOUT_SECONDS)).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
            return
        if kind != "view_submission":
            logger.info("Slack reply not delivered: a %.40r payload has no response_url", kind)
            return
        channel = modal_metadata(payload)["channel"]
        user = payload["user"]["id"]
        if channel and isinstance(user, str) and user:
            slack_client().chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
    except (SlackClientError, OSError) as exc:
        logger.warning("Slack reply not delivered: %s", exc)
    except ImproperlyConfigured as exc:  # no bot token: nobody to say it with
        logger.warning("Slack reply not delivered: %s", exc)
    except (PayloadShapeError, KeyError, TypeError) as exc:  # a view the portal never opened
        logger.warning("Slack reply not delivered: no channel to say it in (%s)", exc)


def _team_of(payload: dict[str, Any]) -> str:
    team = payload.get("team")
    team_id = team.get("id") if isinstance(team, dict) else None
    return team_id if isinstance(team_id, str) else ""


def foreign_team_refuse(payload: dict[str, Any]) -> bool:
    """Whether ``payload`` (signed, of a checked shape) comes from another Slack workspace
    than ``SLACK_TEAM_ID`` (its ``team.id``; a payload naming no team is from another one).
    When it does, the clicker is told and a warning logged, and nothing else is done; False,
    and nothing said, when the setting is empty (the signing secret is then the only guard).
    """
    expected = settings.SLACK_TEAM_ID
    team_id = _team_of(payload)
    if not expected or team_id == expected:
        return False
    user = payload.get("user")
    logger.warning(
        "Slack interaction refused: workspace %.40r is not SLACK_TEAM_ID %s (user %.40r, %.40r)",
        team_id,
        expected,
        user.get("id") if isinstance(user, dict) else None,
        payload.get("type"),
    )
    _reply(
        payload,
        esc(
            _(
                "This Slack workspace is not the one the access portal serves, so nothing was "
                "done. Decide the request in your organisation's workspace or on the portal."
            )
        ),
    )
    return True


def interaction_failed_tell(payload: dict[str, Any], exc: Exception) -> None:
    """Tell the clicker that acting on ``payload`` failed with ``exc`` (a database error or
    anything unexpected; the details are in the log, not in Slack) and what to do."""
    if isinstance(exc, DatabaseError):
        what = _("the portal's database did not answer in time")
    else:
        what = _("an unexpected error in the portal (it is logged)")
    _reply(
        payload,
        esc(
            _(
                "Your click could not be acted on: %(what)s. Click again in a moment, or "
                "decide on the portal."
            )
            % {"what": what}
        ),
    )


def refusal_before_deciding(request: AccessRequest, user: User) -> str:
    """Why ``user`` cannot decide ``request`` now ('' when they can): the refusals the
    portal's decision page gives, so a click that would fail fails before a modal opens."""
    if request.status != RequestStatus.PENDING:
        return _("This request is already %(state)s.") % {
            "state": request.get_status_display().lower()
        }
    if request.requester_id == user.pk:
        return _("Nobody can decide their own request.")
    if not selectors.decider_capacity(request=request, user=user):
        return _("You are not an approver for %(target)s.") % {"target": request.target_label}
    if request.approvals.filter(approver=user).exists():
        return _("You have already decided on this request; another approver has to decide now.")
    if (lapse := selectors.request_lapse_time(request)) <= timezone.now():
        return _("This request lapsed at %(time)s.") % {"time": datetime_display(lapse)}
    return ""


def _portal_user(payload: dict[str, Any]) -> User | None:
    slack_id = payload["user"]["id"]
    user = slack_account_match(slack_user_id=slack_id) if slack_id else None
    if user is None:
        _reply(
            payload,
            esc(
                _(
                    "Your Slack account is not linked to an active portal account, so nothing "
                    "was decided. Ask the DPO to link it (admin: Slack accounts)."
                )
            ),
        )
    return user


def _request(payload: dict[str, Any], raw_id: Any) -> AccessRequest | None:
    request_id = parse_id(raw_id)
    request = AccessRequest.objects.filter(pk=request_id).first() if request_id else None
    if request is None:
        _reply(payload, esc(_("This request no longer exists; nothing was changed.")))
    return request


def _approve(payload: dict[str, Any], user: User, request: AccessRequest) -> None:
    if request.is_break_glass or request_holds_special(request.pk):
        # The refusals any click gets come first: the portal link is only for someone who
        # could decide the request now (the link says the request holds such data).
        if why := refusal_before_deciding(request, user):
            _reply(payload, esc(why))
            return
        text, blocks = portal_link_reply(request.pk)
        _reply(payload, text, blocks)
        return
    try:
        access_request_approve(request_id=request.pk, approver=user, channel="slack")
    except (ValidationError, PermissionDenied) as exc:
        _reply(payload, esc(_service_error_text(exc)))
        slack_request_sync_queue(request_id=request.pk)  # a lapse found now is shown too
        return
    slack_request_sync_queue(request_id=request.pk)


def _open_deny_modal(payload: dict[str, Any], user: User, request: AccessRequest) -> None:
    if why := refusal_before_deciding(request, user):
        _reply(payload, esc(why))
        return
    channel = payload["container"]["channel_id"]
    try:
        client = slack_client()
    except ImproperlyConfigured as exc:
        logger.warning("Slack deny modal not opened: %s", exc)
        _reply(payload, esc(_no_bot_token_text()))
        raise InteractionUnfinished from exc
    try:
        client.views_open(
            trigger_id=payload["trigger_id"], view=deny_modal(request=request, channel=channel)
        )
    except SlackClientError as exc:
        logger.warning("Slack deny modal not opened: %s", exc)
        _reply(payload, esc(_("Slack did not open the form; deny the request on the portal.")))


def block_actions(payload: dict[str, Any]) -> Answer:
    """A button in the app's message (shape checked by payloads.payload_shape_check)."""
    action = payload["actions"][0]
    action_id = action["action_id"]
    if action_id == ACTION_OPEN_PORTAL:
        return None  # a link button: Slack opens the portal; Slack only expects a 200
    if action_id not in {ACTION_APPROVE, ACTION_DENY}:
        logger.warning("Slack interaction: unknown button %.60r; nothing done", action_id)
        _reply(payload, esc(_("The portal does not know this button, so nothing was done.")))
        return None
    user = _portal_user(payload)
    if user is None:
        return None
    request = _request(payload, action["value"])
    if request is None:
        return None
    if action_id == ACTION_APPROVE:
        _approve(payload, user, request)
    else:
        _open_deny_modal(payload, user, request)
    return None


def deny_submission(payload: dict[str, Any]) -> Answer:
    """The deny modal submitted (shape checked by payloads.payload_shape_check)."""
    view = payload["view"]
    if view["callback_id"] != VIEW_DENY:
        # A view the portal never opened: answered 200 (Slack closes it), nothing done.
        logger.warning("Slack interaction: unknown view %.60r; nothing done", view["callback_id"])
        return None
    user = _portal_user(payload)
    if user is None:
        return None
    request = _request(payload, modal_metadata(payload)["request"])
    if request is None:
        return None
    reason = view["state"]["values"][REASON_BLOCK][REASON_INPUT].get("value") or ""
    if len(reason) > REASON_MAX:  # the modal allows no more; only a forged payload has it
        text = _("Keep the reason to %(count)s characters.") % {"count": REASON_MAX}
        return {"response_action": "errors", "errors": {REASON_BLOCK: text}}
    try:
        access_request_deny(request_id=request.pk, approver=user, reason=reason, channel="slack")
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "reason" in exc.error_dict:
            # Shown under the field; the modal stays open to correct it.
            text = " ".join(str(m) for m in exc.message_dict["reason"])
            return {"response_action": "errors", "errors": {REASON_BLOCK: text}}
        _reply(payload, esc(_service_error_text(exc)))
    except PermissionDenied as exc:
        _reply(payload, esc(_service_error_text(exc)))
    slack_request_sync_queue(request_id=request.pk)
    return None


def interaction_handle(payload: dict[str, Any]) -> Answer:
    """Act on one interactive payload (signature verified, shape checked by
    payloads.payload_shape_check); returns the JSON body to answer with, if any.
    InteractionUnfinished when the portal could not act (the clicker has been told)."""
    kind = payload["type"]
    if kind == "block_actions":
        return block_actions(payload)
    if kind == "view_submission":
        return deny_submission(payload)
    # Shortcuts, view_closed, block_suggestion...: the app's manifest asks for none of them.
    logger.info("Slack interaction of type %.40r not handled; nothing done", kind)
    return None
