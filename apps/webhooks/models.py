"""Webhook subscriptions and their deliveries (the outbox and the delivery log)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """The events a subscription may ask for (docs/webhooks.md, "Events")."""

    REQUEST_SUBMITTED = "request.submitted", _("access request submitted")
    REQUEST_DECIDED = "request.decided", _("access request decided")
    GRANT_ACTIVATED = "grant.activated", _("grant activated")
    GRANT_ENDED = "grant.ended", _("grant ended")
    BREAK_GLASS = "breakglass.used", _("break-glass access used")
    PURGE_FINISHED = "purge.finished", _("purge run finished")
    AUDIT_VERIFICATION_FAILED = "audit.verification_failed", _("audit trail verification failed")


class WebhookSubscription(models.Model):
    """An HTTPS endpoint, the events it receives and the secret its deliveries are signed
    with. The secret is stored encrypted (Fernet, ``WEBHOOKS["SECRET_KEYS"]``) because
    signing needs it back; it is shown once, when generated."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.CharField(
        _("endpoint URL"),
        max_length=2000,
        help_text=_("HTTPS address that receives a JSON POST per event."),
    )
    event_types = models.JSONField(
        _("events"),
        default=list,
        blank=True,
        help_text=_(
            "Events sent to this endpoint. None: only what a connector sends it explicitly."
        ),
    )
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("A paused subscription keeps its deliveries waiting until it is active."),
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        _("timeout (seconds)"),
        default=10,
        help_text=_("How long one try waits to connect and for each read of the answer (1-30)."),
    )
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(_("secret"), max_length=16, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    secret_rotated_at = models.DateTimeField(
        _("secret generated at"), default=timezone.now, editable=False
    )

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name"]
        # Paused, never deleted: the delivery log refers to them.
        default_permissions = ("add", "change", "view")

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("given up")


class DeliveryError(models.TextChoices):
    """Why the last try failed (a code; the page says it in the reader's language)."""

    HTTP_STATUS = "http_status", _("the endpoint answered with an error status")
    TIMEOUT = "timeout", _("the endpoint did not answer in time")
    CONNECTION = "connection", _("could not connect to the endpoint")
    TLS = "tls", _("the endpoint's certificate was refused")
    TARGET_REFUSED = "target_refused", _("the endpoint's address is not allowed")
    SECRET = "secret", _("the subscription's secret cannot be decrypted")


class WebhookDelivery(models.Model):
    """One event for one subscription: written in the transaction of the event (outbox),
    sent by a task, retried with backoff. ``body`` is the exact JSON sent on every try, so
    the event id and the payload never change across retries and re-sends."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    event_id = models.UUIDField(_("event id"), db_index=True)
    event_type = models.CharField(_("event"), max_length=64, db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    tries = models.PositiveIntegerField(_("tries"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    next_try_at = models.DateTimeField(_("next try"), null=True, blank=True)
    last_tried_at = models.DateTimeField(_("last try"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    error = models.CharField(
        _("last error"), max_length=32, choices=DeliveryError.choices, blank=True
    )

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        default_permissions = ("view",)
        permissions = [("resend_webhookdelivery", _("Can re-send webhook deliveries"))]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "idempotency_key"], name="webhook_delivery_once"
            )
        ]
        indexes = [models.Index(fields=["status", "next_try_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
