"""A purge run's ``matched`` total, counted beside the run instead of before it.

Only progress needs the total, and on a large table counting it takes as long as several
batches. On PostgreSQL the count runs on a second connection, in a thread, while the run's
batches go on. That connection takes its snapshot (REPEATABLE READ) before the first batch
starts (``wait_ready``), so the total is the rows that matched when the run began, exactly as
when it was counted first.

Elsewhere (SQLite, or a caller that holds a transaction open, whose rows a second connection
would not see) the count is taken at once on the run's own connection.
"""

from __future__ import annotations

import logging
import threading

from django.db import connections, transaction

from .targets import Target

logger = logging.getLogger(__name__)

# How long the run waits for the counting connection to take its snapshot before it counts
# on its own connection instead.
READY_TIMEOUT_SECONDS = 10.0


class MatchCount:
    def __init__(self, target: Target) -> None:
        self._target = target
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._value: int | None = None
        self._failed = False
        self._lock = threading.Lock()
        self._abandoned = False  # the run counted on its own connection instead

    @classmethod
    def start(cls, target: Target) -> MatchCount:
        count = cls(target)
        own = connections[target.using]
        if own.vendor != "postgresql" or own.in_atomic_block:
            count._value = target.count_matched()
            count._ready.set()
            return count
        count._thread = threading.Thread(target=count._count, name="purge-match-count", daemon=True)
        count._thread.start()
        return count

    def _count(self) -> None:
        alias = self._target.using
        try:
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT 1")  # the snapshot is taken here
                self._ready.set()
                value = self._target.count_matched()
            with self._lock:
                if not self._abandoned:
                    self._value = value
        except Exception:
            logger.exception("counting the rows of a purge run failed")
            self._failed = True
        finally:
            self._ready.set()
            connections[alias].close()

    def wait_ready(self) -> None:
        """Block until the count's snapshot is taken: call before the first batch.

        If the counting connection could not take one, count now on the run's connection.
        """
        if self._thread is None:
            return
        if self._ready.wait(READY_TIMEOUT_SECONDS) and not self._failed:
            return
        with self._lock:
            self._abandoned = True
        logger.warning("counting the rows of a purge run on its own connection instead")
        self._value = self._target.count_matched()

    @property
    def value(self) -> int | None:
        """The total once counted (None while counting)."""
        return self._value

    def result(self, timeout: float | None = None) -> int | None:
        """Wait for the count (at most ``timeout`` seconds); None if it failed after the run
        began, or is not done in time."""
        if self._thread is not None and not self._abandoned:
            self._thread.join(timeout)
        return self._value
