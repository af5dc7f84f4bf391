"""Reconcile expiring 100,000 grants against one raw SQL UPDATE of the same rows.

On a dedicated PostgreSQL database (created and dropped here), generate_series loads
100,000 grants (1,000 users x 100 assets, one asset each) whose window has ended, still
``active`` and mirrored (one django-guardian row each), plus 1,000 grants still live that
overlap some of those user/asset pairs (their guardian rows must stay: invariant 5). Then,
on the same rows each time:

- baseline: one ``UPDATE access_grant SET status = 'expired', mirrored = false WHERE ...``
  (rolled back);
- the service: ``access_reconcile()``: claims the rows in batches of
  ``JITPORTAL["RECONCILE_BATCH_SIZE"]`` with SELECT ... FOR UPDATE SKIP LOCKED, removes the
  guardian rows no other live grant needs, updates the batch and appends one
  ``access.grant.expired`` audit event per grant (one INSERT per batch); after each run the
  grants, guardian rows and audit events are checked, then the grants are put back.

Prints ``bench`` lines (medians of the repeats).

    python3 dev.py bench bench_reconcile   # or: .venv/bin/python bench/bench_reconcile.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from _support import bench_database, report

BENCH_DB = "jp_bench_reconcile"
USERS = int(os.environ.get("BENCH_RECONCILE_USERS", "1000"))
ASSETS = int(os.environ.get("BENCH_RECONCILE_ASSETS", "100"))
REPEATS = int(os.environ.get("BENCH_RECONCILE_REPEATS", "3"))
GRANTS = USERS * ASSETS


def load() -> None:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from apps.inventory.models import DataAsset, System

    system = System.objects.create(name="Bench system")
    DataAsset.objects.bulk_create(
        [DataAsset(system=system, name=f"Asset {i:04d}") for i in range(ASSETS)]
    )
    ct = ContentType.objects.get_for_model(DataAsset)
    perm = Permission.objects.get(content_type=ct, codename="view_data")
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, 'bench-' || n, '', '', '', false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [USERS],
        )
        c.execute(
            "CREATE TEMP TABLE bench_users AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM auth_user"
        )
        c.execute(
            "CREATE TEMP TABLE bench_assets AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM inventory_dataasset"
        )
        # Ended an hour ago: due to expire. Then 1,000 live ones on asset 0 (overlapping).
        for label, window, count in (
            ("ended", ("now() - interval '3 hours'", "now() - interval '1 hour'"), GRANTS),
            ("live", ("now() - interval '1 hour'", "now() + interval '4 hours'"), USERS),
        ):
            c.execute(
                f"""
                INSERT INTO access_accessrequest (requester_id, asset_id, starts_at, ends_at,
                    justification, ticket, is_break_glass, status, approvals_required,
                    dpo_required, policy_snapshot, created_at, decision_comment, decision_code)
                SELECT u.id, a.id, {window[0]}, {window[1]}, '{label}', '', false,
                       'approved', 1, false, '{{}}'::jsonb, now(), '', ''
                FROM generate_series(0, %s - 1) AS n
                JOIN bench_users u ON u.i = n %% %s
                JOIN bench_assets a ON a.i = n / %s
                """,
                [count, USERS, USERS],
            )
        c.execute(
            """
            INSERT INTO access_grant (request_id, user_id, can_view, can_change, can_export,
                starts_at, ends_at, status, revoke_reason, revoke_code, is_break_glass,
                needs_review, mirrored, created_at)
            SELECT r.id, r.requester_id, true, false, false, r.starts_at, r.ends_at, 'active',
                   '', '', false, false, true, now()
            FROM access_accessrequest r ORDER BY r.id
            """
        )
        c.execute(
            """
            INSERT INTO access_grant_assets (grant_id, dataasset_id)
            SELECT g.id, r.asset_id FROM access_grant g JOIN access_accessrequest r
              ON r.id = g.request_id
            """
        )
        c.execute(
            "CREATE TEMP TABLE bench_mirror AS "
            "SELECT DISTINCT g.user_id, ga.dataasset_id::text AS object_pk "
            "FROM access_grant g JOIN access_grant_assets ga ON ga.grant_id = g.id"
        )
    restore_mirror(ct.pk, perm.pk)
    # Statistics as a running system has them (autovacuum): taken with the mirror rows in.
    with connection.cursor() as c:
        c.execute("ANALYZE")


def restore_mirror(ct_id: int, perm_id: int) -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO guardian_userobjectpermission (object_pk, content_type_id,
                permission_id, user_id)
            SELECT object_pk, %s, %s, user_id FROM bench_mirror
            ON CONFLICT DO NOTHING
            """,
            [ct_id, perm_id],
        )


