"""Roles (policies), requests, approvals and time-boxed grants.

A grant counts only while ``starts_at <= now < ends_at`` and it is not revoked: the status
column is tidied by beat, but access is decided from the times at the moment of use.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.inventory.models import DataAsset, ProcessingActivity
from jitportal.timekeeping import elapsed_add

# An example in a ticket hint is the text after one of these words, up to ";", ")" or the end
# of the sentence; several examples are separated by commas, "or" or "and".
_EXAMPLE_MARKER = re.compile(
    r"(?:\be\.?\s?g\.|\bfor (?:example|instance)\b|\bsuch as\b|\bexample:)\s*:?\s*(?P<rest>[^;)\n]*)",
    re.IGNORECASE,
)
_EXAMPLE_SPLIT = re.compile(r"\s*(?:,|\bor\b|\band\b)\s*", re.IGNORECASE)
_QUOTES = "\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb"


def ticket_hint_examples(hint: str) -> list[str]:
    """The example ticket references in a role's ticket hint, e.g. ``["INC-1234", "CASE-77"]``
    for "an incident or case number, e.g. INC-1234 or CASE-77". An example is one word (no
    space) after "e.g.", "for example", "for instance", "such as" or "example:"; quotes and a
    closing full stop are not part of it. Words with spaces are description, not examples."""
    examples: list[str] = []
    for match in _EXAMPLE_MARKER.finditer(hint or ""):
        rest = re.split(r"\.(?:\s|$)", match.group("rest"), maxsplit=1)[0]
        for part in _EXAMPLE_SPLIT.split(rest):
            word = part.strip().strip(_QUOTES).rstrip(".:!?").strip(_QUOTES)
            if word and not any(ch.isspace() for ch in word):
                examples.append(word)
    return examples


class AccessRole(models.Model):
    """A bundle of permissions on data assets, and the policy for asking for it."""

    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True)
    assets = models.ManyToManyField(DataAsset, related_name="access_roles")
    can_view = models.BooleanField(default=True)
    can_change = models.BooleanField(default=False)
    can_export = models.BooleanField(default=False)

    # Who may ask: members of these groups or these users; nobody listed means any active user.
    requestable_by_groups = models.ManyToManyField(Group, blank=True, related_name="+")
    requestable_by_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+"
    )
    default_duration = models.DurationField(default=timedelta(hours=4))
    max_duration = models.DurationField(default=timedelta(hours=8))
    max_total_duration = models.DurationField(
        "longest reach through extensions",
        default=timedelta(hours=24),
        help_text="How far one grant may reach from its start, its extensions included; "
        "checked on every extension, automatic ones too. At least the maximum duration.",
    )
    allow_future_start = models.BooleanField(default=True)
    max_start_ahead = models.DurationField(
        default=timedelta(days=14), help_text="How far ahead a future start may be."
    )

    # Who decides
    approvals_required = models.PositiveSmallIntegerField(
        default=1, help_text="0 approves automatically; N needs N distinct eligible approvers."
    )
    approve_by_asset_owner = models.BooleanField(default=True)
    approve_by_steward_group = models.BooleanField(default=True)
    approver_groups = models.ManyToManyField(Group, blank=True, related_name="+")
    require_dpo = models.BooleanField(
        "DPO approval also required",
        default=False,
        help_text="Always on for assets holding Art. 9/10 data, whatever this says.",
    )
    require_justification = models.BooleanField(default=True)
    require_ticket = models.BooleanField(default=False)
    ticket_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text=r"Regular expression the ticket must match, e.g. ^INC-\d+$ (staff see the "
        "ticket hint below, not this).",
    )
    ticket_hint = models.CharField(
        max_length=200,
        blank=True,
        help_text="What staff are shown about the ticket reference instead of the pattern: a "
        "plain description or an example, e.g. “an incident or case number, e.g. INC-1234”. "
        "An example (after “e.g.”, “for example” or “such as”) must match the pattern.",
    )
    pending_timeout = models.DurationField(
        default=timedelta(days=2), help_text="A request nobody decides by then lapses."
    )
    remind_approvers_after = models.DurationField(
        default=timedelta(hours=8),
        help_text="Approvers are reminded of a request still waiting this long (and again "
        "after each further period, until it is decided or lapses).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.ticket_pattern:
            try:
                re.compile(self.ticket_pattern)
            except re.error as exc:
                errors["ticket_pattern"] = (
                    f"“{self.ticket_pattern}” is not a valid regular expression: {exc}."
                )
        if self.ticket_hint and self.ticket_pattern and "ticket_pattern" not in errors:
            wrong = [
                example
                for example in ticket_hint_examples(self.ticket_hint)
                if not re.fullmatch(self.ticket_pattern, example)
            ]
            if wrong:
                shown = ", ".join(f"“{example}”" for example in wrong)
                errors["ticket_hint"] = (
                    f"The example {shown} does not match the ticket pattern, so staff who "
                    "follow it would be refused. Give an example that matches the pattern, "
                    "or change the pattern."
                )
        zero = timedelta(0)
        for name in ("default_duration", "max_duration", "max_total_duration", "pending_timeout"):
            value = getattr(self, name)
            if value is not None and value <= zero:
                errors[name] = "Must be longer than zero."
        if self.remind_approvers_after is not None and self.remind_approvers_after <= zero:
            errors["remind_approvers_after"] = "Must be longer than zero."
        if self.max_start_ahead is not None and self.max_start_ahead < zero:
            errors["max_start_ahead"] = "Cannot be negative."
        if (
            "default_duration" not in errors
            and "max_duration" not in errors
            and self.default_duration is not None
            and self.max_duration is not None
            and self.default_duration > self.max_duration
        ):
            errors["default_duration"] = "The default duration cannot exceed the maximum duration."
        if (
            "max_duration" not in errors
            and "max_total_duration" not in errors
            and self.max_duration is not None
            and self.max_total_duration is not None
            and self.max_total_duration < self.max_duration
        ):
            errors["max_total_duration"] = (
                "The longest reach through extensions cannot be shorter than the maximum duration."
            )
        if errors:
            raise ValidationError(errors)


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    CANCELLED = "cancelled", "Cancelled"
    LAPSED = "lapsed", "Lapsed"


class AccessRequestQuerySet(models.QuerySet["AccessRequest"]):
    def pending(self) -> AccessRequestQuerySet:
        return self.filter(status=RequestStatus.PENDING)

    def due_to_lapse(self, at: datetime | None = None) -> AccessRequestQuerySet:
        return self.pending().filter(lapses_at__lte=at or timezone.now())

    def due_for_reminder(self, at: datetime | None = None) -> AccessRequestQuerySet:
        return self.pending().filter(remind_at__lte=at or timezone.now())


class AccessRequest(models.Model):
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    role = models.ForeignKey(
        AccessRole, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    asset = models.ForeignKey(
        DataAsset, null=True, blank=True, on_delete=models.PROTECT, related_name="access_requests"
    )
    processing_activity = models.ForeignKey(
        ProcessingActivity,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_requests",
        help_text="The purpose the access serves.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    justification = models.TextField(blank=True)
    ticket = models.CharField(max_length=100, blank=True)
    extends_grant = models.ForeignKey(
        "Grant", null=True, blank=True, on_delete=models.PROTECT, related_name="extension_requests"
    )
    is_break_glass = models.BooleanField(default=False)

    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING, db_index=True
    )
    # The policy in force when the request was made, so history stays true after it changes.
    approvals_required = models.PositiveSmallIntegerField(default=1)
    dpo_required = models.BooleanField(default=False)
    policy_snapshot = models.JSONField(default=dict, blank=True)
    lapses_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_comment = models.TextField(blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # When approvers are (next) reminded of it while it is still pending.
    remind_at = models.DateTimeField(null=True, blank=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
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


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    DENY = "deny", "Deny"


class Approval(models.Model):
    """One approver's decision on a request; N-of-M counts distinct approvers."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    as_dpo = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="one_decision_per_approver"
            )
        ]

    def __str__(self) -> str:
        return f"{self.approver} {self.decision} #{self.request_id}"


class GrantStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class GrantQuerySet(models.QuerySet["Grant"]):
    def live(self, at: datetime | None = None) -> GrantQuerySet:
        """Grants that give access at ``at``: decided from times, never from ``status``."""
        now = at or timezone.now()
        return self.filter(starts_at__lte=now, ends_at__gt=now, revoked_at__isnull=True)

    def due_to_activate(self, at: datetime | None = None) -> GrantQuerySet:
        return self.filter(status=GrantStatus.SCHEDULED).live(at)

    def due_to_expire(self, at: datetime | None = None) -> GrantQuerySet:
        now = at or timezone.now()
        return self.filter(status__in=[GrantStatus.SCHEDULED, GrantStatus.ACTIVE], ends_at__lte=now)

    def due_for_unmirror(self) -> GrantQuerySet:
        """Revoked, given-back or expired grants whose guardian mirror rows are still there
        (the reconcile removes them; their decision is already in the audit trail)."""
        return self.filter(status__in=[GrantStatus.REVOKED, GrantStatus.EXPIRED], mirrored=True)

    def due_for_expiry_warning(self, at: datetime | None = None, before=None) -> GrantQuerySet:
        now = at or timezone.now()
        before = before if before is not None else settings.JITPORTAL["EXPIRY_WARNING_BEFORE"]
        return self.live(now).filter(
            expiry_warned_at__isnull=True, ends_at__lte=elapsed_add(now, before)
        )


