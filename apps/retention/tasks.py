"""Thin Celery tasks: load by id, call a service. Safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from .models import PurgeRun, PurgeRunStatus

logger = logging.getLogger(__name__)


@shared_task(name="apps.retention.tasks.purge_due_rules")
def purge_due_rules() -> dict[str, int]:
    """Beat: plan and queue a run of every due rule (schedule editable in the admin)."""
    from .services import purge_due_rules_enqueue

    return purge_due_rules_enqueue()


@shared_task(name="apps.retention.tasks.purge_run_execute_task")
def purge_run_execute_task(run_id: int) -> str:
    """Execute one planned real run; a run already done, or being executed by another
    worker (the same message twice), is left alone. A run whose worker was lost mid-run
    (this message delivered again, acks_late) is closed as interrupted and its rule's work
    finished by a new run here (``purge_run_continue``)."""
    from .services import PurgeAlreadyRunning, purge_run_continue, purge_run_execute

    run = PurgeRun.objects.select_related("rule").filter(pk=run_id, dry_run=False).first()
    if run is not None and run.status == PurgeRunStatus.RUNNING:
        run = purge_run_continue(run_id=run.pk)
    if run is None or run.status != PurgeRunStatus.PLANNED:
        return "skipped"
    try:
        run = purge_run_execute(run_id=run.pk)
    except PurgeAlreadyRunning as exc:
        logger.info("run %s refused: %s", run_id, exc)
        return "refused"
    return run.status
