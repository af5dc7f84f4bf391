"""The delivery core: put a payload in the outbox, send it signed, retry it with backoff.

This is what every sender of signed webhooks uses (the event subscriptions of this app and
the webhook connector): ``webhook_delivery_create`` writes a ``WebhookDelivery`` in the
caller's transaction (the transactional outbox) and queues the ``webhooks.delivery_send``
task for after commit; beat's ``webhooks.deliveries_send_due`` sends whatever a lost message
or a failed try left waiting, so a broker outage delays deliveries and loses none.

Delivery is at least once. A sender claims the row with ``SELECT … FOR UPDATE SKIP LOCKED``
while it is waiting and due, and records the outcome in the same transaction, so a second
task (a duplicate message, the sweep, a re-send) skips a row being sent and finds a
delivered one no longer waiting: one try at a time, and none after success. If the process
dies after the endpoint answered but before the commit, the row is still waiting and is sent
again later: receivers deduplicate by the event id / ``Idempotency-Key`` header, which never
change across tries and re-sends (docs/webhooks.md).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record
from jitportal.tasking import enqueue_on_commit
from jitportal.timekeeping import as_utc, elapsed_add

from ..crypto import SecretUnreadable, webhook_secret_decrypt
from ..models import DeliveryError, DeliveryStatus, WebhookDelivery, WebhookSubscription
from ..signals import webhook_delivery_settled
from ..signing import webhook_headers
from ..targets import webhook_target_check
from ..transport import webhook_post

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

#: Registered task names (apps/webhooks/tasks.py); services queue by name.
TASK_SEND = "webhooks.delivery_send"
TASK_SEND_DUE = "webhooks.deliveries_send_due"

DELIVERED = "delivered"
RETRY = "retry"
GAVE_UP = "gave_up"
SKIPPED = "skipped"

_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
#: More new deliveries than this in one transaction: one sweep task instead of one each.
_QUEUE_EACH_UP_TO = 20


def _conf(name: str) -> int:
    return int(settings.WEBHOOKS[name])


def webhook_retry_delay(tries: int) -> timedelta:
    """The wait after ``tries`` failed tries: ``RETRY_SECONDS`` doubled per try, at most
    ``RETRY_MAX_SECONDS`` (exponential backoff)."""
    base, cap = _conf("RETRY_SECONDS"), _conf("RETRY_MAX_SECONDS")
    return timedelta(seconds=min(cap, base * 2 ** max(tries - 1, 0)))


def webhook_body(
    *, event_id: uuid.UUID, event_type: str, occurred_at: datetime, data: dict[str, Any]
) -> str:
    """The JSON text of a delivery: ``{"id", "type", "time", "data"}`` with sorted keys,
    ``time`` in ISO 8601 UTC. Stored as sent, so every try carries the same bytes."""
    payload = {
        "id": str(event_id),
        "type": event_type,
        "time": as_utc(occurred_at).isoformat(),
        "data": data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))


def webhook_delivery_create(
    *,
    subscription_id: int,
    event_type: str,
    data: dict[str, Any],
    idempotency_key: str,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> WebhookDelivery:
    """Put one payload for one subscription in the outbox and queue its send after commit.

    Call it inside the transaction of what the payload reports, so both commit or neither.
    ``event_type``: a dotted lowercase code (``grant.provision``); ``data``: JSON-serialisable
    (no personal values beyond what the audit trail keeps); ``idempotency_key``: 1-200
    printable ASCII characters, unique per subscription: a second call with the same key
    returns the delivery the first one made and writes nothing (so a retried caller never
    sends twice). ``event_id``: the id receivers see (default: a new UUID 4).

    Raises ValidationError for an unknown subscription, a malformed type or key.
    """
    if not _EVENT_TYPE.match(event_type or "") or len(event_type) > 64:
        raise ValidationError(_("“%(type)s” is not an event type.") % {"type": event_type})
    if not _KEY.match(idempotency_key or ""):
        raise ValidationError(_("The idempotency key must be 1 to 200 printable characters."))
    existing = WebhookDelivery.objects.filter(
        subscription_id=subscription_id, idempotency_key=idempotency_key
    ).first()
    if existing is not None:
        return existing
    if not WebhookSubscription.objects.filter(pk=subscription_id).exists():
        raise ValidationError(
            _("Webhook subscription #%(number)s does not exist.") % {"number": subscription_id}
        )
    now = timezone.now()
    event_id = event_id or uuid.uuid4()
    # get_or_create: a concurrent caller with the same key gets this row (unique key).
    delivery, created = WebhookDelivery.objects.get_or_create(
        subscription_id=subscription_id,
        idempotency_key=idempotency_key,
        defaults={
            "event_id": event_id,
            "event_type": event_type,
            "body": webhook_body(
                event_id=event_id,
                event_type=event_type,
                occurred_at=occurred_at or now,
                data=data,
            ),
            "created_at": now,
            "next_try_at": now,
        },
    )
    if created:
        enqueue_on_commit(TASK_SEND, delivery.pk)
    return delivery


def _deliveries_create_bulk(deliveries: list[WebhookDelivery]) -> None:
    """Insert new deliveries (keys known to be new) and queue their sends after commit."""
    if not deliveries:
        return
    made = WebhookDelivery.objects.bulk_create(deliveries)
    if len(made) <= _QUEUE_EACH_UP_TO and all(d.pk for d in made):
        for delivery in made:
            enqueue_on_commit(TASK_SEND, delivery.pk)
    else:
        enqueue_on_commit(TASK_SEND_DUE)


def _record(
    delivery: WebhookDelivery, now: datetime, *, status: int | None, excerpt: str, error: str
) -> str:
    delivery.tries += 1
    delivery.last_tried_at = now
    delivery.response_code = status
    delivery.response_excerpt = excerpt
    if not error:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_try_at = None
        delivery.error = ""
        outcome = DELIVERED
    else:
        delivery.error = error
        if delivery.tries >= _conf("MAX_TRIES"):
            delivery.status = DeliveryStatus.FAILED
            delivery.next_try_at = None
            outcome = GAVE_UP
            logger.error(
                "webhook delivery %s (%s) given up after %s tries: %s %s",
                delivery.pk,
                delivery.event_type,
                delivery.tries,
                error,
                status,
            )
        else:
            delivery.next_try_at = elapsed_add(now, webhook_retry_delay(delivery.tries))
            outcome = RETRY
            logger.warning(
                "webhook delivery %s (%s) try %s failed: %s %s",
                delivery.pk,
                delivery.event_type,
                delivery.tries,
                error,
                status,
            )
    delivery.save(
        update_fields=[
            "tries",
            "last_tried_at",
            "response_code",
            "response_excerpt",
            "status",
            "delivered_at",
            "next_try_at",
            "error",
        ]
    )
    if outcome != RETRY:
        webhook_delivery_settled.send(sender=WebhookDelivery, delivery=delivery, outcome=outcome)
    return outcome


def _attempt(delivery: WebhookDelivery, now: datetime) -> str:
    """One try of a claimed delivery; the caller holds its row lock."""
    subscription = delivery.subscription
    try:
        secret = webhook_secret_decrypt(subscription.secret_encrypted)
    except SecretUnreadable:
        return _record(delivery, now, status=None, excerpt="", error=DeliveryError.SECRET)
    try:
        target = webhook_target_check(subscription.url)
    except ValidationError:
        return _record(delivery, now, status=None, excerpt="", error=DeliveryError.TARGET_REFUSED)
    body = delivery.body.encode()
    headers = webhook_headers(
        secret=secret,
        body=body,
        event_id=str(delivery.event_id),
        event_type=delivery.event_type,
        idempotency_key=delivery.idempotency_key,
    )
    answer = webhook_post(
        target=target, body=body, headers=headers, timeout=float(subscription.timeout_seconds)
    )
    error = answer.error
    if not error and not (answer.status is not None and 200 <= answer.status < 300):
        error = DeliveryError.HTTP_STATUS
    return _record(delivery, now, status=answer.status, excerpt=answer.excerpt, error=error)


def _claim(now: datetime, **filters: Any) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("subscription")
        .filter(
            status=DeliveryStatus.PENDING,
            next_try_at__lte=now,
            subscription__active=True,
            **filters,
        )
        .order_by("pk")
        .first()
    )


def webhook_delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """Try one delivery if it is waiting, due, its subscription active and nobody else is
    sending it. Returns "delivered", "retry" (failed; ``next_try_at`` set by backoff),
    "gave_up" (``MAX_TRIES`` reached) or "skipped" (not due, done, or claimed elsewhere)."""
    with transaction.atomic(durable=True):
        moment = now or timezone.now()
        delivery = _claim(moment, pk=delivery_id)
        if delivery is None:
            return SKIPPED
        return _attempt(delivery, moment)


def webhook_deliveries_send_due(
    *, now: datetime | None = None, limit: int | None = None
) -> dict[str, int]:
    """Send every waiting delivery whose ``next_try_at`` has come (beat's sweep), one
    transaction each, skipping rows other workers hold. Stops after ``limit`` tries (default
    200) or after twice ``SWEEP_EVERY_SECONDS`` of work, whichever comes first, so that slow
    endpoints cannot keep one sweep going for long: the next sweep goes on where it stopped.
    Returns counts by outcome."""
    counts = {DELIVERED: 0, RETRY: 0, GAVE_UP: 0}
    after = 0
    stop_at = time.monotonic() + 2 * _conf("SWEEP_EVERY_SECONDS")
    for _number in range(limit or 200):
        if time.monotonic() >= stop_at:
            break
        with transaction.atomic(durable=True):
            moment = now or timezone.now()
            delivery = _claim(moment, pk__gt=after)
            if delivery is None:
                break
            after = delivery.pk
            counts[_attempt(delivery, moment)] += 1
    return counts


def webhook_deliveries_resend(*, delivery_ids: Iterable[int], actor: User) -> list[WebhookDelivery]:
    """Send deliveries again now, delivered or given up alike, with a fresh count of tries.

    The body, the event id and the idempotency key stay those of the first try, so a receiver
    that already has the event recognises it. Each re-send is an audit event
    (``webhooks.delivery.resent``). Raises PermissionDenied for a user without
    ``webhooks.resend_webhookdelivery``.
    """
    if not actor.is_active or not actor.has_perm("webhooks.resend_webhookdelivery"):
        raise PermissionDenied(_("You may not re-send webhook deliveries."))
    now = timezone.now()
    queued = []
    with transaction.atomic(durable=True):
        rows = WebhookDelivery.objects.select_for_update().filter(pk__in=list(delivery_ids))
        for delivery in rows.order_by("pk"):
            delivery.status = DeliveryStatus.PENDING
            delivery.tries = 0
            delivery.next_try_at = now
            delivery.save(update_fields=["status", "tries", "next_try_at"])
            audit_event_record(
                action="webhooks.delivery.resent",
                actor=actor,
                target=delivery,
                data={
                    "subscription": delivery.subscription_id,
                    "event_id": str(delivery.event_id),
                    "event_type": delivery.event_type,
                },
            )
            enqueue_on_commit(TASK_SEND, delivery.pk)
            queued.append(delivery)
    return queued
