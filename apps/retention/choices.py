"""The fixed vocabularies of the retention app: periods, actions, targets, strategies, hold
bases and scopes, run statuses and triggers, and the codes a run stores instead of prose."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class AnonymiseStrategy(models.TextChoices):
    NULL = "null", _("Set to empty (NULL)")
    FIXED = "fixed", _("Replace with a fixed value")
    HASH = "hash", _("Replace with a keyed hash (HMAC-SHA256)")
    TRUNCATE_DATE = "truncate_date", _("Truncate the date")


class TruncateTo(models.TextChoices):
    YEAR = "year", _("year")
    MONTH = "month", _("month")
    DAY = "day", _("day")


class HoldBasis(models.TextChoices):
    ART_17_3_E = "art17_3_e", _("Art. 17(3)(e): establishment, exercise or defence of legal claims")
    ART_18 = "art18", _("Art. 18: restriction of processing")


class HoldScope(models.TextChoices):
    ASSET = "asset", _("A whole data asset")
    RULE = "rule", _("One retention rule")
    RECORDS = "records", _("Specific records")


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


#: The codes that mean the run was refused before it changed anything.
RUN_REFUSALS = frozenset(
    {RunError.ANOTHER_RUNNING, RunError.RULE_PROBLEMS, RunError.BATCH_SIZE, RunError.FOUR_EYES}
)
