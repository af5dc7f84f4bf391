"""``user.has_perm`` for one user among 100,000 live grants of 10,000 users, against the same
user when their 50 grants are the only ones.

On a dedicated PostgreSQL database (created and dropped here), with 10,000 data assets:

1. baseline: one user holding 50 live grants (50 assets), nobody else holding any;
2. then generate_series adds 9,999 more users and 99,950 more live grants (10 each, one
   asset each, spread over the 10,000 assets), so the user is one among 100,000 live grants
   of 10,000 users; ANALYZE.

In each state the same measurement: 500 "pages", each a fresh user object (as a request
loads one) asking 20 questions ``user.has_perm("inventory.view_data", asset)`` (10 granted
assets, 10 not), every call timed on its own through the configured
``AUTHENTICATION_BACKENDS``. A page's first question loads the user's grants (one query,
apps/access/backends.py); the others are answered from memory. With 20 questions a page,
the p99 is a first question: what the table size could slow down.

Synthetic: requests and grants are written by SQL, not by the services (no audit events,
no guardian mirror rows: GrantBackend reads neither); each grant has its own approved
request, as the services would leave it.

Prints ``bench access_check_100k`` (p99, ratio to the 50-grant state) and
``bench access_check_100k_p50`` (the median call, answered from memory).

    .venv/bin/python bench/bench_access_check_100k.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time

from _support import bench_database, report

BENCH_DB = "jp_bench_access_check_100k"
ASSETS = 10_000
USERS = int(os.environ.get("BENCH_ACCESS100K_USERS", "10000"))
GRANTS = int(os.environ.get("BENCH_ACCESS100K_GRANTS", "100000"))
OWN_GRANTS = 50
PAGES = int(os.environ.get("BENCH_ACCESS100K_PAGES", "500"))
QUESTIONS = 20


def insert_grants(cursor, *, first: int, count: int, user_sql: str, asset_sql: str) -> None:
    """``count`` approved requests and their live grants numbered ``first``.. (``n``), each
    for the user and the one asset the SQL expressions of ``n`` name. The request's ticket
    carries ``n`` so the grants can be joined to it."""
    cursor.execute(
        f"""
        INSERT INTO access_accessrequest (requester_id, role_id, asset_id, starts_at, ends_at,
            justification, ticket, is_break_glass, status, approvals_required, dpo_required,
            policy_snapshot, created_at, decision_comment, decision_code, decided_at)
        SELECT {user_sql}, NULL, {asset_sql}, now() - interval '1 hour', now() + interval '1 day',
               'bench', 'bench-' || n, false, 'approved', 1, false, '{{}}'::jsonb,
               now() - interval '2 hours', '', '', now() - interval '1 hour'
        FROM generate_series(%s, %s) AS n
        """,
        [first, first + count - 1],
    )
    cursor.execute(
        """
        INSERT INTO access_grant (request_id, user_id, can_view, can_change, can_export,
            starts_at, ends_at, status, revoke_reason, revoke_code, is_break_glass,
            needs_review, mirrored, created_at)
        SELECT r.id, r.requester_id, true, false, false, r.starts_at, r.ends_at, 'active', '',
               '', false, false, false, r.decided_at
        FROM access_accessrequest r
        WHERE r.ticket LIKE 'bench-%%' AND NOT EXISTS
              (SELECT 1 FROM access_grant g WHERE g.request_id = r.id)
        """
    )
    cursor.execute(
        """
        INSERT INTO access_grant_assets (grant_id, dataasset_id)
        SELECT g.id, r.asset_id FROM access_grant g JOIN access_accessrequest r
          ON r.id = g.request_id
        WHERE NOT EXISTS (SELECT 1 FROM access_grant_assets ga WHERE ga.grant_id = g.id)
        """
    )
    cursor.execute("ANALYZE")


def load_own() -> tuple[int, list, list]:
    """10,000 assets and the measured user with 50 live grants; returns the user's id, the
    granted assets and as many assets not granted."""
    from django.contrib.auth.models import User
    from django.db import connection

    from apps.inventory.models import DataAsset, System

    user = User.objects.create_user("bench-measured", "bench@example.org", "x")
    system = System.objects.create(name="Bench system")
    DataAsset.objects.bulk_create(
        [DataAsset(system=system, name=f"Asset {i:05d}") for i in range(ASSETS)], batch_size=5000
    )
    first_asset = DataAsset.objects.order_by("pk").values_list("pk", flat=True)[0]
    step = ASSETS // OWN_GRANTS
    with connection.cursor() as cursor:
        insert_grants(
            cursor,
            first=1,
            count=OWN_GRANTS,
            user_sql=str(user.pk),
            asset_sql=f"{first_asset} + (n - 1) * {step}",
        )
    assets = list(DataAsset.objects.order_by("pk"))
    granted = assets[::step][:OWN_GRANTS]
    others = [a for i, a in enumerate(assets) if i % step == 1][:OWN_GRANTS]
    return user.pk, granted, others


def load_everyone(measured_id: int) -> None:
    """9,999 more users and the rest of the 100,000 live grants, 10 each."""
    from django.db import connection

    from apps.inventory.models import DataAsset

    first_asset = DataAsset.objects.order_by("pk").values_list("pk", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, 'bench-' || n, 'First', 'Last ' || n, '', false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [USERS - 1],
        )
        cursor.execute(
            "SELECT min(id) FROM auth_user WHERE username LIKE 'bench-%%' AND id <> %s",
            [measured_id],
        )
        first_user = cursor.fetchone()[0]
        insert_grants(
            cursor,
            first=OWN_GRANTS + 1,
            count=GRANTS - OWN_GRANTS,
            user_sql=f"{first_user} + (n %% {USERS - 1})",
            asset_sql=f"{first_asset} + (n * 7919) %% {ASSETS}",
        )


def measure(user_id: int, granted: list, others: list) -> list[float]:
    """Every call's time in seconds over ``PAGES`` fresh user objects."""
    from django.contrib.auth.models import User

    rng = random.Random(42)
    timings: list[float] = []
    for _ in range(PAGES):
        user = User.objects.get(pk=user_id)
        asked = [(a, True) for a in rng.sample(granted, QUESTIONS // 2)]
        asked += [(a, False) for a in rng.sample(others, QUESTIONS // 2)]
        rng.shuffle(asked)
        for asset, expected in asked:
            started = time.perf_counter()
            allowed = user.has_perm("inventory.view_data", asset)
            timings.append(time.perf_counter() - started)
            assert allowed is expected, (asset.pk, expected)
    return timings


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def run() -> None:
    from apps.access.models import Grant

    user_id, granted, others = load_own()
    measure(user_id, granted, others)  # warm up
    alone = measure(user_id, granted, others)
    load_everyone(user_id)
    live = Grant.objects.live().count()
    users = Grant.objects.live().values("user_id").distinct().count()
    assert (live, users) == (GRANTS, USERS), (live, users)
    measure(user_id, granted, others)  # warm up
    among = measure(user_id, granted, others)
    base_us, ours_us = p99(alone) * 1e6, p99(among) * 1e6
    report(
        "access_check_100k",
        ours_us,
        "us",
        ours_us / base_us,
        f"p99 of the same user's has_perm with its 50 grants the only ones ({base_us:.0f} us); "
        f"{len(among):,} calls, {QUESTIONS} per fresh user object, among {live:,} live grants "
        f"of {users:,} users",
        value_format=".0f",
    )
    base_p50, ours_p50 = statistics.median(alone) * 1e6, statistics.median(among) * 1e6
    report(
        "access_check_100k_p50",
        ours_p50,
        "us",
        ours_p50 / base_p50,
        f"median call with the 50 grants the only ones ({base_p50:.1f} us), answered from "
        "the grants loaded by the page's first call",
        value_format=".1f",
    )


def main() -> int:
    with bench_database(BENCH_DB):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
