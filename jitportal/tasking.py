"""Queueing side effects without letting a broker outage undo or block a decision."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` now; a broker that is down is logged, not raised.

    Beat's periodic reconcile is the source of truth, so a lost message is repaired on the
    next tick (DESIGN.md, invariant 2).
    """
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception:
        logger.warning(
            "could not queue %s; the next reconcile tick will do it", task.name, exc_info=True
        )


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue ``task`` once the surrounding transaction commits (at once if there is none)."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
