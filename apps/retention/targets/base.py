"""The interface every target kind implements, and what the kinds share.

A ``Target`` counts and samples the rows a rule matches (preview), gives the key bounds of
the match, and purges one primary-key range ``[lo, hi)`` inside the caller's transaction.
Each kind also says what is wrong with a rule aimed at it (``rule_problems``), so rule
validation asks the kind instead of knowing every kind's limits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from django.db import connections, models
from django.utils import timezone

from ..holds import HoldState
from ..models import RetentionRule

# Keeps statements under every backend's parameter limit on the portable path.
_PORTABLE_SLICE = 500
AUDIT_LABEL = "audit.auditevent"
# Stand-ins for a batch's key range while its SQL is compiled once per run.
_RANGE_LO = -(2**62) + 17
_RANGE_HI = -(2**62) + 18
AUDIT_PURGED_ACTION = "audit.trail.purged"  # the audit app vouches for anchors it names


@dataclass
class Counts:
    matched: int = 0
    held: int = 0
    protected: int = 0

    @property
    def would_go(self) -> int:
        return max(0, self.matched - self.held - self.protected)


# A batch's changed keys in ascending order, one per line, for the digest. They are sorted
# as plain integers in a subquery the aggregate reads in order: PostgreSQL 15 sorts an
# ``ORDER BY`` inside ``string_agg`` as whole (text, key) rows, which cost about a third of
# the plain DELETE's time; the integer sort costs about 3 % of it.
_KEYS_AGG = "coalesce(string_agg(k::text, chr(10)), '')"
_KEYS_SORTED = "(SELECT k FROM purge_d ORDER BY k) AS purge_o"


@dataclass
class ChunkResult:
    examined: int = 0
    affected: int = 0
    held: int = 0
    protected: int = 0
    keys: str = ""  # affected keys, ascending, one per line


@dataclass
class RunContext:
    """Who runs the purge, for the events a target records itself (audit anchors)."""

    run_id: int | None = None
    rule_id: int | None = None
    actor: Any = None
    actor_label: str = ""


class Target(ABC):
    """One rule's rows, purged in primary-key ranges."""

    def __init__(
        self,
        rule: RetentionRule,
        *,
        cutoff: datetime,
        now: datetime | None = None,
        single_statement: bool | None = None,
        context: RunContext | None = None,
    ) -> None:
        self.rule = rule
        self.cutoff = cutoff
        # When the run began: the moment anonymised rows are marked with.
        self.now = now or timezone.now()
        self.context = context or RunContext(rule_id=rule.pk)
        self.single_statement = (
            self.connection.vendor == "postgresql" if single_statement is None else single_statement
        )

    @classmethod
    @abstractmethod
    def rule_problems(cls, rule: RetentionRule) -> list[tuple[str, str]]:
        """What is wrong with ``rule`` for this kind of target, as (field, message) pairs."""

    # where the rows are
    @property
    @abstractmethod
    def using(self) -> str: ...

    @property
    def connection(self):
        return connections[self.using]

    @property
    @abstractmethod
    def label(self) -> str: ...

    # preview
    @abstractmethod
    def counts(self, holds: HoldState) -> Counts: ...

    @abstractmethod
    def sample(self, holds: HoldState, size: int = 10) -> list[dict[str, Any]]: ...

    def count_matched(self) -> int:
        """Rows past the cutoff that match the rule, held or not (cheaper than counts())."""
        return self.counts(HoldState()).matched

    # execution
    @abstractmethod
    def key_bounds(self) -> tuple[int, int] | None: ...

    @abstractmethod
    def next_key(self, after: int, upper: int) -> int | None:
        """The first matching key in ``[after, upper]``: skips gaps between matches."""

    @abstractmethod
    def run_chunk(self, lo: int, hi: int, holds: HoldState) -> ChunkResult:
        """Purge the matching rows with ``lo <= key < hi``; runs in the caller's transaction."""


def installed_model(rule: RetentionRule) -> type[models.Model] | None:
    """The model a model rule names, as named (a proxy stays a proxy), or None."""
    return rule.content_type.model_class() if rule.content_type else None


def rule_model(rule: RetentionRule) -> type[models.Model]:
    """The concrete model a model rule targets (validation has checked it is installed)."""
    model = rule.content_type.model_class() if rule.content_type else None
    if model is None:
        raise LookupError(f"rule {rule.pk}: its target model is not installed")
    return cast(type[models.Model], model._meta.concrete_model)


def _text(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _slices(items: list, size: int = _PORTABLE_SLICE):
    for start in range(0, len(items), size):
        yield items[start : start + size]