def counts() -> tuple[int, int, int]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM access_grant WHERE status = 'expired' AND NOT mirrored")
        expired = c.fetchone()[0]
        c.execute("SELECT count(*) FROM guardian_userobjectpermission")
        mirror = c.fetchone()[0]
        c.execute("SELECT count(*) FROM audit_auditevent WHERE action = 'access.grant.expired'")
        events = c.fetchone()[0]
    return expired, mirror, events


def run() -> None:
    from django.conf import settings
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction

    from apps.access.services import access_reconcile
    from apps.audit.selectors import audit_chain_verify
    from apps.inventory.models import DataAsset

    load()
    ct = ContentType.objects.get_for_model(DataAsset)
    perm = Permission.objects.get(content_type=ct, codename="view_data")
    raw, ours, cpu = [], [], []
    update = (
        "UPDATE access_grant SET status = 'expired', mirrored = false "
        "WHERE status IN ('scheduled', 'active') AND ends_at <= now()"
    )
    for repeat in range(REPEATS):
        with transaction.atomic():
            with connection.cursor() as c:
                started = time.perf_counter()
                c.execute(update)
                raw.append(time.perf_counter() - started)
                assert c.rowcount == GRANTS, c.rowcount
            transaction.set_rollback(True)

        _, _, events_before = counts()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = access_reconcile()
        ours.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        expired, mirror, events = counts()
        assert result["expired"] == GRANTS, result
        assert expired == GRANTS, expired
        # Only the rows the live, overlapping grants still need are left.
        assert mirror == USERS, mirror
        assert events - events_before == GRANTS
        # Put the grants back for the next repeat.
        with connection.cursor() as c:
            c.execute(
                "UPDATE access_grant SET status = 'active', mirrored = true "
                "WHERE status = 'expired'"
            )
        restore_mirror(ct.pk, perm.pk)
        with connection.cursor() as c:
            c.execute("ANALYZE access_grant")
        print(
            f"  run {repeat + 1}: reconcile {ours[-1]:.2f} s, raw UPDATE {raw[-1]:.3f} s",
            flush=True,
        )
    verify = audit_chain_verify()
    assert verify.ok, verify.describe()
    ours_s = statistics.median(ours)
    raw_s = statistics.median(raw)
    batch = settings.JITPORTAL["RECONCILE_BATCH_SIZE"]
    report(
        "reconcile_expire",
        ours_s,
        "s",
        ours_s / raw_s,
        f"one raw SQL UPDATE of the same {GRANTS:,} rows ({raw_s:.3f} s); "
        f"incl. guardian row removal and {GRANTS:,} audit events, batch {batch}",
        ratio_format=".1f",
    )
    cpu_s = statistics.median(cpu)
    report(
        "reconcile_expire_cpu",
        cpu_s,
        "s",
        cpu_s / ours_s,
        "wall time of the same runs (the rest is waiting on PostgreSQL)",
    )
    report(
        "reconcile_expire_rate",
        GRANTS / ours_s,
        "grants/s",
        ours_s / raw_s,
        f"raw UPDATE ({GRANTS / raw_s:,.0f} rows/s)",
        value_format=",.0f",
        ratio_format=".1f",
    )


def main() -> int:
    with bench_database(BENCH_DB):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
