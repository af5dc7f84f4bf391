"""Access requests and the approvals given on them."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset, ProcessingActivity

from .roles import AccessRole


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")
    CANCELLED = "cancelled", _("Cancelled")
    LAPSED = "lapsed", _("Lapsed")


class DecisionCode(models.TextChoices):
    """Why the portal itself decided or closed a request: stored as a code and shown in the
    reader's language (a person's own comment stays in ``decision_comment``)."""

    AUTO_APPROVED = "auto_approved", _("Approved automatically by the policy.")
    BREAK_GLASS = "break_glass", _("Break-glass: self-granted, to be reviewed by the DPO.")
    LAPSED = "lapsed", _("Nobody decided before the request's deadline.")
    GRANT_REVOKED = "grant_revoked", _("The access was revoked.")
    GRANT_GIVEN_BACK = "grant_given_back", _("The access was given back.")
    GRANT_NOT_ENTITLED = (
        "grant_not_entitled",
        _("The access it extends ended at its start: its holder was no longer entitled to it."),
    )
    REQUESTER_OFFBOARDED = (
        "requester_offboarded",
        _("Cancelled because the requester's account was deactivated."),
    )


class AccessRequestQuerySet(models.QuerySet["AccessRequest"]):
    def pending(self) -> AccessRequestQuerySet:
        return self.filter(status=RequestStatus.PENDING)

    def due_to_lapse(self, at: datetime | None = None) -> AccessRequestQuerySet:
        return self.pending().filter(lapses_at__lte=at or timezone.now())

    def due_for_reminder(self, at: datetime | None = None) -> AccessRequestQuerySet:
        return self.pending().filter(remind_at__lte=at or timezone.now())


class AccessRequest(models.Model):
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="access_requests",
        verbose_name=_("requester"),
    )
    role = models.ForeignKey(
        AccessRole,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name=_("role"),
    )
    asset = models.ForeignKey(
        DataAsset,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_requests",
        verbose_name=_("asset"),
    )
    processing_activity = models.ForeignKey(
        ProcessingActivity,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_requests",
        help_text=_("The purpose the access serves."),
        verbose_name=_("processing activity"),
    )
    starts_at = models.DateTimeField(
        verbose_name=_("starts at"),
    )
    ends_at = models.DateTimeField(
        verbose_name=_("ends at"),
    )
    justification = models.TextField(blank=True, verbose_name=_("justification"))
    ticket = models.CharField(max_length=100, blank=True, verbose_name=_("ticket"))
    extends_grant = models.ForeignKey(
        "Grant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="extension_requests",
        verbose_name=_("extends grant"),
    )
    is_break_glass = models.BooleanField(default=False, verbose_name=_("is break glass"))

    status = models.CharField(
        max_length=10,
        choices=RequestStatus.choices,
        default=RequestStatus.PENDING,
        db_index=True,
        verbose_name=_("status"),
    )
    # The policy in force when the request was made, so history stays true after it changes.
    approvals_required = models.PositiveSmallIntegerField(
        default=1, verbose_name=_("approvals required")
    )
    dpo_required = models.BooleanField(default=False, verbose_name=_("dpo required"))
    policy_snapshot = models.JSONField(default=dict, blank=True, verbose_name=_("policy snapshot"))
    lapses_at = models.DateTimeField(null=True, blank=True, verbose_name=_("lapses at"))

    created_at = models.DateTimeField(
        default=timezone.now, editable=False, db_index=True, verbose_name=_("created at")
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_comment = models.TextField(blank=True, verbose_name=_("decision comment"))
    # Set where the portal decided (policy, clock, break-glass, an ended grant): the comment
    # people read is this code's text in their language (``decision_text``).
    decision_code = models.CharField(
        max_length=32, choices=DecisionCode.choices, blank=True, verbose_name=_("decision code")
    )
    reminded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reminded at"))
    # When approvers are (next) reminded of it while it is still pending.
    remind_at = models.DateTimeField(null=True, blank=True, verbose_name=_("remind at"))

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        ordering = ["-created_at"]
        permissions = [("decide_accessrequest", "Can approve or deny access requests")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role__isnull=False) & Q(asset__isnull=True))
                | (Q(role__isnull=True) & Q(asset__isnull=False)),
                name="request_role_xor_asset",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="request_window_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "lapses_at"]),
            models.Index(fields=["status", "remind_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.requester} → {self.target_label}"

    @property
    def target_label(self) -> str:
        return str(self.role) if self.role_id else str(self.asset)

    @property
    def decision_text(self) -> str:
        """The comment shown with the decision: the portal's reason in the reader's language
        (``decision_code``), else what the decider wrote (older rows: the stored text)."""
        if self.decision_code:
            return str(DecisionCode(self.decision_code).label)
        return self.decision_comment


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    DENY = "deny", _("Deny")


class Approval(models.Model):
    """One approver's decision on a request; N-of-M counts distinct approvers."""

    request = models.ForeignKey(
        AccessRequest, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("request")
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approver"),
    )
    decision = models.CharField(max_length=10, choices=Decision.choices, verbose_name=_("decision"))
    as_dpo = models.BooleanField(default=False, verbose_name=_("as dpo"))
    comment = models.TextField(blank=True, verbose_name=_("comment"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="one_decision_per_approver"
            )
        ]

    def __str__(self) -> str:
        return f"{self.approver} {self.decision} #{self.request_id}"
