"""What a click in Slack does: Approve, Deny (the modal asking why) and the modal's
submission, each decided by the access services with ``channel="slack"``.

Called by the endpoint (views.py) once Slack's signature over the raw body is checked. A
refusal (own request, not eligible, already decided, lapsed, not linked) goes to the clicker
only: through the payload's ``response_url`` (an ephemeral reply) or, for a modal, with
``chat.postEphemeral``. An approval that needs a fresh second factor (Art. 9/10 data,
break-glass) is not taken here: the reply is a button to the portal's decision page.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
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
    REASON_BLOCK,
    REASON_INPUT,
    VIEW_DENY,
    deny_modal,
    esc,
    portal_link_reply,
)
from .services import request_holds_special, slack_account_match, slack_request_sync_queue
from .slack import slack_client

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

#: What the endpoint answers Slack: a JSON body (a modal's errors) or nothing (HTTP 200).
Answer = dict[str, Any] | None


def _service_error_text(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc) or _("You may not decide this request.")


def _reply(payload: dict[str, Any], text: str, blocks: list[dict[str, Any]] | None = None) -> None:
    """Say ``text`` to the person who clicked, and to nobody else."""
    url = payload.get("response_url") or ""
    try:
        if url:
            WebhookClient(url, timeout=int(settings.SLACK_TIMEOUT_SECONDS)).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
            return
        channel = _modal_metadata(payload).get("channel") or ""
        user = (payload.get("user") or {}).get("id") or ""
        if channel and user:
            slack_client().chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
    except (SlackClientError, OSError) as exc:
        logger.warning("Slack reply not delivered: %s", exc)


def _modal_metadata(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads((payload.get("view") or {}).get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


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
    slack_id = str((payload.get("user") or {}).get("id") or "")
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
    channel = str((payload.get("container") or {}).get("channel_id") or "")
    channel = channel or str((payload.get("channel") or {}).get("id") or "")
    try:
        slack_client().views_open(
            trigger_id=str(payload.get("trigger_id") or ""),
            view=deny_modal(request=request, channel=channel),
        )
    except SlackClientError as exc:
        logger.warning("Slack deny modal not opened: %s", exc)
        _reply(payload, esc(_("Slack did not open the form; deny the request on the portal.")))


def block_actions(payload: dict[str, Any]) -> Answer:
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    action_id = action.get("action_id")
    if action_id not in {ACTION_APPROVE, ACTION_DENY}:
        return None  # the portal link button, or something this app never sent
    user = _portal_user(payload)
    if user is None:
        return None
    request = _request(payload, action.get("value"))
    if request is None:
        return None
    if action_id == ACTION_APPROVE:
        _approve(payload, user, request)
    else:
        _open_deny_modal(payload, user, request)
    return None


def deny_submission(payload: dict[str, Any]) -> Answer:
    view = payload.get("view") or {}
    if view.get("callback_id") != VIEW_DENY:
        return None
    user = _portal_user(payload)
    if user is None:
        return None
    request = _request(payload, _modal_metadata(payload).get("request"))
    if request is None:
        return None
    values = (view.get("state") or {}).get("values") or {}
    reason = str(((values.get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}).get("value") or "")
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
    """Act on one interactive payload (already verified); returns the JSON body to answer
    with, if any."""
    kind = payload.get("type")
    if kind == "block_actions":
        return block_actions(payload)
    if kind == "view_submission":
        return deny_submission(payload)
    return None
