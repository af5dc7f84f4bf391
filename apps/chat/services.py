"""Slack messages to approvers, kept in step with the request they show; Slack users
matched to portal users.

- ``slack_messages_post``: each eligible approver of a pending request who has a Slack
  account gets one direct message (``chat.postMessage``); its ``channel`` and ``ts`` are
  kept (``SlackMessage``, one row per request and approver, locked while it is posted, so a
  message is posted once however many tasks run).
- ``slack_messages_update``: every message of a request shows what the request is now
  (``chat.update``), once per change (``SlackMessage.shown_state``), whatever channel the
  decision came from.
- ``slack_messages_sync_due``: beat's backstop for a lost task (docs/architecture.md,
  invariant 2): posts that failed or were never tried, messages of decided requests that
  still show buttons.
- ``slack_account_match``: the portal user a Slack user is, by a linked ``SlackAccount``, or
  by the verified email Slack gives (``users.info``) when ``SLACK_MATCH_BY_EMAIL`` is on.
- ``slack_delivery_claim`` / ``_done`` / ``_failed``: each interactive payload's durable
  state (being handled, done, failed), so Slack's retries act on a click exactly once and
  never lose it.

Slack being unreachable never blocks or undoes a decision: the error is kept on the row
(``last_error``) and the backstop tries again.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from slack_sdk.errors import SlackClientError

from apps.access.models import AccessRequest, RequestStatus
from apps.access.selectors import eligible_approvers_for, with_queue_columns
from apps.audit.services import audit_event_record
from jitportal.tasking import enqueue_on_commit
from jitportal.timekeeping import elapsed_add

from .blocks import request_message, shown_state
from .models import DeliveryState, LinkMethod, SlackAccount, SlackDelivery, SlackMessage
from .slack import slack_client, slack_enabled

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

#: The registered name of the task that posts and updates a request's messages (tasks.py).
TASK_REQUEST_SYNC = "chat.request_sync"
#: A request with no message this long after it was made was missed (a lost task): the
#: backstop posts it. Older ones are left alone (their approvers had the email notice).
MISSED_WITHIN = timedelta(minutes=30)
#: How long a payload's digest is kept (Slack's signature is valid five minutes).
DELIVERY_MEMORY = timedelta(days=1)
#: A delivery being handled for longer than this was abandoned (its web worker died: gunicorn
#: restarts a worker after GUNICORN_TIMEOUT, 60 s by default): the next retry acts on it.
HANDLING_LEASE = timedelta(seconds=120)


def slack_request_sync_queue(*, request_id: int) -> None:
    """Queue the posting and updating of ``request_id``'s messages for after commit."""
    if slack_enabled():
        enqueue_on_commit(TASK_REQUEST_SYNC, request_id)


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    code = response.get("error") if response is not None else ""
    return f"{type(exc).__name__}: {code or exc}"[:500]


def request_holds_special(request_id: int) -> bool:
    """Whether the request touches special-category data (GDPR Art. 9/10): as the approver's
    queue computes it (``selectors.with_queue_columns``)."""
    row = with_queue_columns(AccessRequest.objects.filter(pk=request_id)).first()
    return bool(getattr(row, "holds_special", False))


def _load(request_id: int) -> AccessRequest | None:
    return (
        AccessRequest.objects.select_related(
            "requester", "role", "asset", "processing_activity", "decided_by"
        )
        .filter(pk=request_id)
        .first()
    )


def _render(
    request: AccessRequest, approver_id: int, *, special: bool
) -> tuple[str, str, list[dict[str, Any]]]:
    decided = request.approvals.filter(approver_id=approver_id).exists()
    # The organisation's language: the portal knows no language of a Slack user.
    with translation.override(settings.LANGUAGE_CODE):
        text, blocks = request_message(request, special=special, approver_decided=decided)
    return shown_state(request, approver_decided=decided), text, blocks


def _slack_id_by_email(user: User) -> str:
    """The Slack id of ``user`` found by their email (``users.lookupByEmail``), linked for
    next time; '' when matching by email is off, Slack knows no such address or its owner
    has not confirmed it."""
    if not settings.SLACK_MATCH_BY_EMAIL or not user.email:
        return ""
    try:
        found = slack_client().users_lookupByEmail(email=user.email).get("user")
    except SlackClientError as exc:
        logger.info("no Slack user for %s: %s", user.get_username(), _error_text(exc))
        return ""
    linked = _link_by_email(user=user, slack_user=found)
    return linked.slack_user_id if linked else ""


def _recipients(request: AccessRequest) -> list[tuple[User, str]]:
    approvers = list(eligible_approvers_for(request))
    linked = dict(
        SlackAccount.objects.filter(user__in=approvers).values_list("user_id", "slack_user_id")
    )
    out = []
    for user in approvers:
        slack_id = linked.get(user.pk) or _slack_id_by_email(user)
        if slack_id:
            out.append((user, slack_id))
    return out


