"""Retention rules, legal holds and purge runs (the evidence of what a purge did).

A rule says how long the rows of one target (a model of the installed apps, or a raw table
in another configured database) are kept, counted from which date field, and what happens
to them afterwards (delete, or anonymise field by field). Legal holds block purges of what
they cover. Each execution or preview leaves a ``PurgeRun``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset, DataCategory
from jitportal.formats import datetime_display

from .periods import cutoff_for, period_days


class PeriodUnit(models.TextChoices):
    DAYS = "days", _("days")
    MONTHS = "months", _("months")
    YEARS = "years", _("years")


class PurgeAction(models.TextChoices):
    DELETE = "delete", _("Delete the rows")
    ANONYMISE = "anonymise", _("Anonymise the rows (field by field)")


class TargetKind(models.TextChoices):
    MODEL = "model", _("A model of the portal's installed apps")
    RAW_TABLE = "raw_table", _("A raw table in a configured database")


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

    # Plain derived values; the rules about them live in validation.py and services.py.
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
        from .validation import rule_validate

        rule_validate(self)


class AnonymiseStrategy(models.TextChoices):
    NULL = "null", _("Set to empty (NULL)")
    FIXED = "fixed", _("Replace with a fixed value")
    HASH = "hash", _("Replace with a keyed hash (HMAC-SHA256)")
    TRUNCATE_DATE = "truncate_date", _("Truncate the date")


class TruncateTo(models.TextChoices):
    YEAR = "year", _("year")
    MONTH = "month", _("month")
    DAY = "day", _("day")


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
        from .validation import anonymised_field_validate

        anonymised_field_validate(self)


class HoldBasis(models.TextChoices):
    ART_17_3_E = "art17_3_e", _("Art. 17(3)(e): establishment, exercise or defence of legal claims")
    ART_18 = "art18", _("Art. 18: restriction of processing")


class HoldScope(models.TextChoices):
    ASSET = "asset", _("A whole data asset")
    RULE = "rule", _("One retention rule")
    RECORDS = "records", _("Specific records")


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
        from .validation import legal_hold_validate

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


class PurgeRunStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    PARTIAL = "partial", _("Partial (stopped after some batches)")


class PurgeTrigger(models.TextChoices):
    ADMIN = "admin", _("Admin (run now)")
    BEAT = "beat", _("Schedule (Celery beat)")
    COMMAND = "command", _("Management command")
    CODE = "code", _("Code")


class RunError(models.TextChoices):
    """Why a run was refused or stopped, stored as a code with its parameters
    (``PurgeRun.error_code``, ``error_params``) and put in words when it is read, in the
    reader's language (``PurgeRun.error``)."""

    ANOTHER_RUNNING = "another_running", _("another run of the rule was running")
    RULE_PROBLEMS = "rule_problems", _("the rule could not run")
    BATCH_SIZE = "batch_size", _("the batch size was below 1")
    FOUR_EYES = "four_eyes", _("four-eyes confirmation needed")
    STOPPED_BEFORE_START = "stopped_before_start", _("stopped before it began")
    INTERRUPTED = "interrupted", _("interrupted")


#: The codes that mean the run was refused before it changed anything.
RUN_REFUSALS = frozenset(
    {RunError.ANOTHER_RUNNING, RunError.RULE_PROBLEMS, RunError.BATCH_SIZE, RunError.FOUR_EYES}
)


def four_eyes_text(rule: Any, rows: int, threshold: int) -> str:
    """Why a first run waits for a second person, in the active language."""
    return gettext(
        "The first run of “%(rule)s” would purge %(rows)s rows, more than the four-eyes "
        "threshold of %(threshold)s: a second person with the permission to confirm purges "
        "must confirm it first."
    ) % {
        "rule": rule,
        "rows": number_format(rows, force_grouping=True),
        "threshold": number_format(threshold, force_grouping=True),
    }


def run_error_text(code: str, params: dict[str, Any]) -> str:
    """The sentence for a run's error code, in the active language."""
    if code == RunError.ANOTHER_RUNNING:
        return gettext("Refused: another run of this rule is running.")
    if code == RunError.RULE_PROBLEMS:
        return gettext("Refused: %(reason)s") % {
            "reason": " ".join(str(p) for p in params.get("problems", []))
        }
    if code == RunError.BATCH_SIZE:
        return gettext("Refused: the batch size must be at least 1.")
    if code == RunError.FOUR_EYES:
        return gettext("Refused: %(reason)s") % {
            "reason": four_eyes_text(
                params.get("rule", ""), params.get("rows", 0), params.get("threshold", 0)
            )
        }
    if code == RunError.STOPPED_BEFORE_START:
        return gettext("Stopped before it began by %(user)s.") % {"user": params.get("by", "")}
    if code == RunError.INTERRUPTED:
        host = params.get("host") or gettext("unknown host")
        process = (
            gettext("%(host)s, pid %(pid)s") % {"host": host, "pid": params["pid"]}
            if params.get("pid")
            else host
        )
        at = parse_datetime(params.get("at") or "")
        return gettext(
            "Interrupted: the process running it (%(process)s) ended without finishing; "
            "closed by %(user)s at %(time)s. A new run continues where it stopped."
        ) % {
            "process": process,
            "user": params.get("by", ""),
            "time": datetime_display(at) if at else "",
        }
    return code


