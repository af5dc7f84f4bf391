"""Writes of the retention app: rules, legal holds, four-eyes confirmations and purges.

One module per subject: ``rules``, ``holds``, ``requests`` (asking for a purge, four eyes,
stopping, beat), ``engine`` (executing a run), ``interrupted`` (closing runs whose process
died); ``common`` holds what they share. Every public name is re-exported here.

Convention (architecture.md, "Services"): a service takes the ids of the rows it changes,
the acting user and typed keyword-only arguments; it locks those rows inside its own
``transaction.atomic(durable=True)``, checks their state, writes, records the audit event
in the same transaction and returns the changed instance. Helpers prefixed ``_`` run in
their caller's transaction. Tasks are queued by their registered name, never imported.
"""

from .common import (
    MAX_ERROR_LENGTH,
    PURGE_RUN_EXECUTE_TASK,
    REQUEUE_PLANNED_AFTER,
    Actor,
    PurgeAlreadyRunning,
    PurgeRefused,
)
from .engine import ProgressCallback, purge_run_execute
from .holds import legal_hold_lift, legal_hold_place, legal_hold_review
from .interrupted import purge_runs_interrupted_close
from .requests import (
    PurgeRequest,
    purge_due_rules_enqueue,
    purge_four_eyes_confirm,
    purge_run_continue,
    purge_run_dry,
    purge_run_request,
    purge_run_stop_request,
)
from .rules import retention_rule_delete, retention_rule_record_change, retention_rule_save

__all__ = [
    "MAX_ERROR_LENGTH",
    "PURGE_RUN_EXECUTE_TASK",
    "REQUEUE_PLANNED_AFTER",
    "Actor",
    "ProgressCallback",
    "PurgeAlreadyRunning",
    "PurgeRefused",
    "PurgeRequest",
    "legal_hold_lift",
    "legal_hold_place",
    "legal_hold_review",
    "purge_due_rules_enqueue",
    "purge_four_eyes_confirm",
    "purge_run_continue",
    "purge_run_dry",
    "purge_run_execute",
    "purge_run_request",
    "purge_run_stop_request",
    "purge_runs_interrupted_close",
    "retention_rule_delete",
    "retention_rule_record_change",
    "retention_rule_save",
]
