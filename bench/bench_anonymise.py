"""Retention anonymisation against one raw SQL UPDATE of the same rows.

On a dedicated PostgreSQL database (created and dropped here), 100,000 expired closed
customers (plus 1 in 11 recent ones, and one under a legal hold) are bulk-loaded. Each
repeat, on a fresh load:

- baseline: ONE ``UPDATE crm_customer SET <the rule's expressions> WHERE status = 'closed'
  AND last_activity_at < cutoff AND anonymised_at IS NULL AND id <> held`` — the same SET
  expressions the engine compiles (fixed values, HMAC-SHA256 in SQL, date truncation,
  the marker), so the ratio measures batching, locking and holds, not the hashing;
- the engine: ``purge_run_execute`` of the anonymise rule (batches of PURGE_BATCH_SIZE).

    python3 dev.py bench bench_anonymise    # BENCH_ANON_ROWS=... BENCH_ANON_REPEATS=...
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import bench_purge as common
from _support import bench_database, report

BENCH_DB = os.environ.get("BENCH_DB_NAME", "jp_bench_anonymise")
ROWS = int(os.environ.get("BENCH_ANON_ROWS", "100000"))
REPEATS = int(os.environ.get("BENCH_ANON_REPEATS", "5"))
RULE = "bench: anonymise closed customers"


def raw_update(rule, held: int) -> tuple[float, int]:
    from django.db import connection, transaction
    from django.db.models.sql.subqueries import UpdateQuery
    from django.utils import timezone

    from apps.crm.models import Customer
    from apps.retention.anonymise import update_values

    query = Customer._base_manager.all().query.chain(UpdateQuery)
    query.add_update_values(
        update_values(
            Customer,
            list(rule.anonymised_fields.all()),
            marker="anonymised_at",
            at=timezone.now(),
        )
    )
    set_sql, set_params = query.get_compiler("default").as_sql()
    sql = (
        f"{set_sql} WHERE status = 'closed' AND last_activity_at < %s "
        "AND anonymised_at IS NULL AND id <> %s"
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, rule.cutoff(), held])
        count = cursor.rowcount
    return time.perf_counter() - started, count


def engine(rule) -> tuple[float, int]:
    from django.conf import settings

    from apps.retention.services import purge_run_execute, purge_run_request

    settings.JITPORTAL["PURGE_FOUR_EYES_THRESHOLD"] = 10**12
    request = purge_run_request(
        rule_id=rule.pk, actor=None, actor_label="system:bench", trigger="code", queue=False
    )
    started = time.perf_counter()
    run = purge_run_execute(run_id=request.run.pk)
    seconds = time.perf_counter() - started
    if run.status != "succeeded":
        raise SystemExit(f"anonymise run did not succeed: {run.status} {run.error}")
    return seconds, run.affected


def main() -> int:
    with bench_database(BENCH_DB):
        from django.conf import settings

        rule = common.ensure_rule(action="anonymise", name=RULE)
        raw_times, engine_times, ratios = [], [], []
        for _ in range(REPEATS):
            held = common.load_customers(ROWS)
            seconds, count = raw_update(rule, held)
            raw_times.append(seconds)
            common.load_customers(ROWS)
            seconds, affected = engine(rule)
            assert affected == count == ROWS - 1, (affected, count)
            engine_times.append(seconds)
            ratios.append(seconds / raw_times[-1])
        raw = statistics.median(raw_times)
        run = statistics.median(engine_times)
        report(
            f"purge_anonymise_{ROWS}",
            run,
            "s",
            statistics.median(ratios),
            f"one raw SQL UPDATE with the same expressions ({raw:.2f} s), "
            f"batch {settings.JITPORTAL['PURGE_BATCH_SIZE']}, medians of {REPEATS}",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
