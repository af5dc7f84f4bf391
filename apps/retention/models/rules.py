"""Retention rules and the fields an anonymise rule rewrites."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.inventory.models import DataAsset, DataCategory

from ..choices import AnonymiseStrategy, PeriodUnit, PurgeAction, TargetKind, TruncateTo
from ..periods import cutoff_for, period_days


class RetentionRuleQuerySet(models.QuerySet["RetentionRule"]):
    def enabled(self) -> RetentionRuleQuerySet:
        return self.filter(enabled=True)

    def for_assets(self, asset_ids) -> RetentionRuleQuerySet:
        return self.filter(asset_id__in=list(asset_ids))


class RetentionRule(models.Model):
    """How long the rows of one target are kept, and what happens to them afterwards."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    asset = models.ForeignKey(
        DataAsset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="retention_rules"
    )
    category = models.ForeignKey(
        DataCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retention_rules",
        help_text=_("Optional: the category of data of the asset this rule is about."),
    )

    # --- the target ------------------------------------------------------------------------
    target_kind = models.CharField(
        _("target kind"), max_length=10, choices=TargetKind.choices, default=TargetKind.MODEL
    )
    content_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("target model"),
        help_text=_("The model whose rows this rule purges (for a model target)."),
    )
    raw_database = models.CharField(
        _("raw database"),
        max_length=100,
        blank=True,
        help_text=_("Raw table target: the database alias in settings.DATABASES."),
    )
    raw_table = models.CharField(
        _("raw table"), max_length=200, blank=True, help_text=_("Raw table target.")
    )
    raw_key_column = models.CharField(
        _("raw key column"),
        max_length=100,
        blank=True,
        help_text=_("Raw table target: its integer key column."),
    )
    date_field = models.CharField(
        _("date field"),
        max_length=100,
        help_text=_(
            "The date or date/time field the period counts from, e.g. created_at, "
            "last_activity_at, contract_ended_on (a column name for a raw table)."
        ),
    )
    filter = models.JSONField(
        _("filter"),
        default=dict,
        blank=True,
        help_text=_(
            'Only rows matching these field lookups, e.g. {"status": "closed"} or '
            '{"status__in": ["denied", "lapsed"]}. Empty: every row past the period.'
        ),
    )

    # --- the period and the action ---------------------------------------------------------
    period_amount = models.PositiveIntegerField(_("period"))
    period_unit = models.CharField(_("period unit"), max_length=6, choices=PeriodUnit.choices)
    action = models.CharField(_("action"), max_length=10, choices=PurgeAction.choices)
    anonymised_marker_field = models.CharField(
        _("anonymised marker field"),
        max_length=100,
        blank=True,
        help_text=_(
            "Anonymise: a nullable date/time field set when a row is anonymised "
            "(e.g. anonymised_at); rows with it set are not matched again."
        ),
    )

    # --- why -------------------------------------------------------------------------------
    legal_reason = models.TextField(
        _("legal reason"), help_text=_("Why the data is kept this long and no longer.")
    )
    legal_citation = models.CharField(
        _("legal citation"),
        max_length=255,
        help_text=_(
            "The law, contract or guidance the period rests on, "
            "e.g. 'Limitation Act 1980 s.5; Art. 5(1)(e) GDPR'."
        ),
    )

    # --- operation -------------------------------------------------------------------------
    enabled = models.BooleanField(_("enabled"), default=True)
    run_every_days = models.PositiveSmallIntegerField(
        _("run every days"),
        default=1,
        help_text=_("Beat runs the rule when its last real run is this many days old."),
    )
    batch_size = models.PositiveIntegerField(
        _("batch size"),
        null=True,
        blank=True,
        help_text=_("Rows per batch (one transaction each); empty: the portal's default."),
    )

    # --- four eyes before the first large real run (written by services only) ----------------
    confirmation_requested_at = models.DateTimeField(
        _("confirmation requested at"), null=True, blank=True, editable=False
    )
    confirmation_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmation requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    confirmation_requested_label = models.CharField(
        _("confirmation requested label"), max_length=150, blank=True, editable=False
    )
    confirmation_rows = models.BigIntegerField(
        _("confirmation rows"), null=True, blank=True, editable=False
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    # Digest of the rule's settings when confirmed: a changed rule needs a new confirmation.
    confirmed_settings_digest = models.CharField(
        _("confirmed settings digest"), max_length=64, blank=True, editable=False
    )

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    objects = RetentionRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        ordering = ["asset__system__name", "asset__name", "name"]
        permissions = [
            ("run_purge", _("Can preview and run a purge")),
            ("confirm_purge", _("Can confirm the first large purge of a rule (four eyes)")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_amount__gt=0), name="retention_rule_period_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    # Plain derived values; the rules about them live in validation.py and services/.
    @property
    def period_label(self) -> str:
        amount = self.period_amount
        if self.period_unit == PeriodUnit.DAYS:
            text = ngettext("%(count)s day", "%(count)s days", amount)
        elif self.period_unit == PeriodUnit.MONTHS:
            text = ngettext("%(count)s month", "%(count)s months", amount)
        elif self.period_unit == PeriodUnit.YEARS:
            text = ngettext("%(count)s year", "%(count)s years", amount)
        else:
            return f"{amount} {self.period_unit}"
        return text % {"count": amount}

    @property
    def target_label(self) -> str:
        if self.target_kind == TargetKind.RAW_TABLE:
            return f"{self.raw_database}:{self.raw_table}"
        model = self.content_type.model_class() if self.content_type else None
        return model._meta.label if model is not None else "?"

    def cutoff(self, now: datetime | None = None) -> datetime:
        return cutoff_for(
            now=now or timezone.now(), amount=self.period_amount, unit=self.period_unit
        )

    def period_in_days(self, now: datetime | None = None) -> int:
        return period_days(
            now=now or timezone.now(), amount=self.period_amount, unit=self.period_unit
        )

    def clean(self) -> None:
        from ..validation import rule_validate

        rule_validate(self)


class AnonymisedField(models.Model):
    """One field an anonymise rule rewrites, and how."""

    rule = models.ForeignKey(
        RetentionRule,
        verbose_name=_("rule"),
        on_delete=models.CASCADE,
        related_name="anonymised_fields",
    )
    field_name = models.CharField(_("field name"), max_length=100)
    strategy = models.CharField(_("strategy"), max_length=15, choices=AnonymiseStrategy.choices)
    value = models.CharField(
        _("value"),
        max_length=255,
        blank=True,
        help_text=_("The fixed value (for 'fixed value' only)."),
    )
    truncate_to = models.CharField(
        _("truncate to"),
        max_length=5,
        choices=TruncateTo.choices,
        blank=True,
        help_text=_("For 'truncate the date': keep only the year, month or day."),
    )

    class Meta:
        verbose_name = _("anonymised field")
        verbose_name_plural = _("anonymised fields")
        ordering = ["rule", "field_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "field_name"], name="retention_one_strategy_per_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.field_name}: {self.get_strategy_display()}"

    def clean(self) -> None:
        from ..validation import anonymised_field_validate

        anonymised_field_validate(self)
