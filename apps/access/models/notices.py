"""The notice outbox: every email a decision causes, written with the decision."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    """The email notices of the access app (templates/access/email/<kind>_*.txt)."""

    REQUEST_SUBMITTED = "request_submitted", _("request submitted (to its approvers)")
    REQUEST_REMINDER = "request_reminder", _("reminder (to its approvers)")
    REQUEST_DECIDED = "request_decided", _("request decided (to the requester)")
    GRANT_REVOKED = "grant_revoked", _("access revoked (to the holder)")
    GRANT_EXPIRING = "grant_expiring", _("access expiring (to the holder)")
    BREAK_GLASS = "break_glass", _("break-glass used (to the DPO group)")
    GRANT_TARGET_FAILING = (
        "grant_target_failing",
        _("access not set up or not removed in another system (to the DPO group and superusers)"),
    )


class NoticeStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("gave up")


class Notice(models.Model):
    """One email notice in the outbox (the transactional outbox pattern).

    Written in the same transaction as the decision it reports, so a notice exists exactly
    when its decision does. The ``access.notify`` task sends it after commit; the periodic
    reconcile re-sends what is still pending once ``next_try_at`` has come, with backoff,
    and gives up after ``JITPORTAL["NOTICE_MAX_TRIES"]`` tries, except for break-glass
    notices, which are retried until sent (``escalated_at`` marks the first try past the
    bound). ``object_id`` is an access request (``request_*`` kinds) or a grant (the others).
    """

    kind = models.CharField(max_length=40, choices=NoticeKind.choices, verbose_name=_("kind"))
    object_id = models.PositiveBigIntegerField(
        verbose_name=_("object id"),
    )
    status = models.CharField(
        max_length=10,
        choices=NoticeStatus.choices,
        default=NoticeStatus.PENDING,
        verbose_name=_("status"),
    )
    tries = models.PositiveIntegerField(
        default=0, help_text=_("Attempts to send so far."), verbose_name=_("tries")
    )
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    next_try_at = models.DateTimeField(
        help_text=_("When the reconcile may (re-)send it if it is still waiting."),
        verbose_name=_("next try at"),
    )
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    recipients = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Messages sent (one per recipient)."),
        verbose_name=_("recipients"),
    )
    escalated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("A break-glass notice still unsent after the normal number of tries."),
        verbose_name=_("escalated at"),
    )

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_try_at"],
                condition=Q(status="pending"),
                name="access_notice_pending_due",
            )
        ]
        permissions = [("resend_notice", "Can re-send notices")]

    def __str__(self) -> str:
        return f"Notice #{self.pk} {self.kind} about #{self.object_id} ({self.status})"
