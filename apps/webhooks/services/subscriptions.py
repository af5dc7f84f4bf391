"""Subscriptions: where events go, which events, and the secret that signs them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from jitportal.inputs import checks_text, line_of, text_problem

from ..crypto import webhook_secret_encrypt, webhook_secret_generate, webhook_secret_hint
from ..events import webhook_events_from_audit
from ..models import EventType, WebhookDelivery, WebhookSubscription
from ..targets import webhook_target_check
from .deliveries import _deliveries_create_bulk, webhook_body

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TIMEOUT_MIN, TIMEOUT_MAX = 1, 30
_TEXT = {name: line_of(WebhookSubscription, name) for name in ("name", "url")}


def _clean(
    *, name: str, url: str, event_types: list[str], timeout_seconds: int, exclude: int | None
) -> tuple[str, str, list[str]]:
    """Checked values, or ValidationError with each problem under its field."""
    errors: dict[str, list[Any]] = {}
    name = (name or "").strip()
    url = (url or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("Give the subscription a name."))
    elif problem := text_problem(name, multiline=False, required=True):
        errors.setdefault("name", []).append(problem)
    elif WebhookSubscription.objects.filter(name=name).exclude(pk=exclude or 0).exists():
        errors.setdefault("name", []).append(_("Another subscription has this name."))
    try:
        webhook_target_check(url)
    except ValidationError as exc:
        errors.setdefault("url", []).extend(exc.messages)
    unknown = [t for t in event_types if t not in EventType.values]
    if unknown:
        errors.setdefault("event_types", []).append(
            _("Unknown event type: %(type)s.") % {"type": ", ".join(map(str, unknown))}
        )
    if not isinstance(timeout_seconds, int) or not TIMEOUT_MIN <= timeout_seconds <= TIMEOUT_MAX:
        errors.setdefault("timeout_seconds", []).append(
            _("The timeout must be between %(low)s and %(high)s seconds.")
            % {"low": TIMEOUT_MIN, "high": TIMEOUT_MAX}
        )
    if errors:
        raise ValidationError(errors)
    ordered = [t for t in EventType.values if t in event_types]
    return name, url, ordered


def _audit_data(subscription: WebhookSubscription) -> dict[str, Any]:
    # The host only: a URL's path or query may carry a receiver's token.
    return {
        "name": subscription.name,
        "host": urlsplit(subscription.url).hostname or "",
        "event_types": list(subscription.event_types),
        "active": subscription.active,
    }


def _lock(subscription_id: int) -> WebhookSubscription:
    """The subscription, locked; ValidationError when there is none."""
    subscription = (
        WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
    )
    if subscription is None:
        raise ValidationError(
            _("Webhook subscription #%(number)s does not exist.") % {"number": subscription_id}
        )
    return subscription


def _require(actor: User, perm: str) -> None:
    if not actor.is_active or not actor.has_perm(perm):
        raise PermissionDenied(_("You may not manage webhook subscriptions."))


@checks_text(**_TEXT)
def webhook_subscription_create(
    *,
    name: str,
    url: str,
    event_types: list[str],
    actor: User,
    timeout_seconds: int = 10,
    active: bool = True,
) -> tuple[WebhookSubscription, str]:
    """Create a subscription with a new secret; returns it and the secret in the clear,
    to be shown once (it is stored encrypted, crypto.py).

    ``url``: https, resolving to public addresses only (targets.py); ``event_types``: values
    of ``EventType`` (may be empty: a connector's endpoint); ``timeout_seconds``: 1-30.
    Raises ValidationError (field errors) or PermissionDenied; writes nothing then.
    """
    _require(actor, "webhooks.add_webhooksubscription")
    name, url, types = _clean(
        name=name, url=url, event_types=event_types, timeout_seconds=timeout_seconds, exclude=None
    )
    secret = webhook_secret_generate()
    with transaction.atomic(durable=True):
        subscription = WebhookSubscription.objects.create(
            name=name,
            url=url,
            event_types=types,
            active=active,
            timeout_seconds=timeout_seconds,
            secret_encrypted=webhook_secret_encrypt(secret),
            secret_hint=webhook_secret_hint(secret),
            created_by=actor,
        )
        audit_event_record(
            action="webhooks.subscription.created",
            actor=actor,
            target=subscription,
            data=_audit_data(subscription),
        )
    return subscription, secret


@checks_text(**_TEXT)
def webhook_subscription_update(
    *,
    subscription_id: int,
    name: str,
    url: str,
    event_types: list[str],
    timeout_seconds: int,
    active: bool,
    actor: User,
) -> WebhookSubscription:
    """Change a subscription (the secret stays). Same rules and errors as creating one."""
    _require(actor, "webhooks.change_webhooksubscription")
    name, url, types = _clean(
        name=name,
        url=url,
        event_types=event_types,
        timeout_seconds=timeout_seconds,
        exclude=subscription_id,
    )
    with transaction.atomic(durable=True):
        subscription = _lock(subscription_id)
        subscription.name, subscription.url, subscription.event_types = name, url, types
        subscription.timeout_seconds, subscription.active = timeout_seconds, active
        subscription.save(update_fields=["name", "url", "event_types", "timeout_seconds", "active"])
        audit_event_record(
            action="webhooks.subscription.changed",
            actor=actor,
            target=subscription,
            data=_audit_data(subscription),
        )
    return subscription


def webhook_subscription_secret_rotate(
    *, subscription_id: int, actor: User
) -> tuple[WebhookSubscription, str]:
    """Replace the secret; returns the subscription and the new secret, shown once. Tries
    from now on are signed with the new secret only (what the receiver refuses meanwhile is
    retried). Raises ValidationError for an unknown subscription, PermissionDenied."""
    _require(actor, "webhooks.change_webhooksubscription")
    secret = webhook_secret_generate()
    with transaction.atomic(durable=True):
        subscription = _lock(subscription_id)
        subscription.secret_encrypted = webhook_secret_encrypt(secret)
        subscription.secret_hint = webhook_secret_hint(secret)
        subscription.secret_rotated_at = timezone.now()
        subscription.save(update_fields=["secret_encrypted", "secret_hint", "secret_rotated_at"])
        audit_event_record(
            action="webhooks.subscription.secret_rotated",
            actor=actor,
            target=subscription,
            data=_audit_data(subscription),
        )
    return subscription, secret


def webhook_event_deliveries_create(*, events: list[AuditEvent]) -> int:
    """One delivery per webhook event and active subscription that asked for its type,
    in the caller's transaction (the audit write's). Returns how many were written.

    The idempotency key is the event id, so the same event never gives two deliveries to
    one subscription."""
    found = [w for event in events for w in webhook_events_from_audit(event)]
    if not found:
        return 0
    subscriptions = [s for s in WebhookSubscription.objects.filter(active=True) if s.event_types]
    if not subscriptions:
        return 0
    now = timezone.now()
    rows = []
    for webhook_event in found:
        body = None
        for subscription in subscriptions:
            if webhook_event.event_type not in subscription.event_types:
                continue
            body = body or webhook_body(
                event_id=webhook_event.event_id,
                event_type=webhook_event.event_type,
                occurred_at=webhook_event.occurred_at,
                data=webhook_event.data,
            )
            rows.append(
                WebhookDelivery(
                    subscription=subscription,
                    event_id=webhook_event.event_id,
                    event_type=webhook_event.event_type,
                    idempotency_key=str(webhook_event.event_id),
                    body=body,
                    created_at=now,
                    next_try_at=now,
                )
            )
    _deliveries_create_bulk(rows)
    return len(rows)