def slack_messages_post(*, request_id: int) -> int:
    """Send a pending request to each of its eligible approvers who has a Slack account, once
    per approver. Returns the number of messages posted now (0 when Slack is off, the request
    is no longer pending, or everyone has theirs)."""
    if not slack_enabled():
        return 0
    request = _load(request_id)
    if request is None or request.status != RequestStatus.PENDING:
        return 0
    special = request_holds_special(request_id)
    posted = 0
    for approver, slack_id in _recipients(request):
        # get_or_create survives another worker creating it this instant (unique row).
        SlackMessage.objects.get_or_create(
            request=request, approver=approver, defaults={"slack_user_id": slack_id}
        )
        with transaction.atomic(durable=True):
            message = SlackMessage.objects.select_for_update().get(
                request=request, approver=approver
            )
            if message.ts:
                continue
            state, text, blocks = _render(request, approver.pk, special=special)
            try:
                answer = slack_client().chat_postMessage(channel=slack_id, text=text, blocks=blocks)
            except SlackClientError as exc:
                message.last_error = _error_text(exc)
                message.save(update_fields=["last_error", "updated_at"])
                logger.warning("Slack message for request %s not sent: %s", request_id, exc)
                continue
            ts, channel = answer.get("ts"), answer.get("channel") or slack_id
            if not isinstance(ts, str) or not ts or not isinstance(channel, str):
                # Not the shape of Slack's answer: kept as not sent, retried by the backstop.
                message.last_error = "chat.postMessage answered without a message ts/channel"
                message.save(update_fields=["last_error", "updated_at"])
                logger.warning("Slack message for request %s: malformed answer", request_id)
                continue
            message.slack_user_id = slack_id
            message.channel = channel
            message.ts = ts
            message.shown_state = state
            message.last_error = ""
            message.save(
                update_fields=[
                    "slack_user_id",
                    "channel",
                    "ts",
                    "shown_state",
                    "last_error",
                    "updated_at",
                ]
            )
            posted += 1
    return posted


def slack_messages_update(*, request_id: int) -> int:
    """Show every approver's message of ``request_id`` as the request is now (the outcome,
    or who has approved so far), with ``chat.update``; a message already showing it is left
    alone. Returns the number updated."""
    if not slack_enabled():
        return 0
    request = _load(request_id)
    if request is None:
        return 0
    special = request_holds_special(request_id)
    updated = 0
    ids = list(
        SlackMessage.objects.filter(request_id=request_id)
        .exclude(ts="")
        .values_list("pk", flat=True)
    )
    for message_id in ids:
        with transaction.atomic(durable=True):
            message = SlackMessage.objects.select_for_update().get(pk=message_id)
            request.refresh_from_db()
            state, text, blocks = _render(request, message.approver_id, special=special)
            if state == message.shown_state:
                continue
            try:
                slack_client().chat_update(
                    channel=message.channel, ts=message.ts, text=text, blocks=blocks
                )
            except SlackClientError as exc:
                message.last_error = _error_text(exc)
                message.save(update_fields=["last_error", "updated_at"])
                logger.warning("Slack message %s not updated: %s", message.pk, exc)
                continue
            message.shown_state = state
            message.last_error = ""
            message.save(update_fields=["shown_state", "last_error", "updated_at"])
            updated += 1
    return updated


def slack_messages_sync_due(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Beat's backstop: post what a lost task did not (a failed post, or a request of the
    last ``MISSED_WITHIN`` with no message at all) and update the messages of decided
    requests that still show their buttons, and of pending ones approved by someone since. At most ``limit`` requests each. Returns counts."""
    if not slack_enabled():
        return {"posted": 0, "updated": 0}
    now = now or timezone.now()
    pending = AccessRequest.objects.filter(status=RequestStatus.PENDING)
    to_post = list(
        pending.filter(
            Q(slack_messages__ts="")
            | Q(slack_messages=None, created_at__gte=elapsed_add(now, -MISSED_WITHIN))
        )
        .distinct()
        .values_list("pk", flat=True)[:limit]
    )
    shown = SlackMessage.objects.exclude(ts="")
    decided = shown.exclude(request__status=RequestStatus.PENDING).exclude(
        shown_state=F("request__status")
    )
    # A pending request approved by someone since its message was written (N-of-M, decided
    # on the portal: no notice is written for a partial approval).
    approved_since = shown.filter(
        request__status=RequestStatus.PENDING,
        request__approvals__created_at__gt=F("updated_at"),
    )
    to_update = list(
        (decided | approved_since)
        .order_by("request_id")
        .values_list("request_id", flat=True)
        .distinct()[:limit]
    )
    posted = sum(slack_messages_post(request_id=pk) for pk in to_post)
    updated = sum(slack_messages_update(request_id=pk) for pk in to_update)
    return {"posted": posted, "updated": updated}


# --- who is who ---------------------------------------------------------------------------


def _slack_user_email(slack_user: Any) -> tuple[str, str]:
    """``(id, email)`` of a Slack user object (users.info, users.lookupByEmail) that is a
    person with a confirmed email; ``("", "")`` for anything else, including an object whose
    fields have another JSON type than Slack's reference gives."""
    if not isinstance(slack_user, dict):
        return "", ""
    slack_id, profile = slack_user.get("id"), slack_user.get("profile")
    email = profile.get("email") if isinstance(profile, dict) else None
    if (
        not isinstance(slack_id, str)
        or not isinstance(email, str)
        or slack_user.get("deleted", False) is not False
        or slack_user.get("is_bot", False) is not False
        or slack_user.get("is_email_confirmed") is not True
    ):
        return "", ""
    return slack_id, email


