"""The purge engine: a planned run walks primary-key ranges of the rows its rule matches,
one transaction per batch, re-selecting from the rule's filter every batch, so a run that
stops (error, stop request, hold, lost worker) can simply be started again. Each batch
commits its rows together with the run's counters, so the PurgeRun always says exactly
what was done (architecture.md, invariant 6).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record

from ..counting import MatchCount
from ..holds import hold_state, purge_batch_begin
from ..liveness import run_process_gone, this_host
from ..models import PurgeRun, PurgeRunStatus, RetentionRule, RunError, RunNote
from ..selectors import four_eyes_needed, rule_has_real_run, rule_runtime_problems
from ..targets import RunContext, target_for
from .common import (
    _RUN_LOCK_NAMESPACE,
    MAX_ERROR_LENGTH,
    PurgeAlreadyRunning,
    _finish_event,
    _four_eyes_request,
    _snapshot_run,
)
from .interrupted import _close_interrupted

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _session_lock(namespace: int, key: int) -> Iterator[bool]:
    """PostgreSQL: a session-level advisory lock ``(namespace, key)`` taken without waiting;
    whether it was taken. Held until the block ends, or until the session does (a process
    that dies lets go of it with its connection)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
            except Exception:  # a broken connection released the lock with it
                logger.warning("could not release lock %s/%s", namespace, key, exc_info=True)


@contextlib.contextmanager
def _run_lock(rule: RetentionRule) -> Iterator[bool]:
    """Whether this process may run ``rule`` now; held until the block ends."""
    if connection.vendor != "postgresql":
        # Without advisory locks: a running run whose process is still there owns the rule
        # (SQLite serialises writers, so this check-and-start cannot race).
        yield not any(not run_process_gone(run) for run in rule.runs.running())
        return
    with _session_lock(_RUN_LOCK_NAMESPACE, rule.pk) as acquired:
        yield acquired


# Session-level advisory lock per run while a process executes it (PostgreSQL): "jprc".
_RUN_CLAIM_NAMESPACE = 0x6A707263


@contextlib.contextmanager
def _run_claim(run_id: int) -> Iterator[bool]:
    """Whether this process is the one executing run ``run_id``; held until the block ends.

    The claim of a run is what ``SELECT ... FOR UPDATE SKIP LOCKED`` is for the reconcile's
    rows: taken without waiting, and a run someone else holds is skipped. A run spans many
    transactions, so the claim is a session-level advisory lock, dropped by PostgreSQL with
    the session when the process dies. The same message delivered twice (a worker lost,
    two beats queueing a forgotten run) thus executes the run once, and the second delivery
    is not mistaken for another run of the rule (which is refused as ANOTHER_RUNNING).
    """
    if connection.vendor != "postgresql":
        yield True  # SQLite serialises writers; the run's status is checked under them
        return
    with _session_lock(_RUN_CLAIM_NAMESPACE, run_id) as claimed:
        yield claimed


ProgressCallback = Callable[[PurgeRun], None]


def purge_run_execute(
    *,
    run_id: int,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
    single_statement: bool | None = None,
) -> PurgeRun:
    """Execute a planned real run: batches of primary-key ranges, one transaction each.

    Returns the run in its final state (succeeded, partial or failed; an error is kept in
    ``run.error``, not raised); a run that is not planned (or is a dry run) is returned as
    it is, and so is a run another process is executing at this moment (``_run_claim``).
    ``progress(run)`` is called after every committed batch. Raises PurgeAlreadyRunning
    when another run of the rule holds it, PurgeRun.DoesNotExist when there is no such run,
    and RuntimeError inside a caller's transaction (every batch commits on its own:
    architecture.md, invariant 6).
    """
    with _run_claim(run_id) as claimed:
        if not claimed:
            return PurgeRun.objects.select_related("rule").get(pk=run_id)
        return _execute_claimed(
            run_id=run_id,
            batch_size=batch_size,
            progress=progress,
            single_statement=single_statement,
        )


