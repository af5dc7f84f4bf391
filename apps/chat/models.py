"""Who is who in Slack, and which Slack message shows which request to which approver."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

#: Slack user ids: "U" or "W" then upper-case letters and digits (api.slack.com/types/user).
slack_user_id_validator = RegexValidator(
    r"^[UW][A-Z0-9]{2,20}$",
    _("A Slack user id starts with U or W followed by capital letters and digits."),
)


class LinkMethod(models.TextChoices):
    ADMIN = "admin", _("linked in the admin")
    EMAIL = "email", _("matched by verified email")


class SlackAccount(models.Model):
    """A portal user's Slack identity: decisions from Slack are taken as this user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="slack_account",
        verbose_name=_("user"),
    )
    slack_user_id = models.CharField(
        max_length=24,
        unique=True,
        validators=[slack_user_id_validator],
        verbose_name=_("Slack user id"),
        help_text=_("In Slack: the person's profile, ⋮, “Copy member ID” (e.g. U024BE7LH)."),
    )
    method = models.CharField(
        max_length=8,
        choices=LinkMethod.choices,
        default=LinkMethod.ADMIN,
        verbose_name=_("linked by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("Slack account")
        verbose_name_plural = _("Slack accounts")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ↔ {self.slack_user_id}"


class SlackMessage(models.Model):
    """The message that showed ``request`` to ``approver`` in Slack (``channel`` + ``ts`` name
    it for chat.update); ``shown_state`` is what it shows now, so an update is sent once."""

    request = models.ForeignKey(
        "access.AccessRequest",
        on_delete=models.PROTECT,
        related_name="slack_messages",
        verbose_name=_("request"),
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approver"),
    )
    slack_user_id = models.CharField(max_length=24, verbose_name=_("Slack user id"))
    channel = models.CharField(max_length=24, blank=True, verbose_name=_("channel"))
    ts = models.CharField(max_length=32, blank=True, verbose_name=_("message timestamp"))
    shown_state = models.CharField(max_length=64, blank=True, verbose_name=_("state shown"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("Slack message")
        verbose_name_plural = _("Slack messages")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="chat_one_message_per_request_approver"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.request_id} → {self.slack_user_id}"


class DeliveryState(models.TextChoices):
    HANDLING = "handling", _("being handled")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class SlackDelivery(models.Model):
    """One interactive payload Slack sent, by the digest of its raw body, and how far the
    portal got with it: a retry (``X-Slack-Retry-Num``) or a replay of the same body arriving
    while it is ``handling`` or once it is ``done`` is acknowledged without acting again; one
    arriving after it ``failed`` is acted on again (services.slack_delivery_claim)."""

    digest = models.CharField(max_length=64, unique=True, verbose_name=_("body digest"))
    state = models.CharField(
        max_length=8,
        choices=DeliveryState.choices,
        default=DeliveryState.HANDLING,
        verbose_name=_("state"),
    )
    attempts = models.PositiveSmallIntegerField(default=1, verbose_name=_("attempts"))
    #: The JSON body answered when it was done (a modal's errors), answered again to a retry.
    answer = models.JSONField(null=True, blank=True, verbose_name=_("answer"))
    last_error = models.CharField(max_length=200, blank=True, verbose_name=_("last error"))
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("Slack delivery")
        verbose_name_plural = _("Slack deliveries")

    def __str__(self) -> str:
        return f"{self.digest[:12]} ({self.state})"
