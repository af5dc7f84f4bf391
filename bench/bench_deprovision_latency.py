"""Time from a grant's end to its PostgreSQL role gone (sessions cut first), with a real
Celery worker: p50 and p95 over 200 grants, as a ratio to one direct removal of a role.

On a dedicated portal database and target database on the benchmark server (created and
dropped here) and Redis database ``BENCH_REDIS_URL`` (default db 14, emptied first): 200
grants of an asset bound to the target, ending one every 50 ms from about 25 s after they
are activated. They go live (``grant_live``, as activation sends it), which queues their provisioning
and, their ends being near, the exact-end task with the end as its ETA; a
``celery worker`` process (no beat) provisions them, then removes each role at its end.
Twenty of the grants have a session open on the target, which must be cut. This process
polls ``pg_roles`` every 10 ms and records when each role disappears.

The baseline is one direct removal of one role by the connector (median of 20), so the
ratio says how much the queue, the ETA and the bookkeeping add. Target: p95 ≤ 2 s.

    .venv/bin/python bench/bench_deprovision_latency.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from _support import ROOT, bench_database, report

BENCH_DB = "jp_bench_deprovision_latency"
TARGET_DB = "jp_bench_deprovision_latency_target"
PREFIX = "jpbl_"
GRANTS = int(os.environ.get("BENCH_LATENCY_GRANTS", "200"))
SESSIONS = 20
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_worker() -> subprocess.Popen:
    env = dict(os.environ, REDIS_URL=REDIS, CELERY_BROKER_URL=REDIS)
    return subprocess.Popen(  # noqa: S603 - the project's own worker, fixed arguments
        [
            str(ROOT / ".venv" / "bin" / "celery"),
            "-A",
            "jitportal",
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def main() -> None:
    import redis
    from _connectors import drop_target_database, target_and_asset, target_database

    redis.Redis.from_url(REDIS).flushdb()
    os.environ["REDIS_URL"] = REDIS
    worker = None
    try:
        with bench_database(BENCH_DB, force_test_settings=True):
            import psycopg
            from _connectors import grants
            from django.db import transaction
            from django.utils import timezone

            from apps.access.signals import grant_live
            from apps.connectors.models import Provisioning, ProvisioningState
            from apps.connectors.registry import connector_for
            from jitportal.celery import app

            app.conf.task_always_eager = False
            app.conf.broker_url = REDIS
            url = target_database(TARGET_DB)
            target, asset = target_and_asset(PREFIX)
            # The baseline: the connector removing one role, directly.
            connector = connector_for(target)
            base_runs = []
            with psycopg.connect(url, autocommit=True) as conn:
                for i in range(20):
                    conn.execute(f'CREATE ROLE "{PREFIX}base_{i}" LOGIN')
                    started = time.perf_counter()
                    connector.deprovision([f"{PREFIX}base_{i}"])
                    base_runs.append(time.perf_counter() - started)
            base = statistics.median(base_runs)
            worker = start_worker()
            first_end = timezone.now() + timedelta(seconds=25)
            ids = grants(
                asset, GRANTS, ends_at=first_end, starts_at=timezone.now() - timedelta(seconds=1)
            )
            from apps.access.models import Grant

            for i, grant_id in enumerate(ids):
                Grant.objects.filter(pk=grant_id).update(
                    ends_at=first_end + timedelta(milliseconds=50 * i)
                )
            # What activation sends (the bench's users hold no role the entitlement check
            # of the access reconcile would accept, so the signal is sent as it sends it).
            with transaction.atomic():
                grant_live.send(sender=Grant, grant_ids=ids)
            deadline = time.monotonic() + 60
            while Provisioning.objects.filter(
                grant_id__in=ids, state=ProvisioningState.PROVISIONED
            ).count() < len(ids):
                if time.monotonic() > deadline or worker.poll() is not None:
                    worker.terminate()
                    log = worker.stderr.read().decode()[-3000:] if worker.stderr else ""
                    raise SystemExit(f"the worker did not provision the grants in time:\n{log}")
                time.sleep(0.2)
            accounts = dict(
                Provisioning.objects.filter(grant_id__in=ids).values_list("account", "grant_id")
            )
            ends = dict(Grant.objects.filter(pk__in=ids).values_list("pk", "ends_at"))
            if timezone.now() >= first_end:
                raise SystemExit("provisioning took longer than the time before the first end")
            # Sessions of twenty holders (the benchmark server trusts local logins).
            sessions = [
                psycopg.connect(url.rsplit("/", 1)[0] + f"/{TARGET_DB}", user=a, autocommit=True)
                for a in list(accounts)[:SESSIONS]
            ]
            gone: dict[str, float] = {}
            like = PREFIX.replace("_", "\\_") + "g%"
            with psycopg.connect(url, autocommit=True) as watch:
                stop = time.monotonic() + 60
                while len(gone) < len(accounts) and time.monotonic() < stop:
                    present = {
                        r[0]
                        for r in watch.execute(
                            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", [like]
                        )
                    }
                    now = time.time()
                    for account in accounts:
                        if account not in present and account not in gone:
                            gone[account] = now
                    time.sleep(0.01)
            if len(gone) < len(accounts):
                raise SystemExit(f"{len(accounts) - len(gone)} roles were never removed")
            for session in sessions:
                try:
                    session.execute("SELECT 1")
                except psycopg.OperationalError:
                    continue
                raise SystemExit("a session outlived its grant")
            latencies = [
                gone[account] - ends[grant_id].timestamp() for account, grant_id in accounts.items()
            ]
            if min(latencies) < -0.05:
                raise SystemExit(f"a role was removed before its end ({min(latencies):.3f} s)")
            p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
            report(
                "deprovision_latency",
                p95 * 1000,
                "ms p95",
                p95 / base,
                f"{base * 1000:.1f}ms (one direct removal of one role; p50 {p50 * 1000:.0f}ms, "
                f"max {max(latencies) * 1000:.0f}ms over {len(latencies)} grants, "
                f"{SESSIONS} open sessions cut; target p95 <= 2000ms)",
                value_format=".0f",
            )
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        drop_target_database(TARGET_DB, PREFIX)
        redis.Redis.from_url(REDIS).flushdb()


if __name__ == "__main__":
    sys.exit(main())
