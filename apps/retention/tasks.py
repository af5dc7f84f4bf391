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
    """Execute one planned real run; a run already started or done is left alone."""
    from .services import PurgeAlreadyRunning, purge_run_execute

    run = PurgeRun.objects.select_related("rule").filter(pk=run_id, dry_run=False).first()
    if run is None or run.status != PurgeRunStatus.PLANNED:
        return "skipped"
    try:
        run = purge_run_execute(run_id=run.pk)
    except PurgeAlreadyRunning as exc:
        logger.info("run %s refused: %s", run_id, exc)
        return "refused"
    return run.status