def _execute_claimed(
    *,
    run_id: int,
    batch_size: int | None,
    progress: ProgressCallback | None,
    single_statement: bool | None,
) -> PurgeRun:
    run = PurgeRun.objects.select_related("rule").get(pk=run_id)
    rule = run.rule
    with _run_lock(rule) as acquired:
        if not acquired:
            with transaction.atomic(durable=True):
                PurgeRun.objects.filter(pk=run.pk, status=PurgeRunStatus.PLANNED).update(
                    status=PurgeRunStatus.FAILED,
                    error_code=RunError.ANOTHER_RUNNING,
                    finished_at=timezone.now(),
                )
            raise PurgeAlreadyRunning(
                _("Another run of “%(rule)s” is running; try again later.") % {"rule": rule}
            )
        started = _start(run=run, batch_size=batch_size)
        if started is None:
            run.refresh_from_db()
            return run
        run, target, count = started
        return _walk(
            run=run,
            target=target,
            count=count,
            progress=progress,
            single_statement=single_statement,
        )


def _start(*, run: PurgeRun, batch_size: int | None):
    now = timezone.now()
    with transaction.atomic(durable=True):
        rule = RetentionRule.objects.select_for_update().get(pk=run.rule_id)
        run = PurgeRun.objects.select_for_update().get(pk=run.pk)
        if run.status != PurgeRunStatus.PLANNED or run.dry_run:
            return None
        _close_interrupted(rule, keep=run.pk, actor=None)
        actor = run.started_by
        _snapshot_run(run, rule)
        problems = rule_runtime_problems(rule, now=now)
        size = batch_size or rule.batch_size or settings.JITPORTAL["PURGE_BATCH_SIZE"]
        run.batch_size = size
        run.started_at = run.heartbeat_at = now
        run.host, run.pid = this_host(), os.getpid()
        if problems:
            run.status = PurgeRunStatus.FAILED
            run.error_code = RunError.RULE_PROBLEMS
            run.error_params = {"problems": [str(p) for p in problems]}
            run.finished_at = now
            run.save()
            _finish_event(run, actor)
            return None
        if size < 1:
            run.status = PurgeRunStatus.FAILED
            run.error_code = RunError.BATCH_SIZE
            run.finished_at = now
            run.save()
            _finish_event(run, actor)
            return None
        run.cutoff = rule.cutoff(now)
        context = RunContext(
            run_id=run.pk, rule_id=rule.pk, actor=actor, actor_label=run.actor_label
        )
        target = target_for(rule, cutoff=run.cutoff, now=now, context=context)
        holds = hold_state(rule)
        if rule_has_real_run(rule) and not holds.blocks_rule:
            # Held and protected rows are counted batch by batch; only the total is needed
            # (for progress), and it is counted beside the batches (counting.py).
            counts = None
        else:
            counts = target.counts(holds)
            run.matched = counts.matched
        if counts is not None and four_eyes_needed(rule, would_go=counts.would_go):
            run.status = PurgeRunStatus.FAILED
            _four_eyes_request(rule, actor, run.actor_label, counts.would_go)
            run.error_code = RunError.FOUR_EYES
            run.error_params = {
                "rule": str(rule),
                "rows": counts.would_go,
                "threshold": settings.JITPORTAL["PURGE_FOUR_EYES_THRESHOLD"],
            }
            run.finished_at = now
            run.save()
            _finish_event(run, actor)
            return None
        run.status = PurgeRunStatus.RUNNING
        if holds.blocks_rule and counts is not None:
            # Nothing goes; the run is the evidence that the hold was respected.
            run.skipped_held = counts.matched
            run.add_note(RunNote.HELD, holds=list(holds.blocking))
            run.status = PurgeRunStatus.SUCCEEDED
            run.finished_at = now
        run.digest = hashlib.sha256().hexdigest()
        run.save()
        audit_event_record(
            action="retention.purge.started",
            actor=actor,
            actor_label=run.actor_label,
            target=run,
            data={
                "rule_id": rule.pk,
                "rule": run.rule_snapshot,
                "cutoff": run.cutoff,
                # Counted beside the batches on later runs: in the finished event then.
                "matched": counts.matched if counts is not None else None,
                "would_go": counts.would_go if counts is not None else None,
                "batch_size": size,
                "trigger": run.trigger,
            },
        )
        if run.status == PurgeRunStatus.SUCCEEDED:
            _finish_event(run, actor)
            return None
    # Outside the transaction: a second connection sees committed rows only, so under a
    # caller's open transaction the count is taken on this connection instead.
    count = MatchCount.start(target) if counts is None else None
    return run, target, count


