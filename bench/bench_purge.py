"""Retention purge (delete) against one raw SQL DELETE of the same rows, and its memory.

On a dedicated PostgreSQL database (created, migrated and dropped here):

1. 1,000,000 expired closed support tickets (plus 1 in 11 recent ones that must stay) of
   1,000 customers, one customer under a legal hold (its tickets are held too), bulk-loaded
   with generate_series. Per repeat, on one load:
   - baseline: one ``DELETE FROM crm_supportticket WHERE status = 'closed' AND
     closed_at < cutoff AND customer_id <> held`` (the same rows the rule purges), timed
     with its deferred constraint checks, then rolled back and the table vacuumed;
   - the engine: ``purge_run_execute`` of the delete rule in a subprocess, timing only the
     run; the subprocess reports its peak RSS (``resource.getrusage``).
   Both start right after a CHECKPOINT (``_support.checkpoint``), so that neither pays for
   full-page WAL writes the other does not.
   Medians of the repeats. Peak RSS is measured again at 100,000 rows: flat memory means
   the two are the same.
2. Customers with a cascade (their tickets are deleted first, in the same statement):
   200,000 expired customers, one raw DELETE (committed: the foreign-key checks of the
   tables that refer to customers run at commit, for the engine's batches too) against the
   engine, on fresh loads.

    python3 dev.py bench bench_purge        # or: .venv/bin/python bench/bench_purge.py
    BENCH_PURGE_ROWS, BENCH_PURGE_SMALL_ROWS, BENCH_PURGE_REPEATS, BENCH_PURGE_CUSTOMERS;
    BENCH_PURGE_SIZES=5000,20000,50000 adds one line per batch size.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from _support import bench_database, checkpoint, django_setup, peak_rss_kb, report, run_child

BENCH_DB = os.environ.get("BENCH_DB_NAME", "jp_bench_purge")
ROWS = int(os.environ.get("BENCH_PURGE_ROWS", "1000000"))
SMALL_ROWS = int(os.environ.get("BENCH_PURGE_SMALL_ROWS", "100000"))
REPEATS = int(os.environ.get("BENCH_PURGE_REPEATS", "3"))
CUSTOMER_ROWS = int(os.environ.get("BENCH_PURGE_CUSTOMERS", "200000"))
RECENT_EVERY = 11  # one row in 11 is recent: the filter has rows to leave alone
CUSTOMERS_FOR_TICKETS = 1000
OLD_DAYS = 4000
RULE_NAME = "bench: closed customers, 6 years after last activity"
TICKET_RULE = "bench: closed tickets, 2 years after closing"


def _execute(sql: str, params=None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def load_customers(rows: int) -> int:
    """Truncate and bulk-load ``rows`` expired closed customers (+ recent ones); returns
    the id of the one customer placed under a legal hold."""
    from django.db import connection

    total = rows + rows // (RECENT_EVERY - 1)
    _execute("TRUNCATE crm_supportticket, crm_customer RESTART IDENTITY CASCADE")
    _execute(
        f"""
        INSERT INTO crm_customer (external_ref, full_name, email, phone, date_of_birth,
            address, country, status, health_notes, created_at, last_activity_at,
            contract_ended_on, anonymised_at)
        SELECT 'B' || g, 'Customer ' || g, 'c' || g || '@example.org',
            '+44 20 7946 ' || lpad((g % 10000)::text, 4, '0'),
            date '1950-01-01' + (g % 20000), g || ' Example Street', 'GB', 'closed',
            CASE WHEN g % 7 = 0 THEN 'Needs step-free access' ELSE '' END,
            CASE WHEN g % {RECENT_EVERY} = 0 THEN now() ELSE now() - interval '{OLD_DAYS} days' END,
            CASE WHEN g % {RECENT_EVERY} = 0 THEN now() ELSE now() - interval '{OLD_DAYS} days' END,
            NULL, NULL
        FROM generate_series(1, {total}) AS g
        """
    )
    _execute("VACUUM ANALYZE crm_customer")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id) FROM crm_customer WHERE id %% 2 = 0 AND id %% %s <> 0", [RECENT_EVERY]
        )
        held = cursor.fetchone()[0]
    _hold("customer", held)
    return held


def load_tickets(rows: int) -> tuple[int, int]:
    """Truncate and bulk-load ``rows`` expired closed tickets (+ recent ones) of 1,000
    customers; returns the held customer's id and how many expired tickets it has."""
    from django.db import connection, transaction

    total = rows + rows // (RECENT_EVERY - 1)
    _execute("TRUNCATE crm_supportticket, crm_customer RESTART IDENTITY CASCADE")
    _execute(
        "INSERT INTO crm_customer (external_ref, full_name, email, phone, address, country, "
        "status, health_notes, created_at, last_activity_at) SELECT 'T' || g, 'Customer ' || g, "
        "'c' || g || '@example.org', '', '', 'GB', 'active', '', now(), now() "
        f"FROM generate_series(1, {CUSTOMERS_FOR_TICKETS}) AS g"
    )
    with transaction.atomic():
        # Bulk load: the rows point at existing customers, so the per-row foreign-key
        # checks of the INSERT are skipped (they are not what is measured).
        _execute("SET LOCAL session_replication_role = replica")
        _execute(
            f"""
            INSERT INTO crm_supportticket (customer_id, subject, body, status, created_at,
                closed_at)
            SELECT 1 + g % {CUSTOMERS_FOR_TICKETS}, 'Invoice shows the wrong amount',
                'Please check invoice ' || g || ' and call me back on my usual number.',
                'closed',
                now() - interval '{OLD_DAYS} days' + (g % {RECENT_EVERY} = 0)::int * interval '{OLD_DAYS} days',
                now() - interval '{OLD_DAYS} days' + (g % {RECENT_EVERY} = 0)::int * interval '{OLD_DAYS} days'
            FROM generate_series(1, {total}) AS g
            """
        )
    _execute("VACUUM ANALYZE crm_supportticket")
    held = 7
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM crm_supportticket WHERE customer_id = %s "
            "AND closed_at < now() - interval '3 years'",
            [held],
        )
        held_tickets = cursor.fetchone()[0]
    _hold("customer", held)
    return held, held_tickets


