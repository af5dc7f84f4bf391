"""Runs whose process died: closed as interrupted (partial with the totals their committed
batches reached, or failed before the first), by the next run from any route."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from ..liveness import run_process_gone
from ..models import PurgeRun, PurgeRunStatus, RetentionRule, RunError, RunNote
from .common import Actor, _finish_event, _label

logger = logging.getLogger(__name__)


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
    run.error_code = RunError.INTERRUPTED
    run.error_params = {
        "host": run.host,
        "pid": run.pid,
        "by": _label(actor, actor_label),
        "at": now.isoformat(),
    }
    fields = ["status", "error_code", "error_params", "finished_at", "interrupted_at"]
    if not run.matched and run.done_rows:
        run.matched = run.done_rows
        run.add_note(RunNote.NOT_COUNTED_INTERRUPTED)
        fields += ["matched", "note_codes"]
    run.finished_at = run.interrupted_at = now
    run.save(update_fields=fields)
    _finish_event(run, run.started_by, interrupted=True)
    logger.warning("purge run %s of rule %s closed as interrupted", run.pk, run.rule_id)


def purge_runs_interrupted_close(
    *, rule_id: int | None = None, actor: Actor = None, actor_label: str = ""
) -> list[PurgeRun]:
    """Close as interrupted every real run marked running whose process is gone
    (liveness.py), of ``rule`` or of every rule. Returns the runs closed.

    Called before every new run from every route (command, admin, beat) and by the stop
    action, so a killed run never blocks its rule.
    """
    runs = PurgeRun.objects.real().running()
    if rule_id is not None:
        runs = runs.filter(rule_id=rule_id)
    closed: list[PurgeRun] = []
    for run_id in runs.values_list("pk", flat=True):
        with transaction.atomic(durable=True):
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
