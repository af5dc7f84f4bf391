"""Legal holds and the records a hold names."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset

from ..choices import HoldBasis, HoldScope
from .rules import RetentionRule


class LegalHoldQuerySet(models.QuerySet["LegalHold"]):
    def active(self) -> LegalHoldQuerySet:
        return self.filter(lifted_at__isnull=True)

    def review_due(self, on: date | None = None) -> LegalHoldQuerySet:
        return self.active().filter(review_on__lte=on or timezone.localdate())


class LegalHold(models.Model):
    """Keeps what it covers from every purge until it is lifted (with a reason)."""

    scope = models.CharField(_("scope"), max_length=10, choices=HoldScope.choices)
    asset = models.ForeignKey(
        DataAsset,
        verbose_name=_("asset"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="legal_holds",
    )
    rule = models.ForeignKey(
        RetentionRule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="legal_holds",
    )
    # Records: rows of this model (its ids in LegalHoldRecord) ...
    content_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("records of model"),
    )
    # ... or rows of a raw table, named "<database alias>:<table>".
    raw_table = models.CharField(
        _("records of raw table"),
        max_length=300,
        blank=True,
        help_text=_("For records of a raw-table target: '<database alias>:<table>'."),
    )
    basis = models.CharField(_("basis"), max_length=10, choices=HoldBasis.choices)
    reason = models.TextField(
        _("reason"), help_text=_("Why the data must be kept, e.g. the claim or request.")
    )
    reference = models.CharField(
        _("reference"),
        max_length=150,
        blank=True,
        help_text=_("Case, matter or request reference."),
    )
    review_on = models.DateField(_("review on"), help_text=_("When the hold is next reviewed."))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("placed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    placed_by_label = models.CharField(_("placed by label"), max_length=150, blank=True)
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now, editable=False)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True, editable=False)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lifted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    lift_reason = models.TextField(_("lift reason"), blank=True, editable=False)

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["-placed_at"]
        # Holds are placed and lifted, never deleted: the history is the evidence.
        default_permissions = ("view",)
        permissions = [
            ("place_legalhold", _("Can place a legal hold")),
            ("lift_legalhold", _("Can lift a legal hold")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="asset", asset__isnull=False, rule__isnull=True)
                    | Q(scope="rule", rule__isnull=False, asset__isnull=True)
                    | Q(scope="records", asset__isnull=True, rule__isnull=True)
                ),
                name="retention_hold_scope_matches",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Hold #%(id)s on %(covers)s") % {"id": self.pk, "covers": self.covers_label}

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None

    @property
    def covers_label(self) -> str:
        if self.scope == HoldScope.ASSET:
            return gettext("asset %(asset)s") % {"asset": self.asset}
        if self.scope == HoldScope.RULE:
            return gettext("rule %(rule)s") % {"rule": self.rule}
        model = self.content_type.model_class() if self.content_type else None
        what = self.raw_table or (model._meta.label if model is not None else "?")
        return gettext("records of %(what)s") % {"what": what}

    def clean(self) -> None:
        from ..validation import legal_hold_validate

        legal_hold_validate(self)


class LegalHoldRecord(models.Model):
    """One record a hold covers: a row of a model (content type) or of a raw table."""

    hold = models.ForeignKey(
        LegalHold, verbose_name=_("hold"), on_delete=models.CASCADE, related_name="records"
    )
    content_type = models.ForeignKey(
        ContentType,
        verbose_name=_("content type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    raw_table = models.CharField(_("raw table"), max_length=300, blank=True)
    object_id = models.CharField(_("object id"), max_length=64)

    class Meta:
        verbose_name = _("legal hold record")
        verbose_name_plural = _("legal hold records")
        ordering = ["hold", "object_id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="retention_hold_rec_ct_obj"),
            models.Index(fields=["raw_table", "object_id"], name="retention_hold_rec_raw_obj"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["hold", "content_type", "raw_table", "object_id"],
                name="retention_hold_record_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.raw_table or self.content_type} #{self.object_id}"