def _hold(kind: str, object_id: int) -> None:
    from datetime import timedelta

    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from apps.crm.models import Customer
    from apps.retention.models import LegalHold
    from apps.retention.services import legal_hold_place

    LegalHold.objects.filter(scope="records").delete()
    legal_hold_place(
        scope="records",
        basis="art17_3_e",
        reason=f"bench: one {kind} under a legal hold",
        review_on=timezone.localdate() + timedelta(days=30),
        actor=None,
        actor_label="system:bench",
        content_type=ContentType.objects.get_for_model(Customer),
        object_ids=[object_id],
    )


def ensure_rule(*, action: str = "delete", name: str = RULE_NAME):
    from django.contrib.contenttypes.models import ContentType

    from apps.crm.models import Customer, SupportTicket
    from apps.inventory.models import DataAsset, System
    from apps.retention.models import RetentionRule
    from apps.retention.services import retention_rule_save

    rule = RetentionRule.objects.filter(name=name).first()
    if rule is not None:
        return rule
    system, _ = System.objects.get_or_create(name="CRM")
    tickets = name == TICKET_RULE
    asset, _ = DataAsset.objects.get_or_create(
        system=system, name="Support tickets" if tickets else "Customers"
    )
    rule = RetentionRule(
        name=name,
        asset=asset,
        content_type=ContentType.objects.get_for_model(SupportTicket if tickets else Customer),
        date_field="closed_at" if tickets else "last_activity_at",
        filter={"status": "closed"},
        period_amount=2 if tickets else 6,
        period_unit="years",
        action=action,
        anonymised_marker_field="anonymised_at" if action == "anonymise" else "",
        legal_reason="bench",
        legal_citation="bench",
    )
    fields = None
    if action == "anonymise":
        fields = [
            {"field_name": "full_name", "strategy": "fixed", "value": "Anonymised customer"},
            {"field_name": "email", "strategy": "hash"},
            {"field_name": "phone", "strategy": "fixed", "value": ""},
            {"field_name": "address", "strategy": "fixed", "value": ""},
            {"field_name": "health_notes", "strategy": "fixed", "value": ""},
            {"field_name": "date_of_birth", "strategy": "truncate_date", "truncate_to": "year"},
        ]
    return retention_rule_save(rule=rule, actor=None, actor_label="system:bench", fields=fields)


def child_purge(rule_name: str, batch_size: int | None) -> None:
    """In a subprocess: run the rule once, print seconds and peak RSS as JSON."""
    django_setup(BENCH_DB)
    from django.conf import settings
    from django.db import connection

    from apps.retention.models import PurgeRun, RetentionRule
    from apps.retention.services import purge_run_execute, purge_run_request

    rule = RetentionRule.objects.get(name=rule_name)
    # Four eyes is not what is measured: a confirmed run is what production executes.
    settings.JITPORTAL["PURGE_FOUR_EYES_THRESHOLD"] = 10**12
    request = purge_run_request(
        rule_id=rule.pk, actor=None, actor_label="system:bench", trigger="code", queue=False
    )
    connection.cursor().execute("SELECT 1")
    rss_before = peak_rss_kb()
    started = time.perf_counter()
    run = purge_run_execute(run_id=request.run.pk, batch_size=batch_size)
    seconds = time.perf_counter() - started
    rss_peak = peak_rss_kb()
    run = PurgeRun.objects.get(pk=run.pk)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_before_kb": rss_before,
                "rss_peak_kb": rss_peak,
                "status": run.status,
                "affected": run.affected,
                "held": run.skipped_held,
                "batches": run.batches,
                "error": run.error,
            }
        )
    )