def _link_by_email(*, user: User, slack_user: Any) -> SlackAccount | None:
    """Link ``user`` to ``slack_user`` (a Slack user object) when Slack says its email is
    confirmed and it is ``user``'s; None otherwise or when either is linked elsewhere."""
    slack_id, email = _slack_user_email(slack_user)
    if not slack_id or not email or email.casefold() != (user.email or "").casefold():
        return None
    with transaction.atomic():
        if SlackAccount.objects.filter(Q(user=user) | Q(slack_user_id=slack_id)).exists():
            return SlackAccount.objects.filter(user=user, slack_user_id=slack_id).first()
        account = SlackAccount.objects.create(
            user=user, slack_user_id=slack_id, method=LinkMethod.EMAIL
        )
        audit_event_record(
            action="chat.slack_account.linked",
            actor_label="system:slack",
            target=user,
            data={"slack_user_id": slack_id, "method": LinkMethod.EMAIL},
        )
    return account


def slack_account_match(*, slack_user_id: str) -> User | None:
    """The active portal user Slack user ``slack_user_id`` is: the linked account, else (when
    ``SLACK_MATCH_BY_EMAIL`` is on) the one active user whose email is the confirmed email
    ``users.info`` gives, linked for next time. None when there is no such user."""
    account = (
        SlackAccount.objects.select_related("user").filter(slack_user_id=slack_user_id).first()
    )
    if account is not None:
        return account.user if account.user.is_active else None
    if not settings.SLACK_MATCH_BY_EMAIL or not slack_enabled():
        return None
    try:
        found = slack_client().users_info(user=slack_user_id).get("user")
    except SlackClientError as exc:
        logger.info("Slack user %s not found: %s", slack_user_id, _error_text(exc))
        return None
    _slack_id, email = _slack_user_email(found)
    candidates = list(
        get_user_model().objects.filter(is_active=True, email__iexact=email)[:2] if email else []
    )
    if len(candidates) != 1:
        return None
    with transaction.atomic(durable=True):
        linked = _link_by_email(user=candidates[0], slack_user=found)
    return linked.user if linked else None


def slack_delivery_claim(*, body: bytes) -> tuple[SlackDelivery, bool]:
    """Take the verified interactive payload ``body`` (raw bytes) to act on it, by the
    SHA-256 of the body (``SlackDelivery``, unique); returns ``(delivery, claimed)``.

    ``claimed`` is True when the caller is to act on it now: the body is new, its last
    attempt ``failed``, or it has been ``handling`` for longer than ``HANDLING_LEASE`` (the
    worker died). Otherwise (being handled elsewhere, or done) it is False and the caller
    only acknowledges it: Slack's retry (``X-Slack-Retry-Num``) or a replay is acted on at
    most once at a time and never after it is done. Two workers claiming the same body at
    once are ordered by the unique digest and the row lock: exactly one gets True.
    Deliveries older than ``DELIVERY_MEMORY`` are forgotten (the signature refuses them).
    Raises django.db.DatabaseError when the database does not answer."""
    digest = hashlib.sha256(body).hexdigest()
    now = timezone.now()
    with transaction.atomic(durable=True):
        SlackDelivery.objects.filter(received_at__lt=elapsed_add(now, -DELIVERY_MEMORY)).delete()
        delivery, created = SlackDelivery.objects.get_or_create(
            digest=digest, defaults={"state": DeliveryState.HANDLING}
        )
        if created:
            return delivery, True
        delivery = SlackDelivery.objects.select_for_update().get(pk=delivery.pk)
        lapsed = delivery.state == DeliveryState.HANDLING and (
            delivery.updated_at < elapsed_add(now, -HANDLING_LEASE)
        )
        if delivery.state != DeliveryState.FAILED and not lapsed:
            return delivery, False
        delivery.state = DeliveryState.HANDLING
        delivery.attempts = F("attempts") + 1
        delivery.save(update_fields=["state", "attempts", "updated_at"])
        delivery.refresh_from_db(fields=["attempts"])
    return delivery, True


def slack_delivery_done(*, delivery_id: int, answer: dict[str, Any] | None) -> None:
    """Mark a claimed delivery done; ``answer`` (the JSON body answered, or None) is answered
    again to a retry of it."""
    SlackDelivery.objects.filter(pk=delivery_id).update(
        state=DeliveryState.DONE, answer=answer, last_error="", updated_at=timezone.now()
    )


def slack_delivery_failed(*, delivery_id: int, error: str) -> None:
    """Mark a claimed delivery failed (``error``: what failed, kept on the row, cut to 200
    characters): the next retry of the same body is acted on again."""
    SlackDelivery.objects.filter(pk=delivery_id).update(
        state=DeliveryState.FAILED, last_error=error[:200], updated_at=timezone.now()
    )
