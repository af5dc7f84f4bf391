"""Writes of the retention app: rules, legal holds, four-eyes confirmations and purges.

The purge engine (``purge_run_execute``) walks primary-key ranges of the rows a rule
matches, one transaction per batch, re-selecting from the rule's filter every batch, so a
run that stops (error, stop request, hold, lost worker) can simply be started again. Each
batch commits its rows together with the run's counters, so the PurgeRun always says
exactly what was done.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import audit_event_record
from apps.inventory.models import DataAsset
from jitportal.formats import date_display, datetime_display
from jitportal.inputs import has_visible_text, text_problem
from jitportal.tasking import enqueue_on_commit

from .counting import MatchCount
from .holds import hold_state, holds_lock_exclusive, purge_batch_begin
from .liveness import RUN_LOCK_NAMESPACE, run_process_gone, this_host
from .models import (
    AnonymisedField,
    HoldScope,
    LegalHold,
    LegalHoldRecord,
    PurgeRun,
    PurgeRunStatus,
    PurgeTrigger,
    RetentionRule,
)
from .selectors import (
    four_eyes_needed,
    purge_preview,
    rule_due_state,
    rule_has_real_run,
    rule_runtime_problems,
    rule_settings_digest,
    rule_snapshot,
)
from .targets import RunContext, target_for
from .validation import hold_record_ids_problem, parse_ids

logger = logging.getLogger(__name__)

# Session-level advisory lock per rule while a run executes (PostgreSQL): a second run of
# the same rule is refused, and a run whose process died releases it with its connection.
_RUN_LOCK_NAMESPACE = RUN_LOCK_NAMESPACE
MAX_ERROR_LENGTH = 4000
# A planned real run no worker has started after this long is queued again.
REQUEUE_PLANNED_AFTER = timedelta(minutes=10)


class PurgeRefused(Exception):
    """A purge may not run (or be requested) now; the message says why."""


class PurgeAlreadyRunning(PurgeRefused):
    pass


# Who acts: a user (request.user, possibly anonymous) or nobody (beat, commands).
Actor = AbstractBaseUser | AnonymousUser | None


def _label(actor: Actor, fallback: str) -> str:
    if actor is not None and actor.is_authenticated:
        return actor.get_username()
    return fallback or "system"


def _user(actor: Actor) -> Any:
    """The user to store, or None (the user model is settings.AUTH_USER_MODEL)."""
    return actor if actor is not None and actor.is_authenticated else None


# --- rules ----------------------------------------------------------------------------------


def retention_rule_save(
    *,
    rule: RetentionRule,
    actor: Actor,
    fields: Iterable[dict[str, str]] | None = None,
    actor_label: str = "",
) -> RetentionRule:
    """Create or change a rule (and, if given, replace its anonymised fields); audited."""
    created = rule.pk is None
    with transaction.atomic():
        if not created:
            RetentionRule.objects.select_for_update().filter(pk=rule.pk).first()
        rule.changed_by = _user(actor)
        rule.full_clean()
        rule.save()
        if fields is not None:
            rule.anonymised_fields.all().delete()
            for spec in fields:
                item = AnonymisedField(rule=rule, **spec)
                item.full_clean()
                item.save()
        retention_rule_record_change(
            rule=rule, actor=actor, created=created, actor_label=actor_label
        )
    return rule


def retention_rule_record_change(
    *,
    rule: RetentionRule,
    actor: Actor,
    created: bool,
    actor_label: str = "",
) -> None:
    """Audit a rule as it now stands (the admin calls this once its inlines are saved)."""
    if rule.changed_by_id != getattr(_user(actor), "pk", None):
        RetentionRule.objects.filter(pk=rule.pk).update(changed_by=_user(actor))
        rule.changed_by = _user(actor)
    audit_event_record(
        action="retention.rule.created" if created else "retention.rule.changed",
        actor=_user(actor),
        actor_label=_label(actor, actor_label),
        target=rule,
        data={"rule": rule_snapshot(rule), "settings_digest": rule_settings_digest(rule)},
    )


def retention_rule_delete(*, rule: RetentionRule, actor: Actor) -> None:
    """Delete a rule that has never run (runs are evidence: disable such a rule instead)."""
    with transaction.atomic():
        locked = RetentionRule.objects.select_for_update().get(pk=rule.pk)
        if locked.runs.exists():
            raise ValidationError(
                f"“{locked}” has purge runs, which are evidence: disable the rule instead."
            )
        if locked.legal_holds.exists():
            raise ValidationError(f"“{locked}” has legal holds: it cannot be deleted.")
        snapshot = rule_snapshot(locked)
        audit_event_record(
            action="retention.rule.deleted",
            actor=_user(actor),
            actor_label=_label(actor, ""),
            target=locked,
            data={"rule": snapshot},
        )
        locked.delete()


# --- legal holds ----------------------------------------------------------------------------


def legal_hold_place(
    *,
    scope: str,
    basis: str,
    reason: str,
    review_on: date,
    actor: Actor,
    reference: str = "",
    asset: DataAsset | None = None,
    rule: RetentionRule | None = None,
    content_type: ContentType | None = None,
    raw_table: str = "",
    object_ids: Iterable[Any] = (),
    actor_label: str = "",
) -> LegalHold:
    """Place a hold; from the next purge batch on, nothing it covers is purged."""
    hold = LegalHold(
        scope=scope,
        basis=basis,
        reason=(reason or "").strip(),
        reference=reference,
        review_on=review_on,
        asset=asset,
        rule=rule,
        content_type=content_type,
        raw_table=raw_table,
        placed_by=_user(actor),
        placed_by_label=_label(actor, actor_label),
    )
    hold.full_clean()
    ids = parse_ids(object_ids)
    if scope == HoldScope.RECORDS:
        problem = hold_record_ids_problem(content_type=content_type, raw_table=raw_table, ids=ids)
        if problem:
            raise ValidationError({"object_ids": problem})
    elif ids:
        raise ValidationError({"object_ids": "Only a hold on specific records lists ids."})
    with transaction.atomic():
        # Wait for purge batches in flight: from here on every batch sees this hold.
        holds_lock_exclusive()
        hold.save()
        LegalHoldRecord.objects.bulk_create(
            [
                LegalHoldRecord(
                    hold=hold, content_type=content_type, raw_table=raw_table, object_id=pk
                )
                for pk in ids
            ]
        )
        audit_event_record(
            action="retention.hold.placed",
            actor=_user(actor),
            actor_label=_label(actor, actor_label),
            target=hold,
            reason=hold.reason,
            data={
                "scope": scope,
                "covers": hold.covers_label,
                "basis": basis,
                "reference": reference,
                "review_on": review_on,
                "object_ids": ids,
            },
        )
    return hold


def legal_hold_lift(
    *, hold: LegalHold, actor: Actor, reason: str, actor_label: str = ""
) -> LegalHold:
    """Lift a hold; a reason is required. What it covered becomes purgeable again."""
    reason = (reason or "").strip()
    if not has_visible_text(reason):
        raise ValidationError({"reason": "Say why the hold is lifted."})
    if problem := text_problem(reason):
        raise ValidationError({"reason": problem})
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.lifted_at is not None:
            raise ValidationError(
                f"Hold #{locked.pk} was already lifted on {date_display(locked.lifted_at)}."
            )
        locked.lifted_at = timezone.now()
        locked.lifted_by = _user(actor)
        locked.lift_reason = reason
        locked.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        audit_event_record(
            action="retention.hold.lifted",
            actor=_user(actor),
            actor_label=_label(actor, actor_label),
            target=locked,
            reason=reason,
            data={"covers": locked.covers_label, "placed_at": locked.placed_at},
        )
    return locked


def legal_hold_review(
    *, hold: LegalHold, actor: Actor, review_on: date, note: str = ""
) -> LegalHold:
    """Record that a hold was reviewed and when it is next reviewed."""
    if review_on < timezone.localdate():
        raise ValidationError({"review_on": "The next review date cannot be in the past."})
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.lifted_at is not None:
            raise ValidationError("A lifted hold is not reviewed any more.")
        previous = locked.review_on
        locked.review_on = review_on
        locked.save(update_fields=["review_on"])
        audit_event_record(
            action="retention.hold.reviewed",
            actor=_user(actor),
            actor_label=_label(actor, ""),
            target=locked,
            reason=note,
            data={"previous_review_on": previous, "review_on": review_on},
        )
    return locked


# --- asking for a purge, and four eyes ------------------------------------------------------


def _snapshot_run(run: PurgeRun, rule: RetentionRule) -> None:
    run.rule_snapshot = rule_snapshot(rule)
    run.action = rule.action


def purge_run_dry(
    *,
    rule: RetentionRule,
    actor: Actor,
    trigger: str = PurgeTrigger.ADMIN,
    actor_label: str = "",
) -> PurgeRun:
    """Record a preview as a dry run (status planned): counts, sample, cutoff; no change."""
    preview = purge_preview(rule=rule)
    if not preview.ok:
        raise PurgeRefused(" ".join(preview.problems))
    now = timezone.now()
    run = PurgeRun(
        rule=rule,
        dry_run=True,
        trigger=trigger,
        started_by=_user(actor),
        actor_label=_label(actor, actor_label),
        cutoff=preview.cutoff,
        status=PurgeRunStatus.PLANNED,
        matched=preview.counts.matched,
        skipped_held=preview.counts.held,
        skipped_protected=preview.counts.protected,
        sample=preview.sample,
        note=(
            f"Would {'delete' if rule.action == 'delete' else 'anonymise'} "
            f"{preview.counts.would_go} row(s)."
            + (
                f" Blocked by {preview.holds.blocking_label()}."
                if preview.holds.blocks_rule
                else ""
            )
            + (" Needs four-eyes confirmation first." if preview.needs_four_eyes else "")
        ),
        started_at=now,
        finished_at=now,
    )
    _snapshot_run(run, rule)
    run.save()
    return run


@dataclass
class PurgeRequest:
    run: PurgeRun | None
    awaiting_confirmation: bool = False
    message: str = ""


def purge_run_request(
    *,
    rule: RetentionRule,
    actor: Actor,
    trigger: str,
    actor_label: str = "",
    queue: bool = True,
) -> PurgeRequest:
    """Plan a real run of ``rule`` and (``queue``) hand it to a worker once committed.

    Refused (PurgeRefused) when the rule may not run or a run of it is queued or running.
    A first run above the four-eyes threshold is not planned: the request is recorded on
    the rule for a second person to confirm (``purge_four_eyes_confirm``).
    """
    problems = rule_runtime_problems(rule)
    if problems:
        raise PurgeRefused(" ".join(problems))
    purge_runs_interrupted_close(rule=rule, actor=actor, actor_label=actor_label)
    with transaction.atomic():
        locked = RetentionRule.objects.select_for_update().get(pk=rule.pk)
        state = rule_due_state(locked)
        if state.code in {"running", "queued", "stuck"}:
            raise PurgeAlreadyRunning(f"“{locked}” is already {state.label}.")
        preview = purge_preview(rule=locked)
        if not preview.ok:
            raise PurgeRefused(" ".join(preview.problems))
        if preview.needs_four_eyes:
            message = _four_eyes_request(locked, actor, actor_label, preview.counts.would_go)
            return PurgeRequest(run=None, awaiting_confirmation=True, message=message)
        run = _plan_run(locked, actor, actor_label, trigger)
        if queue:
            from .tasks import purge_run_execute_task

            enqueue_on_commit(purge_run_execute_task, run.pk)
        return PurgeRequest(run=run, message=f"Run #{run.pk} of “{locked}” is planned.")


def _plan_run(rule, actor, actor_label, trigger, note: str = "") -> PurgeRun:
    run = PurgeRun(
        rule=rule,
        dry_run=False,
        trigger=trigger,
        started_by=_user(actor),
        actor_label=_label(actor, actor_label),
        status=PurgeRunStatus.PLANNED,
        note=note,
    )
    _snapshot_run(run, rule)
    run.full_clean()
    run.save()
    return run


def _four_eyes_request(rule, actor, actor_label, would_go: int) -> str:
    threshold = settings.JITPORTAL["PURGE_FOUR_EYES_THRESHOLD"]
    message = (
        f"The first run of “{rule}” would purge {would_go:,} rows, more than the four-eyes "
        f"threshold of {threshold:,}: a second person with the permission to confirm purges "
        "must confirm it first."
    )
    if rule.confirmation_requested_at is None or rule.confirmation_rows != would_go:
        rule.confirmation_requested_at = timezone.now()
        rule.confirmation_requested_by = _user(actor)
        rule.confirmation_requested_label = _label(actor, actor_label)
        rule.confirmation_rows = would_go
        rule.save(
            update_fields=[
                "confirmation_requested_at",
                "confirmation_requested_by",
                "confirmation_requested_label",
                "confirmation_rows",
            ]
        )
        audit_event_record(
            action="retention.purge.confirmation_requested",
            actor=_user(actor),
            actor_label=_label(actor, actor_label),
            target=rule,
            data={"would_go": would_go, "threshold": threshold},
        )
    return message


def purge_four_eyes_confirm(*, rule: RetentionRule, actor: Actor, queue: bool = True) -> PurgeRun:
    """A second person confirms the first large run of a rule; the run is then planned."""
    user = _user(actor)
    if user is None or not user.has_perm("retention.confirm_purge"):
        raise PurgeRefused("You do not have the permission to confirm purges.")
    with transaction.atomic():
        locked = RetentionRule.objects.select_for_update().get(pk=rule.pk)
        if locked.confirmation_requested_at is None:
            raise PurgeRefused(f"No run of “{locked}” is waiting for confirmation.")
        if locked.confirmation_requested_by_id == user.pk:
            raise PurgeRefused(
                "Four eyes: the person who asked for the run cannot also confirm it."
            )
        if locked.changed_by_id == user.pk:
            raise PurgeRefused(
                "Four eyes: the person who last changed the rule cannot confirm its first run."
            )
        state = rule_due_state(locked)
        if state.code in {"running", "queued", "stuck"}:
            raise PurgeAlreadyRunning(f"“{locked}” is already {state.label}.")
        problems = rule_runtime_problems(locked)
        if problems:
            raise PurgeRefused(" ".join(problems))
        requested_label = locked.confirmation_requested_label
        rows = locked.confirmation_rows
        locked.confirmed_at = timezone.now()
        locked.confirmed_by = _user(actor)
        locked.confirmed_settings_digest = rule_settings_digest(locked)
        locked.confirmation_requested_at = None
        locked.confirmation_requested_by = None
        locked.confirmation_requested_label = ""
        locked.save(
            update_fields=[
                "confirmed_at",
                "confirmed_by",
                "confirmed_settings_digest",
                "confirmation_requested_at",
                "confirmation_requested_by",
                "confirmation_requested_label",
            ]
        )
        audit_event_record(
            action="retention.purge.confirmed",
            actor=_user(actor),
            target=locked,
            data={
                "requested_by": requested_label,
                "would_go": rows,
                "settings_digest": locked.confirmed_settings_digest,
            },
        )
        run = _plan_run(
            locked,
            actor,
            "",
            PurgeTrigger.ADMIN,
            note=f"Four eyes: asked for by {requested_label}, confirmed by {_label(actor, '')}.",
        )
        if queue:
            from .tasks import purge_run_execute_task

            enqueue_on_commit(purge_run_execute_task, run.pk)
    return run


def purge_run_stop_request(*, run: PurgeRun, actor: Actor) -> PurgeRun:
    """Ask a planned or running run to stop after its current batch (harmless to rerun)."""
    with transaction.atomic():
        locked = PurgeRun.objects.select_for_update().get(pk=run.pk)
        if locked.status not in (PurgeRunStatus.PLANNED, PurgeRunStatus.RUNNING) or locked.dry_run:
            raise PurgeRefused(f"Run #{locked.pk} is {locked.get_status_display().lower()}.")
        if locked.status == PurgeRunStatus.RUNNING and run_process_gone(locked):
            _interrupted_close(locked, actor=actor, actor_label=_label(actor, ""))
            return locked
        locked.stop_requested_at = timezone.now()
        fields = ["stop_requested_at"]
        if locked.status == PurgeRunStatus.PLANNED:
            locked.status = PurgeRunStatus.FAILED
            locked.error = f"Stopped before it began by {_label(actor, '')}."
            locked.finished_at = locked.stop_requested_at
            fields += ["status", "error", "finished_at"]
        locked.save(update_fields=fields)
        audit_event_record(
            action="retention.purge.stop_requested",
            actor=_user(actor),
            actor_label=_label(actor, ""),
            target=locked,
        )
    return locked


# --- the engine -----------------------------------------------------------------------------


@contextlib.contextmanager
def _run_lock(rule: RetentionRule) -> Iterator[bool]:
    """Whether this process may run ``rule`` now; held until the block ends."""
    if connection.vendor != "postgresql":
        # Without advisory locks: a running run whose process is still there owns the rule
        # (SQLite serialises writers, so this check-and-start cannot race).
        yield not any(not run_process_gone(run) for run in rule.runs.running())
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_RUN_LOCK_NAMESPACE, rule.pk])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [_RUN_LOCK_NAMESPACE, rule.pk]
                    )
            except Exception:  # a broken connection released the lock with it
                logger.warning("could not release the run lock of rule %s", rule.pk, exc_info=True)


def _close_interrupted(rule: RetentionRule, *, keep: int, actor: Actor) -> None:
    """Runs left 'running' by a process that died: say so (we hold the rule's lock, so no
    other run of the rule is alive)."""
    for run in rule.runs.running().exclude(pk=keep).select_for_update():
        _interrupted_close(run, actor=actor, actor_label="")


def _interrupted_close(run: PurgeRun, *, actor: Actor, actor_label: str) -> None:
    """Close a run whose process is gone as interrupted: partial with the totals its
    committed batches reached (failed when none committed), and its finished event.
    The caller holds the run's row lock."""
    now = timezone.now()
    run.status = PurgeRunStatus.PARTIAL if run.batches else PurgeRunStatus.FAILED
    run.error = (run.error + "\n" if run.error else "") + (
        f"Interrupted: the process running it ({run.host or 'unknown host'}"
        f"{f', pid {run.pid}' if run.pid else ''}) ended without finishing; "
        f"closed by {_label(actor, actor_label)} at {datetime_display(now)}. "
        "A new run continues where it stopped."
    )
    fields = ["status", "error", "finished_at", "interrupted_at"]
    if not run.matched and run.done_rows:
        run.matched = run.done_rows
        run.note = (run.note + "\n" if run.note else "") + (
            "The total was not counted before the run ended; matched is the rows examined."
        )
        fields += ["matched", "note"]
    run.finished_at = run.interrupted_at = now
    run.save(update_fields=fields)
    _finish_event(run, run.started_by, interrupted=True)
    logger.warning("purge run %s of rule %s closed as interrupted", run.pk, run.rule_id)


