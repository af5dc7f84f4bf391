"""Which legal holds are in force for a rule, read once per batch.

A hold on the rule or on its asset (or on an asset whose governed model the rule targets)
blocks the whole rule. Holds on records are applied row by row by the target, so only the
content types and raw tables that have held records are listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q

from .models import HoldScope, LegalHold, LegalHoldRecord, RetentionRule, TargetKind, holds_text

# Taken shared by every purge batch and exclusively by placing a hold, so a hold placed
# while a batch runs takes effect from the next batch and never half-way through one.
HOLD_LOCK_KEY = 0x6A706C68  # "jplh"


@dataclass(frozen=True)
class HoldState:
    blocking: tuple[tuple[int, str], ...] = ()  # (hold id, what it covers) of whole-rule holds
    record_cts: frozenset[int] = field(default_factory=frozenset)
    raw_tables: frozenset[str] = field(default_factory=frozenset)

    @property
    def blocks_rule(self) -> bool:
        return bool(self.blocking)

    def blocking_label(self) -> str:
        return holds_text(list(self.blocking))


def hold_state(rule: RetentionRule) -> HoldState:
    scope = Q(scope=HoldScope.RULE, rule_id=rule.pk) | Q(
        scope=HoldScope.ASSET, asset_id=rule.asset_id
    )
    if rule.target_kind == TargetKind.MODEL and rule.content_type_id:
        scope |= Q(scope=HoldScope.ASSET, asset__governed_model_id=rule.content_type_id)
    blocking = tuple(
        (hold.pk, hold.covers_label)
        for hold in LegalHold.objects.active()
        .filter(scope)
        .select_related("asset__system", "rule")
        .order_by("pk")
    )
    rows = (
        LegalHoldRecord.objects.filter(hold__lifted_at__isnull=True)
        .order_by()  # the model's ordering would make DISTINCT return every held record
        .values_list("content_type_id", "raw_table")
        .distinct()
    )
    cts = frozenset(ct for ct, raw in rows if ct is not None)
    raws = frozenset(raw for ct, raw in rows if raw)
    return HoldState(blocking=blocking, record_cts=cts, raw_tables=raws)


def purge_batch_begin() -> None:
    """First statement of a purge batch's transaction (PostgreSQL; one round trip):

    - wait for a hold being placed, then keep holds still until the batch commits;
    - no JIT: the hold and cascade sub-plans inflate the cost estimate past
      ``jit_above_cost``, and compiling the plan would cost more than the batch itself;
    - no wait for the WAL flush at commit: the batch's rows and the run's counters commit
      together, so a server crash can only lose the last batches whole, and the next run
      redoes them. Every batch would otherwise wait for an fsync;
    - bitmap scans rather than plain index scans: a batch reads a whole key range, and
      visiting it page by page makes the DELETE ... RETURNING about a quarter faster
      (measured with bench/bench_purge.py);
    - 64 MB of ``work_mem``: the batch's returned keys are kept (and sorted) in memory; with
      the default 4 MB those of a 100,000-row batch spilled to a temporary file.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s), set_config('jit', 'off', true), "
                "set_config('synchronous_commit', 'off', true), "
                "set_config('enable_indexscan', 'off', true), "
                "set_config('work_mem', '64MB', true)",
                [HOLD_LOCK_KEY],
            )


def holds_lock_exclusive() -> None:
    """Placing a hold: wait for the batches in flight to commit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [HOLD_LOCK_KEY])
