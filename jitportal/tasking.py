"""Queueing side effects without letting a broker outage undo, block or lose a decision.

Nothing queued from a web request lives only in the broker: each side effect is also kept in
the database and redone by a beat task, so a message that cannot be sent is only later work,
never lost work:

- email notices: the outbox (``apps.access.outbox``), sent by the access reconcile;
- grant activation and mirror removal: the access reconcile (``due_to_activate``, the
  revoked or expired grants still ``mirrored``);
- purge runs: ``purge_due_rules`` queues again the planned runs nobody picked up.

A web request spends little time on a dead broker: one publish connects once, without
kombu's retries, within ``CELERY_BROKER_CONNECTION_TIMEOUT``; and after a failed publish
this process skips the broker for ``JITPORTAL["ENQUEUE_PAUSE_SECONDS"]``, so the other
publishes of the same request (and of the requests that follow) cost nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from kombu.exceptions import LimitExceeded

logger = logging.getLogger(__name__)

# time.monotonic() before which this process does not try the broker (after a failure).
_paused_until = 0.0


def broker_pause_clear() -> None:
    """Try the broker again on the next publish (the pause after a failure is over)."""
    global _paused_until
    _paused_until = 0.0


def broker_is_paused() -> bool:
    """True while this process skips the broker after a failed publish."""
    return time.monotonic() < _paused_until


def _publish(
    task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], eta: datetime | None = None
) -> None:
    """One attempt: connect at most once (no retries), then publish without retrying."""
    app = task.app
    timeout = float(app.conf.broker_connection_timeout or 1.0)
    with app.pool.acquire(block=True, timeout=timeout) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        task.apply_async(args=args, kwargs=kwargs, retry=False, connection=conn, eta=eta)


def enqueue_at(task: Any, *args: Any, eta: datetime) -> bool:
    """Send ``task`` (a task or its registered name) to run at ``eta``; returns whether it was
    queued. Eager mode (no worker) and a paused or dead broker queue nothing: the caller's
    database rows and its beat task do the work instead (as for ``enqueue``)."""
    global _paused_until
    task = task_named(task)
    if task.app.conf.task_always_eager or broker_is_paused():
        return False
    try:
        _publish(task, args, {}, eta=eta)
    except Exception:
        _paused_until = time.monotonic() + settings.JITPORTAL["ENQUEUE_PAUSE_SECONDS"]
        logger.warning("could not queue %s for %s; beat does it", task.name, eta, exc_info=True)
        return False
    return True


def enqueue(task: Any, *args: Any, **kwargs: Any) -> bool:
    """Send ``task`` now; returns whether it was queued. A broker that is down is logged,
    not raised, and pauses publishing from this process for ``ENQUEUE_PAUSE_SECONDS``
    (the work is kept in the database and done by beat's next tick; see the module text)."""
    global _paused_until
    if task.app.conf.task_always_eager:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception:
            logger.warning("%s failed; the next reconcile tick redoes it", task.name, exc_info=True)
            return False
        return True
    if broker_is_paused():
        logger.warning("broker down: %s not queued; the next reconcile tick does it", task.name)
        return False
    started = time.monotonic()
    try:
        _publish(task, args, kwargs)
    except LimitExceeded:
        # Every pooled connection is in use: the broker is busy, not down; no pause.
        logger.warning(
            "no free broker connection for %s; the next reconcile tick does it", task.name
        )
        return False
    except Exception:
        _paused_until = time.monotonic() + settings.JITPORTAL["ENQUEUE_PAUSE_SECONDS"]
        logger.warning(
            "could not queue %s (%.2f s); the next reconcile tick does it; not trying the "
            "broker again for %s s",
            task.name,
            time.monotonic() - started,
            settings.JITPORTAL["ENQUEUE_PAUSE_SECONDS"],
            exc_info=True,
        )
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue ``task`` once the surrounding transaction commits (at once if there is none).

    ``task`` is a task or its registered name (``"access.grant_activate"``): code that
    queues a task by name needs no import of the module defining it.
    """
    transaction.on_commit(lambda: enqueue(task_named(task), *args, **kwargs))


def task_named(task: Any) -> Any:
    """The registered task called ``task`` (a task is returned as it is).

    The apps' task modules are imported on first use (Celery's autodiscovery). Raises
    celery's NotRegistered for a name no app registers.
    """
    if not isinstance(task, str):
        return task
    from celery import current_app

    if task not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[task]
