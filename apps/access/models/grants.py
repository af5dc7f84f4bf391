"""Grants: time-boxed access, counted only inside their window (architecture.md, invariant 1)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset
from jitportal.timekeeping import elapsed_add

from .requests import AccessRequest


class GrantStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class RevokeCode(models.TextChoices):
    """Why a grant was ended early other than by an approver's revoke: a code shown in the
    reader's language (an approver's own reason stays in ``revoke_reason``)."""

    GIVEN_BACK_EARLY = "given_back_early", _("Given back by the holder before it started.")
    GIVEN_BACK = "given_back", _("Given back by the holder before its end.")
    NOT_ENTITLED = (
        "not_entitled",
        _("Ended at its start: its holder was no longer entitled to it."),
    )
    HOLDER_OFFBOARDED = (
        "holder_offboarded",
        _("Ended because its holder's account was deactivated."),
    )


#: The revoke codes of a grant its holder gave back (before its start, or while it was live).
GIVEN_BACK_CODES = (RevokeCode.GIVEN_BACK_EARLY, RevokeCode.GIVEN_BACK)


class GrantEnd(models.TextChoices):
    """How a grant ended (``Grant.end_reason``): the one derivation every page, register,
    export and API answer shows (docs/architecture.md, "State machines").

    ``expired`` is the only end that nobody chose: the window ran out. Every other end is a
    decision, with status ``revoked``, ``revoked_at`` when it took effect and, except for an
    approver's revoke, a ``revoke_code``.
    """

    EXPIRED = "expired", _("Expired at the end of its window")
    GIVEN_BACK = "given_back", _("Given back by its holder")
    REVOKED = "revoked", _("Revoked by an approver or the DPO")
    NOT_ENTITLED = "not_entitled", _("Ended at its start: its holder was no longer entitled")
    HOLDER_OFFBOARDED = "holder_offboarded", _("Ended: its holder's account was deactivated")


_END_BY_CODE = {
    RevokeCode.GIVEN_BACK_EARLY: GrantEnd.GIVEN_BACK,
    RevokeCode.GIVEN_BACK: GrantEnd.GIVEN_BACK,
    RevokeCode.NOT_ENTITLED: GrantEnd.NOT_ENTITLED,
    RevokeCode.HOLDER_OFFBOARDED: GrantEnd.HOLDER_OFFBOARDED,
}


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
    # Set where someone other than an approver ended it (given back by its holder, holder no
    # longer entitled, holder offboarded): people read this code's text in their language (``revoke_text``); ``revoke_reason`` keeps
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

    def ended_how(self, at: datetime | None = None) -> GrantEnd | None:
        """How the grant ended by ``at`` (default now), or None while it is scheduled or live.

        Revoked (``revoked_at`` set): its ``revoke_code`` says who ended it (no code: an
        approver or the DPO). Otherwise it expired once ``ends_at`` has passed, whatever the
        reconcile has written into ``status`` yet (invariant 1).
        """
        if self.revoked_at is not None:
            return _END_BY_CODE.get(self.revoke_code, GrantEnd.REVOKED)  # type: ignore[call-overload]
        if self.ends_at <= (at or timezone.now()):
            return GrantEnd.EXPIRED
        return None

    @property
    def end_reason(self) -> GrantEnd | None:
        """``ended_how()`` now: for templates and serializers."""
        return self.ended_how()

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