def purge_runs_interrupted_close(
    *, rule: RetentionRule | None = None, actor: Actor = None, actor_label: str = ""
) -> list[PurgeRun]:
    """Close as interrupted every real run marked running whose process is gone
    (liveness.py), of ``rule`` or of every rule. Returns the runs closed.

    Called before every new run from every route (command, admin, beat) and by the stop
    action, so a killed run never blocks its rule.
    """
    runs = PurgeRun.objects.real().running()
    if rule is not None:
        runs = runs.filter(rule_id=rule.pk)
    closed: list[PurgeRun] = []
    for run_id in runs.values_list("pk", flat=True):
        with transaction.atomic():
            run = (
                PurgeRun.objects.select_for_update()
                .filter(pk=run_id, status=PurgeRunStatus.RUNNING)
                .first()
            )
            if run is None or not run_process_gone(run):
                continue
            _interrupted_close(run, actor=actor, actor_label=actor_label)
            closed.append(run)
    return closed


ProgressCallback = Callable[[PurgeRun], None]


def _finish_event(run: PurgeRun, actor, *, interrupted: bool = False) -> None:
    audit_event_record(
        action="retention.purge.finished",
        actor=actor,
        actor_label=run.actor_label,
        target=run,
        reason=run.error or run.note,
        data={
            "rule_id": run.rule_id,
            "status": run.status,
            "action": run.action,
            "cutoff": run.cutoff,
            "matched": run.matched,
            "affected": run.affected,
            "skipped_held": run.skipped_held,
            "skipped_protected": run.skipped_protected,
            "batches": run.batches,
            "digest": run.digest,
            "interrupted": interrupted,
        },
    )