def purge_in_child(rule_name: str, batch_size: int | None = None) -> dict:
    """``child_purge`` in a fresh process (after a checkpoint, as the raw statement); stops
    the benchmark unless the run succeeded."""
    checkpoint()
    result = run_child(__file__, rule_name, *([str(batch_size)] if batch_size else []))
    if result["status"] != "succeeded":
        raise SystemExit(f"purge did not succeed: {result}")
    return result


def raw_ticket_delete(held: int) -> tuple[float, int]:
    """One DELETE of the rule's rows with its deferred checks; rolled back, then vacuumed
    so the engine meets the same table."""
    from django.db import connection, transaction

    from apps.retention.models import RetentionRule

    cutoff = RetentionRule.objects.get(name=TICKET_RULE).cutoff()
    checkpoint()
    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "DELETE FROM crm_supportticket WHERE status = 'closed' AND closed_at < %s "
            "AND customer_id <> %s",
            [cutoff, held],
        )
        count = cursor.rowcount
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    _execute("VACUUM ANALYZE crm_supportticket")
    return seconds, count


def raw_customer_delete(held: int) -> tuple[float, int]:
    from django.db import connection, transaction

    from apps.retention.models import RetentionRule

    cutoff = RetentionRule.objects.get(name=RULE_NAME).cutoff()
    checkpoint()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM crm_customer WHERE status = 'closed' AND last_activity_at < %s "
            "AND id <> %s",
            [cutoff, held],
        )
        count = cursor.rowcount
    return time.perf_counter() - started, count


def main() -> int:
    with bench_database(BENCH_DB):
        from django.conf import settings

        batch = settings.JITPORTAL["PURGE_BATCH_SIZE"]
        ensure_rule(name=TICKET_RULE)
        ensure_rule(name=RULE_NAME)
        raw_times, purge_times, ratios, rss_big, growth = [], [], [], [], []
        for _ in range(REPEATS):
            held, held_tickets = load_tickets(ROWS)
            seconds, count = raw_ticket_delete(held)
            raw_times.append(seconds)
            result = purge_in_child(TICKET_RULE)
            assert result["affected"] == count == ROWS - held_tickets, (result, count)
            assert result["held"] == held_tickets, result
            purge_times.append(result["seconds"])
            # Against the raw DELETE on the same load: the machine's speed drifts.
            ratios.append(result["seconds"] / seconds)
            rss_big.append(result["rss_peak_kb"])
            growth.append(result["rss_peak_kb"] - result["rss_before_kb"])
        raw = statistics.median(raw_times)
        purge = statistics.median(purge_times)
        report(
            f"purge_delete_{ROWS}",
            purge,
            "s",
            statistics.median(ratios),
            f"one raw SQL DELETE of the same rows ({raw:.2f} s); "
            f"support tickets, batch {batch}, medians of {REPEATS}",
        )
        load_tickets(SMALL_ROWS)
        small = purge_in_child(TICKET_RULE)
        big_mb = statistics.median(rss_big) / 1024
        small_mb = small["rss_peak_kb"] / 1024
        grew_mb = statistics.median(growth) / 1024
        small_grew_mb = (small["rss_peak_kb"] - small["rss_before_kb"]) / 1024
        report(
            f"purge_delete_peak_rss_{ROWS}",
            big_mb,
            "MB",
            big_mb / small_mb,
            f"peak RSS of the same purge of {SMALL_ROWS} rows ({small_mb:.1f} MB); "
            f"growth during the run {grew_mb:.1f} MB vs {small_grew_mb:.1f} MB",
            value_format=".1f",
        )
        for size in [int(s) for s in os.environ.get("BENCH_PURGE_SIZES", "").split(",") if s]:
            held, _ = load_tickets(ROWS)
            seconds, _ = raw_ticket_delete(held)
            result = purge_in_child(TICKET_RULE, size)
            report(
                f"purge_delete_{ROWS}_batch_{size}",
                result["seconds"],
                "s",
                result["seconds"] / seconds,
                f"one raw SQL DELETE ({seconds:.2f} s)",
            )
        if CUSTOMER_ROWS:
            held = load_customers(CUSTOMER_ROWS)
            raw_c, count = raw_customer_delete(held)
            load_customers(CUSTOMER_ROWS)
            result = purge_in_child(RULE_NAME)
            assert result["affected"] == count == CUSTOMER_ROWS - 1, (result, count)
            report(
                f"purge_delete_customers_{CUSTOMER_ROWS}",
                result["seconds"],
                "s",
                result["seconds"] / raw_c,
                "one raw SQL DELETE of the same customers, committed "
                f"({raw_c:.2f} s); tickets cascade, batch {batch}",
            )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_purge(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
    else:
        sys.exit(main())
