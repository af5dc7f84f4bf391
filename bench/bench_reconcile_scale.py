"""Grant expiries per second with 1, 2 and 4 Celery worker processes, as a ratio to 1.

On a dedicated PostgreSQL database (created and dropped here), bench_reconcile's loader
makes 20,000 grants (1,000 users x 20 assets) whose window has ended, still ``active`` and
mirrored, plus 1,000 live ones that overlap them. Then, for 1, 2 and 4 pool processes, a
real `celery worker --concurrency N` (the test settings, not eager; broker ``REDIS_URL``,
default redis://127.0.0.1:6379/15) is started, beat's one ``access.reconcile`` message is
sent, and the clock runs until no grant is left to expire. The reconcile queues N - 1
helpers (``JITPORTAL_RECONCILE_HELPERS``) that claim batches with SKIP LOCKED beside it.
After each run: every grant expired once (one audit event each), the guardian rows the live
grants need still there; then the grants are put back. The audit chain is verified at the
end.

What bounds the ratio: the audit trail is one hash chain, so each batch appends its events
under one lock (the claim, the guardian deletes and the grant update run in parallel; the
events and the commit one batch at a time), and the machine's CPU count.

    .venv/bin/python bench/bench_reconcile_scale.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BENCH_RECONCILE_ASSETS", "20")  # before bench_reconcile reads it

from _support import ROOT, bench_database, report
from bench_reconcile import GRANTS, USERS, counts, load, restore_mirror

BENCH_DB = "jp_bench_reconcile_scale"
PROCESSES = (1, 2, 4)
REPEATS = int(os.environ.get("BENCH_RECONCILE_SCALE_REPEATS", "2"))
BATCH = os.environ.get("BENCH_RECONCILE_SCALE_BATCH", "500")
BROKER = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
CELERY = str(Path(sys.executable).parent / "celery")


def due() -> int:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT count(*) FROM access_grant "
            "WHERE status IN ('scheduled', 'active') AND ends_at <= now()"
        )
        return c.fetchone()[0]


def put_back(ct_id: int, perm_id: int) -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "UPDATE access_grant SET status = 'active', mirrored = true WHERE status = 'expired'"
        )
    restore_mirror(ct_id, perm_id)
    with connection.cursor() as c:
        c.execute("ANALYZE access_grant")


def one_run(processes: int, app, logs: Path) -> float:
    """Seconds from beat's message to the last grant expired, with ``processes`` pool
    processes."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jitportal.settings.test",
        "TEST_CELERY_BROKER_URL": BROKER,
        "TEST_CELERY_TASK_ALWAYS_EAGER": "false",
        "JITPORTAL_RECONCILE_BATCH_SIZE": BATCH,
        "JITPORTAL_RECONCILE_HELPERS": str(processes - 1),
        "PYTHONPATH": str(ROOT),
    }
    log = logs / f"worker-{processes}.log"
    app.control.purge()
    with log.open("w") as out:
        worker = subprocess.Popen(  # noqa: S603 - this venv's celery, fixed arguments
            [
                *(CELERY, "-A", "jitportal", "worker", "--loglevel", "INFO"),
                *("-c", str(processes), "-n", f"bench{processes}@%h"),
                *("--without-gossip", "--without-mingle"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        started = time.perf_counter()
        app.send_task("access.reconcile")
        while due():  # autocommit: each count sees the workers' commits
            if time.perf_counter() - started > 600:
                raise SystemExit(f"not done in 10 minutes:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(60)


def run() -> None:
    from celery import Celery
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from apps.audit.selectors import audit_chain_verify
    from apps.inventory.models import DataAsset

    load()
    ct = ContentType.objects.get_for_model(DataAsset)
    perm = Permission.objects.get(content_type=ct, codename="view_data")
    app = Celery("bench-reconcile-scale", broker=BROKER, set_as_current=False)
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for processes in PROCESSES:
            seconds = []
            for repeat in range(REPEATS):
                _, _, events_before = counts()
                seconds.append(one_run(processes, app, Path(folder)))
                expired, mirror, events = counts()
                # Exactly once, however many processes shared the backlog.
                assert expired == GRANTS, expired
                assert events - events_before == GRANTS, events - events_before
                assert mirror == USERS, mirror
                put_back(ct.pk, perm.pk)
                print(
                    f"  {processes} process(es), run {repeat + 1}: {seconds[-1]:.2f} s",
                    flush=True,
                )
            rates[processes] = GRANTS / statistics.median(seconds)
    verify = audit_chain_verify()
    assert verify.ok, verify.describe()
    base = rates[1]
    report(
        "reconcile_scale",
        rates[4],
        "expiries/s",
        rates[4] / base,
        f"1 worker process ({base:,.0f} expiries/s); 2 processes ratio="
        f"{rates[2] / base:.2f}; 4 processes on {os.cpu_count()} CPUs; {GRANTS:,} grants, "
        f"batch {BATCH}, median of {REPEATS}",
        value_format=",.0f",
    )


def main() -> int:
    with bench_database(BENCH_DB, force_test_settings=True):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