class RunNote(models.TextChoices):
    """What a run records about itself besides its counters, stored as codes with their
    parameters (``PurgeRun.note_codes``) and put in words when read (``PurgeRun.note``)."""

    WOULD_GO = "would_go", _("what a dry run would do")
    HELD = "held", _("nothing purged: a hold covers the rule")
    STOPPED = "stopped", _("stopped on request")
    HOLD_PLACED = "hold_placed", _("stopped: a hold was placed")
    NOT_COUNTED = "not_counted", _("total not counted beside the run")
    NOT_COUNTED_INTERRUPTED = "not_counted_interrupted", _("total not counted before the end")
    FOUR_EYES_CONFIRMED = "four_eyes_confirmed", _("four eyes: asked for and confirmed")


def holds_text(holds: list[tuple[int, str]] | list[list[Any]]) -> str:
    """Whole-rule holds as people read them: "legal hold #3 on …; legal hold #5 on …"."""
    return "; ".join(
        gettext("legal hold #%(id)s on %(covers)s") % {"id": pk, "covers": covers}
        for pk, covers in holds
    )


def run_note_text(code: str, params: dict[str, Any]) -> str:
    """The sentence for one of a run's note codes, in the active language."""
    if code == RunNote.WOULD_GO:
        rows = number_format(params.get("rows", 0), force_grouping=True)
        parts = [
            gettext("Would delete %(rows)s row(s).") % {"rows": rows}
            if params.get("action") == PurgeAction.DELETE
            else gettext("Would anonymise %(rows)s row(s).") % {"rows": rows}
        ]
        if params.get("holds"):
            parts.append(gettext("Blocked by %(holds)s.") % {"holds": holds_text(params["holds"])})
        if params.get("four_eyes"):
            parts.append(gettext("Needs four-eyes confirmation first."))
        return " ".join(parts)
    if code == RunNote.HELD:
        return gettext("Nothing purged: %(holds)s covers this rule.") % {
            "holds": holds_text(params.get("holds", []))
        }
    if code == RunNote.STOPPED:
        return gettext("Stopped on request.")
    if code == RunNote.HOLD_PLACED:
        return gettext("Stopped: %(holds)s was placed during the run.") % {
            "holds": holds_text(params.get("holds", []))
        }
    if code == RunNote.NOT_COUNTED:
        return gettext("The total was not counted beside the run; matched is the rows examined.")
    if code == RunNote.NOT_COUNTED_INTERRUPTED:
        return gettext(
            "The total was not counted before the run ended; matched is the rows examined."
        )
    if code == RunNote.FOUR_EYES_CONFIRMED:
        return gettext(
            "Four eyes: asked for by %(requested_by)s, confirmed by %(confirmed_by)s."
        ) % {
            "requested_by": params.get("requested_by", ""),
            "confirmed_by": params.get("confirmed_by", ""),
        }
    return code


class PurgeRunQuerySet(models.QuerySet["PurgeRun"]):
    def real(self) -> PurgeRunQuerySet:
        return self.filter(dry_run=False)

    def running(self) -> PurgeRunQuerySet:
        return self.filter(status=PurgeRunStatus.RUNNING)

    def done(self) -> PurgeRunQuerySet:
        return self.filter(
            status__in=[PurgeRunStatus.SUCCEEDED, PurgeRunStatus.PARTIAL, PurgeRunStatus.FAILED]
        )


