"""Queueing connector tasks by registered name, on commit, with an optional exact time."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from jitportal.tasking import broker_is_paused, enqueue, task_named

logger = logging.getLogger("apps.connectors")


def queue_on_commit(name: str, *args: Any) -> None:
    transaction.on_commit(lambda: enqueue(task_named(name), *args))


def queue_at(name: str, *args: Any, eta: datetime) -> bool:
    """Queue ``name`` to run at ``eta`` (now). Returns whether it was queued. Eager mode
    (tests without a worker) and a paused broker queue nothing: the connectors' reconcile
    does the work on its next tick."""
    task = task_named(name)
    app = task.app
    if app.conf.task_always_eager or broker_is_paused():
        return False
    timeout = float(app.conf.broker_connection_timeout or 1.0)
    try:
        with app.pool.acquire(block=True, timeout=timeout) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
            task.apply_async(args=args, eta=eta, retry=False, connection=conn)
    except Exception:
        logger.warning("could not queue %s for %s; the reconcile does it", name, eta, exc_info=True)
        return False
    return True


def queue_at_on_commit(name: str, *args: Any, eta: datetime) -> None:
    transaction.on_commit(lambda: queue_at(name, *args, eta=eta))
