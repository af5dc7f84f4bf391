"""Queueing connector tasks by registered name, on commit, with an optional exact time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from jitportal.tasking import enqueue, enqueue_at, task_named


def queue_on_commit(name: str, *args: Any) -> None:
    transaction.on_commit(lambda: enqueue(task_named(name), *args))


def queue_at(name: str, *args: Any, eta: datetime) -> bool:
    """Queue ``name`` to run at ``eta`` (``jitportal.tasking.enqueue_at``). Returns whether
    it was queued; when not (no worker, a broker that is down) the connectors' reconcile does
    the work on its next tick."""
    return enqueue_at(name, *args, eta=eta)


def queue_at_on_commit(name: str, *args: Any, eta: datetime) -> None:
    transaction.on_commit(lambda: queue_at(name, *args, eta=eta))
