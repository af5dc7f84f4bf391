"""What the retention services share: who acts, the errors, and the steps of a run that
more than one service takes (snapshot, four-eyes request, finished event, queueing).

Helpers prefixed ``_`` run inside the caller's transaction and open none of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import celery
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone, translation

from apps.audit.services import audit_event_record
from jitportal.tasking import enqueue_on_commit

from ..liveness import RUN_LOCK_NAMESPACE
from ..models import PurgeRun, RetentionRule, four_eyes_text
from ..selectors import rule_snapshot

# The worker's task that executes a planned run, by its registered name: services queue
# it without importing the tasks module (tasks import services, never the other way).
PURGE_RUN_EXECUTE_TASK = "apps.retention.tasks.purge_run_execute_task"

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


def _snapshot_run(run: PurgeRun, rule: RetentionRule) -> None:
    run.rule_snapshot = rule_snapshot(rule)
    run.action = rule.action


def _four_eyes_request(rule, actor, actor_label, would_go: int) -> str:
    threshold = settings.JITPORTAL["PURGE_FOUR_EYES_THRESHOLD"]
    message = four_eyes_text(rule, would_go, threshold)
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


def _portal_text(text: Callable[[], str]) -> str:
    """Text for the audit trail, which is one record for every reader: in the portal's
    language (``LANGUAGE_CODE``), whoever's request wrote it."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text())


def _finish_event(run: PurgeRun, actor, *, interrupted: bool = False) -> None:
    reason = _portal_text(lambda: run.error or run.note)
    audit_event_record(
        action="retention.purge.finished",
        actor=actor,
        actor_label=run.actor_label,
        target=run,
        reason=reason,
        data={
            "rule_id": run.rule_id,
            "status": run.status,
            "error_code": run.error_code,
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


def _queue_run(run_id: int) -> None:
    """Hand a planned run to a worker once the surrounding transaction commits."""
    enqueue_on_commit(celery.signature(PURGE_RUN_EXECUTE_TASK), run_id)
