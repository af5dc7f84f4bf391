"""Asking for a purge: a dry run, a real run planned for a worker, the four-eyes
confirmation of a large first run, a stop request, and beat's queueing of due rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record

from ..liveness import run_process_gone
from ..models import (
    PurgeRun,
    PurgeRunStatus,
    PurgeTrigger,
    RetentionRule,
    RunError,
    RunNote,
)
from ..selectors import (
    purge_preview,
    rule_due_state,
    rule_runtime_problems,
    rule_settings_digest,
    rules_due,
)
from .common import (
    REQUEUE_PLANNED_AFTER,
    Actor,
    PurgeAlreadyRunning,
    PurgeRefused,
    _four_eyes_request,
    _label,
    _queue_run,
    _snapshot_run,
    _user,
)
from .interrupted import _interrupted_close, purge_runs_interrupted_close

logger = logging.getLogger(__name__)


def purge_run_dry(
    *,
    rule_id: int,
    actor: Actor,
    trigger: str = PurgeTrigger.ADMIN,
    actor_label: str = "",
) -> PurgeRun:
    """Record a preview as a dry run (status planned): counts, sample, cutoff; no change.

    Raises PurgeRefused (with the rule's problems) when the rule may not run, and
    RetentionRule.DoesNotExist when there is no such rule. Returns the saved dry run.
    """
    rule = RetentionRule.objects.get(pk=rule_id)
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
        note_codes=[
            [
                RunNote.WOULD_GO,
                {
                    "action": rule.action,
                    "rows": preview.counts.would_go,
                    "holds": list(preview.holds.blocking),
                    "four_eyes": preview.needs_four_eyes,
                },
            ]
        ],
        started_at=now,
        finished_at=now,
    )
    _snapshot_run(run, rule)
    with transaction.atomic(durable=True):
        run.save()
    return run


@dataclass
class PurgeRequest:
    run: PurgeRun | None
    awaiting_confirmation: bool = False
    message: str = ""


def purge_run_request(
    *,
    rule_id: int,
    actor: Actor,
    trigger: str,
    actor_label: str = "",
    queue: bool = True,
) -> PurgeRequest:
    """Plan a real run of rule ``rule_id`` and (``queue``) hand it to a worker once committed.

    Refused (PurgeRefused) when the rule may not run or a run of it is queued or running
    (PurgeAlreadyRunning). A first run above the four-eyes threshold is not planned: the
    request is recorded on the rule for a second person to confirm
    (``purge_four_eyes_confirm``). Returns the planned run, or the waiting request.
    """
    rule = RetentionRule.objects.get(pk=rule_id)
    problems = rule_runtime_problems(rule)
    if problems:
        raise PurgeRefused(" ".join(problems))
    purge_runs_interrupted_close(rule_id=rule.pk, actor=actor, actor_label=actor_label)
    with transaction.atomic(durable=True):
        locked = RetentionRule.objects.select_for_update().get(pk=rule.pk)
        state = rule_due_state(locked)
        if state.code in {"running", "queued", "stuck"}:
            raise PurgeAlreadyRunning(
                _("“%(rule)s” is already %(state)s.") % {"rule": locked, "state": state.label}
            )
        preview = purge_preview(rule=locked)
        if not preview.ok:
            raise PurgeRefused(" ".join(preview.problems))
        if preview.needs_four_eyes:
            message = _four_eyes_request(locked, actor, actor_label, preview.counts.would_go)
            return PurgeRequest(run=None, awaiting_confirmation=True, message=message)
        run = _plan_run(locked, actor, actor_label, trigger)
        if queue:
            _queue_run(run.pk)
        return PurgeRequest(
            run=run,
            message=_("Run #%(id)s of “%(rule)s” is planned.") % {"id": run.pk, "rule": locked},
        )


def _plan_run(rule, actor, actor_label, trigger, notes: list | None = None) -> PurgeRun:
    run = PurgeRun(
        rule=rule,
        dry_run=False,
        trigger=trigger,
        started_by=_user(actor),
        actor_label=_label(actor, actor_label),
        status=PurgeRunStatus.PLANNED,
        note_codes=notes or [],
    )
    _snapshot_run(run, rule)
    run.full_clean()
    run.save()
    return run


def purge_four_eyes_confirm(*, rule_id: int, actor: Actor, queue: bool = True) -> PurgeRun:
    """A second person confirms the first large run of a rule; the run is then planned.

    Refused (PurgeRefused) without the ``retention.confirm_purge`` permission, when no run
    waits for confirmation, or when the actor asked for the run or last changed the rule
    (four eyes); PurgeAlreadyRunning when a run of the rule is queued or running.
    Returns the planned run.
    """
    user = _user(actor)
    if user is None or not user.has_perm("retention.confirm_purge"):
        raise PurgeRefused(_("You do not have the permission to confirm purges."))
    with transaction.atomic(durable=True):
        locked = RetentionRule.objects.select_for_update().get(pk=rule_id)
        if locked.confirmation_requested_at is None:
            raise PurgeRefused(
                _("No run of “%(rule)s” is waiting for confirmation.") % {"rule": locked}
            )
        if locked.confirmation_requested_by_id == user.pk:
            raise PurgeRefused(
                _("Four eyes: the person who asked for the run cannot also confirm it.")
            )
        if locked.changed_by_id == user.pk:
            raise PurgeRefused(
                _("Four eyes: the person who last changed the rule cannot confirm its first run.")
            )
        state = rule_due_state(locked)
        if state.code in {"running", "queued", "stuck"}:
            raise PurgeAlreadyRunning(
                _("“%(rule)s” is already %(state)s.") % {"rule": locked, "state": state.label}
            )
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
            notes=[
                [
                    RunNote.FOUR_EYES_CONFIRMED,
                    {"requested_by": requested_label, "confirmed_by": _label(actor, "")},
                ]
            ],
        )
        if queue:
            _queue_run(run.pk)
    return run


def purge_run_stop_request(*, run_id: int, actor: Actor) -> PurgeRun:
    """Ask a planned or running run to stop after its current batch (harmless to rerun).

    A planned run is closed as failed at once; a running run whose process is gone is
    closed as interrupted. Raises PurgeRefused when the run is a dry run or already over.
    Returns the run.
    """
    with transaction.atomic(durable=True):
        locked = PurgeRun.objects.select_for_update().get(pk=run_id)
        if locked.status not in (PurgeRunStatus.PLANNED, PurgeRunStatus.RUNNING) or locked.dry_run:
            raise PurgeRefused(
                _("Run #%(id)s is %(status)s.")
                % {"id": locked.pk, "status": locked.get_status_display().lower()}
            )
        if locked.status == PurgeRunStatus.RUNNING and run_process_gone(locked):
            _interrupted_close(locked, actor=actor, actor_label=_label(actor, ""))
            return locked
        locked.stop_requested_at = timezone.now()
        fields = ["stop_requested_at"]
        if locked.status == PurgeRunStatus.PLANNED:
            locked.status = PurgeRunStatus.FAILED
            locked.error_code = RunError.STOPPED_BEFORE_START
            locked.error_params = {"by": _label(actor, "")}
            locked.finished_at = locked.stop_requested_at
            fields += ["status", "error_code", "error_params", "finished_at"]
        locked.save(update_fields=fields)
        audit_event_record(
            action="retention.purge.stop_requested",
            actor=_user(actor),
            actor_label=_label(actor, ""),
            target=locked,
        )
    return locked


SYSTEM_WORKER = "system:worker"


def purge_run_continue(*, run_id: int) -> PurgeRun | None:
    """Finish the work of real run ``run_id`` whose process died (a worker lost mid-run,
    its message delivered again: ``CELERY_TASK_ACKS_LATE``): the run is closed as
    interrupted with the totals its committed batches reached, and a new run of its rule is
    planned, not queued, for the caller to execute at once.

    Returns the new planned run, or None when there is nothing to continue: no such run,
    its process is still there (another worker is executing it), the rule has another run
    queued or running, or the rule may not run now (its problems, four eyes). Batches that
    committed are not redone: the new run selects from the rule's filter again.
    """
    run = PurgeRun.objects.real().filter(pk=run_id, status=PurgeRunStatus.RUNNING).first()
    if run is None or not run_process_gone(run):
        return None
    try:
        request = purge_run_request(
            rule_id=run.rule_id,
            actor=None,
            actor_label=SYSTEM_WORKER,
            trigger=run.trigger,
            queue=False,
        )
    except (PurgeRefused, RetentionRule.DoesNotExist) as exc:
        logger.info("run %s not continued: %s", run_id, exc)
        return None
    return request.run


def purge_due_rules_enqueue(*, now: datetime | None = None) -> dict[str, int]:
    """Plan and queue a run for every due rule; re-queue real runs whose message was lost."""
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
                rule_id=rule.pk, actor=None, actor_label="system:beat", trigger=PurgeTrigger.BEAT
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
        _queue_run(run_id)
        summary["requeued"] += 1
    return summary
