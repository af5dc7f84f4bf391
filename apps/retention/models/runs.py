"""Purge runs: the evidence of what a purge (or a preview) matched, did and skipped."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..choices import RUN_REFUSALS, PurgeAction, PurgeRunStatus, PurgeTrigger, RunError
from ..runtext import run_error_text, run_note_text
from .rules import RetentionRule


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
