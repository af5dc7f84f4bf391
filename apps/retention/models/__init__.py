"""Retention rules, legal holds and purge runs (the evidence of what a purge did).

A rule says how long the rows of one target (a model of the installed apps, or a raw table
in another configured database) are kept, counted from which date field, and what happens
to them afterwards (delete, or anonymise field by field). Legal holds block purges of what
they cover. Each execution or preview leaves a ``PurgeRun``. One module per subject
(``rules``, ``holds``, ``runs``); the vocabularies are in ``choices.py`` and the words of a
run's stored codes in ``runtext.py``; every name is available from here.
"""

from ..choices import (
    RUN_REFUSALS,
    AnonymiseStrategy,
    HoldBasis,
    HoldScope,
    PeriodUnit,
    PurgeAction,
    PurgeRunStatus,
    PurgeTrigger,
    RunError,
    RunNote,
    TargetKind,
    TruncateTo,
)
from ..runtext import four_eyes_text, holds_text, run_error_text, run_note_text
from .holds import LegalHold, LegalHoldQuerySet, LegalHoldRecord
from .rules import AnonymisedField, RetentionRule, RetentionRuleQuerySet
from .runs import PurgeRun, PurgeRunQuerySet

__all__ = [
    "RUN_REFUSALS",
    "AnonymiseStrategy",
    "AnonymisedField",
    "HoldBasis",
    "HoldScope",
    "LegalHold",
    "LegalHoldQuerySet",
    "LegalHoldRecord",
    "PeriodUnit",
    "PurgeAction",
    "PurgeRun",
    "PurgeRunQuerySet",
    "PurgeRunStatus",
    "PurgeTrigger",
    "RetentionRule",
    "RetentionRuleQuerySet",
    "RunError",
    "RunNote",
    "TargetKind",
    "TruncateTo",
    "four_eyes_text",
    "holds_text",
    "run_error_text",
    "run_note_text",
]