def purge_run_execute(
    *,
    run: PurgeRun,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
    single_statement: bool | None = None,
) -> PurgeRun:
    """Execute a planned real run: batches of primary-key ranges, one transaction each.

    Returns the run in its final state (succeeded, partial or failed; an error is kept in
    ``run.error``, not raised). ``progress(run)`` is called after every committed batch.
    Raises PurgeAlreadyRunning when another run of the rule holds it.
    """
    rule = run.rule
    with _run_lock(rule) as acquired:
        if not acquired:
            with transaction.atomic():
                PurgeRun.objects.filter(pk=run.pk, status=PurgeRunStatus.PLANNED).update(
                    status=PurgeRunStatus.FAILED,
                    error="Refused: another run of this rule is running.",
                    finished_at=timezone.now(),
                )
            raise PurgeAlreadyRunning(f"Another run of “{rule}” is running; try again later.")
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
            run.error = "Refused: " + " ".join(problems)
            run.finished_at = now
            run.save()
            _finish_event(run, actor)
            return None
        if size < 1:
            run.status = PurgeRunStatus.FAILED
            run.error = "Refused: the batch size must be at least 1."
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
            run.error = "Refused: " + _four_eyes_request(
                rule, actor, run.actor_label, counts.would_go
            )
            run.finished_at = now
            run.save()
            _finish_event(run, actor)
            return None
        run.status = PurgeRunStatus.RUNNING
        if holds.blocks_rule and counts is not None:
            # Nothing goes; the run is the evidence that the hold was respected.
            run.skipped_held = counts.matched
            run.note = f"Nothing purged: {holds.blocking_label()} covers this rule."
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
                    outcome, message = PurgeRunStatus.PARTIAL, "Stopped on request."
                    break
                holds = hold_state(run.rule)
                if holds.blocks_rule:
                    outcome = PurgeRunStatus.PARTIAL
                    message = f"Stopped: {holds.blocking_label()} was placed during the run."
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
        _finish(run, outcome, message, actor, is_error=True)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: record, then let it end the process
        return run
    _record_matched(run, count)
    _finish(run, outcome, message, actor, is_error=False)
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
        run.note = (run.note + "\n" if run.note else "") + (
            "The total was not counted beside the run; matched is the rows examined."
        )
    run.matched = value
    PurgeRun.objects.filter(pk=run.pk).update(matched=run.matched, note=run.note)