class Grant(models.Model):
    """Access that an approved request gives; a snapshot of the role's assets and rights."""

    request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    # No index of its own on user or status: the composite indexes below lead with them.
    # Every status change rewrites each index of the row, so each index costs reconcile time.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants", db_index=False
    )
    assets: models.ManyToManyField[DataAsset, GrantAsset] = models.ManyToManyField(
        DataAsset, related_name="grants", through="GrantAsset"
    )
    can_view = models.BooleanField(default=True)
    can_change = models.BooleanField(default=False)
    can_export = models.BooleanField(default=False)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(db_index=True)
    status = models.CharField(
        max_length=10, choices=GrantStatus.choices, default=GrantStatus.SCHEDULED
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)
    is_break_glass = models.BooleanField(default=False)
    needs_review = models.BooleanField(default=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Whether the django-guardian mirror rows exist right now (tidied by reconcile).
    mirrored = models.BooleanField(default=False)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [
            models.Index(fields=["user", "starts_at", "ends_at"]),
            models.Index(fields=["status", "ends_at"]),
            models.Index(fields=["status", "starts_at"]),
        ]
        permissions = [
            ("revoke_grant", "Can revoke grants"),
            ("break_glass", "Can take break-glass access"),
            ("review_grant", "Can mark break-glass grants reviewed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="grant_window_positive"
            )
        ]

    def __str__(self) -> str:
        return self.label_for(self.pk, str(self.user), self.starts_at, self.ends_at)

    @staticmethod
    def label_for(pk: int | None, username: str, starts_at: datetime, ends_at: datetime) -> str:
        """What ``str(grant)`` says, from its values (bulk paths do not load the model)."""
        return f"Grant #{pk} {username} ({starts_at:%Y-%m-%d %H:%M}–{ends_at:%H:%M})"

    def is_live(self, at: datetime | None = None) -> bool:
        now = at or timezone.now()
        return self.revoked_at is None and self.starts_at <= now < self.ends_at


class GrantAsset(models.Model):
    """One data asset a grant covers (the table of ``Grant.assets``).

    The asset side is PROTECT: a data asset that a grant covers cannot be deleted (archive it
    instead), so the grant, the access registers and the django-guardian mirror rows the
    reconcile removes by asset never lose it; the database's foreign keys (no cascade) refuse
    a raw delete too. The link is part of the grant and goes with it when a retention rule
    purges the grant.
    """

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE)
    dataasset = models.ForeignKey(DataAsset, on_delete=models.PROTECT)

    class Meta:
        db_table = "access_grant_assets"
        unique_together = [("grant", "dataasset")]
        verbose_name = "data asset of a grant"
        verbose_name_plural = "grants (data assets covered)"

    def __str__(self) -> str:
        return f"Grant #{self.grant_id} covers data asset #{self.dataasset_id}"


class NoticeKind(models.TextChoices):
    """The email notices of the access app (templates/access/email/<kind>_*.txt)."""

    REQUEST_SUBMITTED = "request_submitted", "request submitted (to its approvers)"
    REQUEST_REMINDER = "request_reminder", "reminder (to its approvers)"
    REQUEST_DECIDED = "request_decided", "request decided (to the requester)"
    GRANT_REVOKED = "grant_revoked", "access revoked (to the holder)"
    GRANT_EXPIRING = "grant_expiring", "access expiring (to the holder)"
    BREAK_GLASS = "break_glass", "break-glass used (to the DPO group)"


class NoticeStatus(models.TextChoices):
    PENDING = "pending", "waiting to be sent"
    SENT = "sent", "sent"
    FAILED = "failed", "gave up"


class Notice(models.Model):
    """One email notice in the outbox (the transactional outbox pattern).

    Written in the same transaction as the decision it reports, so a notice exists exactly
    when its decision does. The ``access.notify`` task sends it after commit; the periodic
    reconcile re-sends what is still pending once ``next_try_at`` has come, with backoff,
    and gives up after ``JITPORTAL["NOTICE_MAX_TRIES"]`` tries, except for break-glass
    notices, which are retried until sent (``escalated_at`` marks the first try past the
    bound). ``object_id`` is an access request (``request_*`` kinds) or a grant (the others).
    """

    kind = models.CharField(max_length=40, choices=NoticeKind.choices)
    object_id = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.PENDING
    )
    tries = models.PositiveIntegerField(default=0, help_text="Attempts to send so far.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    next_try_at = models.DateTimeField(
        help_text="When the reconcile may (re-)send it if it is still waiting."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages sent (one per recipient)."
    )
    escalated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A break-glass notice still unsent after the normal number of tries.",
    )

    class Meta:
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