def _walk(
    *, run: PurgeRun, target, count: MatchCount | None, progress, single_statement
) -> PurgeRun:
    if single_statement is not None:
        target.single_statement = single_statement
    hasher = hashlib.sha256()
    actor = run.started_by
    outcome, message = PurgeRunStatus.SUCCEEDED, ""
    note: tuple[str, dict] | None = None
    try:
        if count is not None:
            count.wait_ready()
        bounds = target.key_bounds()
        lo: int | None = bounds[0] if bounds else None
        upper: int = bounds[1] if bounds else 0
        while lo is not None and lo <= upper:
            hi = min(lo + run.batch_size, upper + 1)
            with transaction.atomic(durable=True):
                purge_batch_begin()
                stop = PurgeRun.objects.filter(pk=run.pk).values_list(
                    "stop_requested_at", flat=True
                )
                if stop[0] is not None:
                    outcome, note = PurgeRunStatus.PARTIAL, (RunNote.STOPPED, {})
                    break
                holds = hold_state(run.rule)
                if holds.blocks_rule:
                    outcome = PurgeRunStatus.PARTIAL
                    note = (RunNote.HOLD_PLACED, {"holds": list(holds.blocking)})
                    break
                result = target.run_chunk(lo, hi, holds)
                if result.keys:
                    hasher.update(result.keys.encode() + b"\n")
                run.affected += result.affected
                run.skipped_held += result.held
                run.skipped_protected += result.protected
                run.batches += 1
                run.last_key = str(hi - 1)
                run.digest = hasher.hexdigest()
                run.heartbeat_at = timezone.now()
                fields = [
                    "affected",
                    "skipped_held",
                    "skipped_protected",
                    "batches",
                    "last_key",
                    "digest",
                    "heartbeat_at",
                ]
                if count is not None and count.value is not None and not run.matched:
                    run.matched = count.value
                    fields.append("matched")
                run.save(update_fields=fields)
            if progress is not None:
                progress(run)
            # Rows in this range: the next range most likely has some too. None: jump the gap.
            lo = hi if result.examined else target.next_key(hi, upper)
    except BaseException as exc:
        outcome = PurgeRunStatus.PARTIAL if run.batches else PurgeRunStatus.FAILED
        message = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        logger.exception("purge run %s of rule %s stopped", run.pk, run.rule_id)
        # A run stopped by an error or a signal does not wait long for the count.
        _record_matched(run, count, timeout=5.0)
        _finish(run, outcome, actor, error=message)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: record, then let it end the process
        return run
    _record_matched(run, count)
    _finish(run, outcome, actor, note=note)
    return run


def _record_matched(
    run: PurgeRun, count: MatchCount | None, *, timeout: float | None = None
) -> None:
    """Save the total counted beside the run, once it is in (usually long before the last
    batch). If the count failed, or is not done within ``timeout``, the rows the batches
    examined stand in for it, and a note says so."""
    if count is None or run.matched:
        return
    value = count.result(timeout)
    if value is None:
        value = run.done_rows
        run.add_note(RunNote.NOT_COUNTED)
    run.matched = value
    PurgeRun.objects.filter(pk=run.pk).update(matched=run.matched, note_codes=run.note_codes)


def _finish(
    run: PurgeRun,
    outcome: str,
    actor,
    *,
    error: str = "",
    note: tuple[str, dict] | None = None,
) -> None:
    with transaction.atomic():
        locked = PurgeRun.objects.select_for_update().get(pk=run.pk)
        locked.status = outcome
        locked.finished_at = timezone.now()
        if error:
            locked.error_detail = error
        if note is not None:
            locked.add_note(note[0], **note[1])
        locked.save(update_fields=["status", "finished_at", "error_detail", "note_codes"])
        _finish_event(locked, actor)
    run.refresh_from_db()