def _finish(run: PurgeRun, outcome: str, message: str, actor, *, is_error: bool) -> None:
    with transaction.atomic():
        locked = PurgeRun.objects.select_for_update().get(pk=run.pk)
        locked.status = outcome
        locked.finished_at = timezone.now()
        if is_error:
            locked.error = message
        elif message:
            locked.note = (locked.note + "\n" if locked.note else "") + message
        locked.save(update_fields=["status", "finished_at", "error", "note"])
        _finish_event(locked, actor)
    run.refresh_from_db()


# --- beat -------------------------------------------------------------------------------


def purge_due_rules_enqueue(*, now: datetime | None = None) -> dict[str, int]:
    """Plan and queue a run for every due rule; re-queue real runs whose message was lost."""
    from .selectors import rules_due
    from .tasks import purge_run_execute_task

    summary = {
        "planned": 0,
        "awaiting_confirmation": 0,
        "refused": 0,
        "requeued": 0,
        "interrupted": 0,
    }
    # Runs whose process died are closed first, so their rules are due again.
    summary["interrupted"] = len(purge_runs_interrupted_close(actor_label="system:beat"))
    for rule in rules_due(now=now):
        try:
            request = purge_run_request(
                rule=rule, actor=None, actor_label="system:beat", trigger=PurgeTrigger.BEAT
            )
        except PurgeRefused as exc:
            logger.warning("rule %s not run: %s", rule.pk, exc)
            summary["refused"] += 1
            continue
        summary["awaiting_confirmation" if request.awaiting_confirmation else "planned"] += 1
    # A planned run nobody picked up for a while lost its message (broker down): queue again.
    cutoff = (now or timezone.now()) - REQUEUE_PLANNED_AFTER
    for run_id in (
        PurgeRun.objects.real()
        .filter(status=PurgeRunStatus.PLANNED, created_at__lt=cutoff)
        .values_list("pk", flat=True)
    ):
        enqueue_on_commit(purge_run_execute_task, run_id)
        summary["requeued"] += 1
    return summary