class PurgeRun(models.Model):
    """Evidence of one purge (or preview): what it matched, did and skipped, never the data."""

    rule = models.ForeignKey(
        RetentionRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="runs"
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    trigger = models.CharField(_("trigger"), max_length=10, choices=PurgeTrigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("actor label"), max_length=150)
    # The rule as it was when the run was planned (period, filter, fields, reason, ...).
    rule_snapshot = models.JSONField(_("rule snapshot"), default=dict)
    action = models.CharField(_("action"), max_length=10, choices=PurgeAction.choices)
    cutoff = models.DateTimeField(_("cutoff"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=PurgeRunStatus.choices,
        default=PurgeRunStatus.PLANNED,
        db_index=True,
    )
    batch_size = models.PositiveIntegerField(_("batch size"), default=0)
    matched = models.BigIntegerField(
        _("matched"),
        default=0,
        help_text=_("Rows past the cutoff and matching the filter when the run began."),
    )
    affected = models.BigIntegerField(
        _("affected"), default=0, help_text=_("Rows deleted or anonymised.")
    )
    skipped_held = models.BigIntegerField(
        _("skipped held"), default=0, help_text=_("Rows kept by a legal hold.")
    )
    skipped_protected = models.BigIntegerField(
        _("skipped protected"),
        default=0,
        help_text=_("Rows kept because other rows still refer to them (PROTECT)."),
    )
    batches = models.PositiveIntegerField(_("batches"), default=0)
    last_key = models.CharField(
        _("last key"), max_length=64, blank=True, help_text=_("Last key range done.")
    )
    digest = models.CharField(
        _("digest"),
        max_length=64,
        blank=True,
        help_text=_(
            "SHA-256 over the affected keys in ascending order, each followed by a "
            "newline: evidence of which rows went without keeping them."
        ),
    )
    sample = models.JSONField(_("sample"), default=list, blank=True)
    # What the run records about itself: codes with their parameters, put in words when
    # read, after the stored text of runs from before the codes. ``note`` reads both.
    note_codes = models.JSONField(_("note codes"), default=list, blank=True)
    note_detail = models.TextField(_("note detail"), blank=True)
    # Why the run was refused or stopped (a code and its parameters, put in words when read),
    # and below it an error's own text (an exception) or, on runs from before the codes, the
    # stored sentence. ``error`` reads both.
    error_code = models.CharField(_("error"), max_length=30, blank=True, choices=RunError.choices)
    error_params = models.JSONField(_("error params"), default=dict, blank=True)
    error_detail = models.TextField(_("error detail"), blank=True)
    stop_requested_at = models.DateTimeField(_("stop requested at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, db_index=True)
    heartbeat_at = models.DateTimeField(_("heartbeat at"), null=True, blank=True)
    # Where the run executes: with the heartbeat, tells a live run from one whose process is
    # gone on databases without advisory locks (liveness.py).
    host = models.CharField(_("host"), max_length=150, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)
    interrupted_at = models.DateTimeField(
        _("interrupted at"),
        null=True,
        blank=True,
        help_text=_("When the run was found with its process gone and closed as interrupted."),
    )

    objects = PurgeRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("purge run")
        verbose_name_plural = _("purge runs")
        ordering = ["-created_at", "-id"]
        # Runs are written by the engine only; people read them.
        default_permissions = ("view",)
        indexes = [models.Index(fields=["rule", "status"], name="retention_run_rule_status")]

    def __str__(self) -> str:
        if self.dry_run:
            return gettext("Preview #%(id)s of %(rule)s") % {"id": self.pk, "rule": self.rule}
        return gettext("Run #%(id)s of %(rule)s") % {"id": self.pk, "rule": self.rule}

    @property
    def error(self) -> str:
        """What went wrong, in the reader's language (empty when nothing did)."""
        parts = [run_error_text(self.error_code, self.error_params)] if self.error_code else []
        if self.error_detail:
            parts.append(self.error_detail)
        return "\n".join(parts)

    @property
    def note(self) -> str:
        """What the run records about itself, in the reader's language."""
        parts = [self.note_detail] if self.note_detail else []
        parts += [run_note_text(code, params) for code, params in self.note_codes]
        return "\n".join(parts)

    def add_note(self, code: str, **params: Any) -> None:
        """Record a note (saved with ``note_codes`` in the caller's update_fields)."""
        self.note_codes = [*self.note_codes, [code, params]]

    @property
    def refused(self) -> bool:
        return self.error_code in RUN_REFUSALS

    @property
    def done_rows(self) -> int:
        return self.affected + self.skipped_held + self.skipped_protected

    @property
    def matched_label(self) -> str:
        """``matched`` for people: while the total is still being counted beside the first
        batches of a run, says so instead of 0."""
        if not self.matched and self.done_rows and self.status == PurgeRunStatus.RUNNING:
            return gettext("counting…")
        return number_format(self.matched, force_grouping=True)

    @property
    def percent(self) -> int:
        if self.status == PurgeRunStatus.SUCCEEDED or not self.matched:
            return 100 if self.status == PurgeRunStatus.SUCCEEDED else 0
        return min(100, int(100 * self.done_rows / self.matched))
