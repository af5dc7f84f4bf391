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
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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

    name = models.CharField(max_length=150, unique=True, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    assets = models.ManyToManyField(
        DataAsset, related_name="access_roles", verbose_name=_("assets")
    )
    can_view = models.BooleanField(default=True, verbose_name=_("can view"))
    can_change = models.BooleanField(default=False, verbose_name=_("can change"))
    can_export = models.BooleanField(default=False, verbose_name=_("can export"))

    # Who may ask: members of these groups or these users; nobody listed means any active user.
    requestable_by_groups = models.ManyToManyField(
        Group, blank=True, related_name="+", verbose_name=_("requestable by groups")
    )
    requestable_by_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        verbose_name=_("requestable by users"),
    )
    default_duration = models.DurationField(
        default=timedelta(hours=4), verbose_name=_("default duration")
    )
    max_duration = models.DurationField(default=timedelta(hours=8), verbose_name=_("max duration"))
    max_total_duration = models.DurationField(
        _("longest reach through extensions"),
        default=timedelta(hours=24),
        help_text=_(
            "How far one grant may reach from its start, its extensions included; "
            "checked on every extension, automatic ones too. At least the maximum duration."
        ),
    )
    allow_future_start = models.BooleanField(default=True, verbose_name=_("allow future start"))
    max_start_ahead = models.DurationField(
        default=timedelta(days=14),
        help_text=_("How far ahead a future start may be."),
        verbose_name=_("max start ahead"),
    )

    # Who decides
    approvals_required = models.PositiveSmallIntegerField(
        default=1,
        help_text=_("0 approves automatically; N needs N distinct eligible approvers."),
        verbose_name=_("approvals required"),
    )
    approve_by_asset_owner = models.BooleanField(
        default=True, verbose_name=_("approve by asset owner")
    )
    approve_by_steward_group = models.BooleanField(
        default=True, verbose_name=_("approve by steward group")
    )
    approver_groups = models.ManyToManyField(
        Group, blank=True, related_name="+", verbose_name=_("approver groups")
    )
    require_dpo = models.BooleanField(
        _("DPO approval also required"),
        default=False,
        help_text=_("Always on for assets holding Art. 9/10 data, whatever this says."),
    )
    require_justification = models.BooleanField(
        default=True, verbose_name=_("require justification")
    )
    require_ticket = models.BooleanField(default=False, verbose_name=_("require ticket"))
    ticket_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text=_(
            r"Regular expression the ticket must match, e.g. ^INC-\d+$ (staff see the "
            "ticket hint below, not this)."
        ),
        verbose_name=_("ticket pattern"),
    )
    ticket_hint = models.CharField(
        max_length=200,
        blank=True,
        help_text=_(
            "What staff are shown about the ticket reference instead of the pattern: a "
            "plain description or an example, e.g. “an incident or case number, e.g. INC-1234”. "
            "An example (after “e.g.”, “for example” or “such as”) must match the pattern."
        ),
        verbose_name=_("ticket hint"),
    )
    pending_timeout = models.DurationField(
        default=timedelta(days=2),
        help_text=_("A request nobody decides by then lapses."),
        verbose_name=_("pending timeout"),
    )
    remind_approvers_after = models.DurationField(
        default=timedelta(hours=8),
        help_text=_(
            "Approvers are reminded of a request still waiting this long (and again "
            "after each further period, until it is decided or lapses)."
        ),
        verbose_name=_("remind approvers after"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("access role")
        verbose_name_plural = _("access roles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.ticket_pattern:
            try:
                re.compile(self.ticket_pattern)
            except re.error as exc:
                errors["ticket_pattern"] = gettext(
                    "“%(pattern)s” is not a valid regular expression: %(error)s."
                ) % {"pattern": self.ticket_pattern, "error": exc}
        if self.ticket_hint and self.ticket_pattern and "ticket_pattern" not in errors:
            wrong = [
                example
                for example in ticket_hint_examples(self.ticket_hint)
                if not re.fullmatch(self.ticket_pattern, example)
            ]
            if wrong:
                shown = ", ".join(f"“{example}”" for example in wrong)
                errors["ticket_hint"] = gettext(
                    "The example %(examples)s does not match the ticket pattern, so staff who "
                    "follow it would be refused. Give an example that matches the pattern, "
                    "or change the pattern."
                ) % {"examples": shown}
        zero = timedelta(0)
        for name in ("default_duration", "max_duration", "max_total_duration", "pending_timeout"):
            value = getattr(self, name)
            if value is not None and value <= zero:
                errors[name] = gettext("Must be longer than zero.")
        if self.remind_approvers_after is not None and self.remind_approvers_after <= zero:
            errors["remind_approvers_after"] = gettext("Must be longer than zero.")
        if self.max_start_ahead is not None and self.max_start_ahead < zero:
            errors["max_start_ahead"] = gettext("Cannot be negative.")
        if (
            "default_duration" not in errors
            and "max_duration" not in errors
            and self.default_duration is not None
            and self.max_duration is not None
            and self.default_duration > self.max_duration
        ):
            errors["default_duration"] = gettext(
                "The default duration cannot exceed the maximum duration."
            )
        if (
            "max_duration" not in errors
            and "max_total_duration" not in errors
            and self.max_duration is not None
            and self.max_total_duration is not None
            and self.max_total_duration < self.max_duration
        ):
            errors["max_total_duration"] = gettext(
                "The longest reach through extensions cannot be shorter than the maximum duration."
            )
        if errors:
            raise ValidationError(errors)


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


class GrantStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class RevokeCode(models.TextChoices):
    """Why the portal itself ended a grant early: a code shown in the reader's language (an
    approver's own reason stays in ``revoke_reason``)."""

    GIVEN_BACK_EARLY = "given_back_early", _("Given back by the holder before it started.")
    NOT_ENTITLED = (
        "not_entitled",
        _("Ended at its start: its holder was no longer entitled to it."),
    )


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

    request = models.OneToOneField(
        AccessRequest, on_delete=models.PROTECT, related_name="grant", verbose_name=_("request")
    )
    # No index of its own on user or status: the composite indexes below lead with them.
    # Every status change rewrites each index of the row, so each index costs reconcile time.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="grants",
        db_index=False,
        verbose_name=_("user"),
    )
    assets: models.ManyToManyField[DataAsset, GrantAsset] = models.ManyToManyField(
        DataAsset,
        related_name="grants",
        through="GrantAsset",
        verbose_name=_("assets"),
    )
    can_view = models.BooleanField(default=True, verbose_name=_("can view"))
    can_change = models.BooleanField(default=False, verbose_name=_("can change"))
    can_export = models.BooleanField(default=False, verbose_name=_("can export"))
    starts_at = models.DateTimeField(db_index=True, verbose_name=_("starts at"))
    ends_at = models.DateTimeField(db_index=True, verbose_name=_("ends at"))
    status = models.CharField(
        max_length=10,
        choices=GrantStatus.choices,
        default=GrantStatus.SCHEDULED,
        verbose_name=_("status"),
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoke_reason = models.TextField(blank=True, verbose_name=_("revoke reason"))
    # Set where the portal ended it (given back before its start, holder no longer entitled):
    # people read this code's text in their language (``revoke_text``); ``revoke_reason`` keeps
    # the detail for the record.
    revoke_code = models.CharField(
        max_length=32, choices=RevokeCode.choices, blank=True, verbose_name=_("revoke code")
    )
    is_break_glass = models.BooleanField(default=False, verbose_name=_("is break glass"))
    needs_review = models.BooleanField(default=False, verbose_name=_("needs review"))
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reviewed at"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    # Whether the django-guardian mirror rows exist right now (tidied by reconcile).
    mirrored = models.BooleanField(default=False, verbose_name=_("mirrored"))
    expiry_warned_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("expiry warned at")
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    objects = GrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
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

    @property
    def revoke_text(self) -> str:
        """Why it ended early, for people: the portal's reason in the reader's language
        (``revoke_code``), else the reason the person who revoked it gave."""
        if self.revoke_code:
            return str(RevokeCode(self.revoke_code).label)
        return self.revoke_reason

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

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, verbose_name=_("grant"))
    dataasset = models.ForeignKey(DataAsset, on_delete=models.PROTECT, verbose_name=_("dataasset"))

    class Meta:
        db_table = "access_grant_assets"
        unique_together = [("grant", "dataasset")]
        verbose_name = _("data asset of a grant")
        verbose_name_plural = _("grants (data assets covered)")

    def __str__(self) -> str:
        return f"Grant #{self.grant_id} covers data asset #{self.dataasset_id}"


class NoticeKind(models.TextChoices):
    """The email notices of the access app (templates/access/email/<kind>_*.txt)."""

    REQUEST_SUBMITTED = "request_submitted", _("request submitted (to its approvers)")
    REQUEST_REMINDER = "request_reminder", _("reminder (to its approvers)")
    REQUEST_DECIDED = "request_decided", _("request decided (to the requester)")
    GRANT_REVOKED = "grant_revoked", _("access revoked (to the holder)")
    GRANT_EXPIRING = "grant_expiring", _("access expiring (to the holder)")
    BREAK_GLASS = "break_glass", _("break-glass used (to the DPO group)")


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
