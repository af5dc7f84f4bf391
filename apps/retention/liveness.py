"""Is the process of a purge run still there? One answer for every route (command, admin, beat).

A real run is marked ``running`` by the process executing it. If that process dies (SIGKILL,
a lost host, an out-of-memory kill) the row stays ``running``; this module tells such a run
from a live one, so the next run, from any route, can close it as interrupted.

- PostgreSQL: the executing process holds a session-level advisory lock on the rule
  (``RUN_LOCK_NAMESPACE``, rule id) for as long as the run is ``running``. PostgreSQL drops it
  with the session when the process or its host goes away, whatever host it ran on. A run
  marked ``running`` whose rule lock no session holds is gone (``pg_locks``).
- Other databases (SQLite): a run records its host name, process id and a heartbeat after
  every batch. On the same host a process id that no longer exists means the run is gone;
  elsewhere, a heartbeat older than ``STALE_RUN_AFTER`` does.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from .models import PurgeRun

# Session-level advisory lock per rule while a run executes (PostgreSQL): "jprg".
RUN_LOCK_NAMESPACE = 0x6A707267
# Without advisory locks: a run whose last batch is older than this is taken as gone.
STALE_RUN_AFTER = timedelta(minutes=15)


def this_host() -> str:
    """The host name stored with a run (up to 150 characters)."""
    return socket.gethostname()[:150]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def rule_lock_held(rule_id: int) -> bool:
    """PostgreSQL: whether a session (this one included) holds the run lock of ``rule_id``."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT EXISTS (
                SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND granted
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 2
            )
            """,
            [RUN_LOCK_NAMESPACE, rule_id],
        )
        return bool(cursor.fetchone()[0])


def run_process_gone(run: PurgeRun, *, now: datetime | None = None) -> bool:
    """Whether the process that marked ``run`` running is gone (the run will never finish).

    Only meaningful for a run whose status is ``running``. Never raises.
    """
    if connection.vendor == "postgresql":
        return not rule_lock_held(run.rule_id)
    if run.pid and run.host == this_host():
        if run.pid == os.getpid():
            return False
        if not _pid_alive(run.pid):
            return True
    now = now or timezone.now()
    last = run.heartbeat_at or run.started_at or run.created_at
    return last < now - STALE_RUN_AFTER
