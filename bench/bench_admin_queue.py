"""The approver's admin queue with 100,000 pending requests.

On a dedicated PostgreSQL database (created and dropped here), generate_series loads
100,000 pending requests from 1,000 requesters: half for a role the approver decides, a
quarter for single assets they decide, a quarter for a role they do not (so the queue has
to filter). Then, signed in as the approver through Django's test client:

- the queue page (admin:access_accessrequest_queue, first page of 50), plain and with a
  search of two words and two filters;
- the admin index (it shows how many requests wait: a COUNT over the queue);
- the request changelist (all 100,000);
- baseline: the plain Django query for one page of pending requests
  (``list(AccessRequest.objects.filter(status="pending").order_by("created_at")[:50])``).

Prints ``bench`` lines (medians of the repeats) with the number of SQL queries per page,
which does not depend on the number of rows (tests/access/test_admin.py checks that).

    python3 dev.py bench bench_admin_queue   # or: .venv/bin/python bench/bench_admin_queue.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from _support import bench_database, report

BENCH_DB = "jp_bench_admin_queue"
ROWS = int(os.environ.get("BENCH_QUEUE_ROWS", "100000"))
REQUESTERS = 1000
REPEATS = int(os.environ.get("BENCH_QUEUE_REPEATS", "5"))


def load() -> int:
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from apps.access.models import AccessRole
    from apps.inventory.models import DataAsset, System
    from apps.inventory.roles import groups_sync

    groups_sync()
    approvers = Group.objects.get(name="Approvers")
    approver = User.objects.create_user("bench-approver", "a@example.org", "x", is_staff=True)
    approver.groups.add(approvers)
    system = System.objects.create(name="Bench system")
    mine = DataAsset.objects.create(system=system, name="Decided by the approver")
    other = DataAsset.objects.create(system=system, name="Decided by someone else")
    role_mine = AccessRole.objects.create(name="Mine", approve_by_steward_group=False)
    role_mine.assets.set([mine])
    role_mine.approver_groups.set([approvers])
    role_other = AccessRole.objects.create(name="Not mine", approve_by_steward_group=False)
    role_other.assets.set([other])
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, 'bench-' || n, 'First', 'Last ' || n, '', false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [REQUESTERS],
        )
        c.execute(
            """
            INSERT INTO access_accessrequest (requester_id, role_id, asset_id, starts_at,
                ends_at, justification, ticket, is_break_glass, status, approvals_required,
                dpo_required, policy_snapshot, created_at, decision_comment, decision_code,
                lapses_at, remind_at)
            SELECT u.id,
                   CASE WHEN n %% 4 IN (0, 1) THEN %s WHEN n %% 4 = 3 THEN %s END,
                   CASE WHEN n %% 4 = 2 THEN %s END,
                   now() + interval '1 hour', now() + interval '3 hours',
                   'Customer case ' || n, '', false, 'pending', 1, false, '{}'::jsonb,
                   now() - (n || ' seconds')::interval, '', '', now() + interval '2 days',
                   now() + interval '8 hours'
            FROM generate_series(1, %s) AS n
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM auth_user
                  WHERE username LIKE 'bench-%%' AND username <> 'bench-approver') u
              ON u.i = n %% %s
            """,
            [role_mine.pk, role_other.pk, mine.pk, ROWS, REQUESTERS],
        )
        c.execute("ANALYZE")
    return approver.pk


def timed_get(client, url: str) -> tuple[float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="127.0.0.1")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, len(ctx.captured_queries), response


def run() -> None:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from apps.access.models import AccessRequest
    from apps.access.selectors import approval_queue_for

    approver_id = load()
    approver = User.objects.get(pk=approver_id)
    waiting = approval_queue_for(approver).count()
    client = Client()
    client.force_login(approver)
    pages = {
        "admin_queue": reverse("admin:access_accessrequest_queue"),
        # searched (two words, each in any of nine columns) and filtered by age and special data
        "admin_queue_searched": reverse("admin:access_accessrequest_queue")
        + "?q=case+7&age=day&special=no",
        "admin_index": reverse("admin:index"),
        "admin_request_changelist": reverse("admin:access_accessrequest_changelist"),
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    queries: dict[str, int] = {}
    for url in pages.values():  # warm up
        client.get(url, HTTP_HOST="127.0.0.1")
    baseline = []
    for _ in range(REPEATS):
        for name, url in pages.items():
            elapsed, count, response = timed_get(client, url)
            timings[name].append(elapsed)
            queries[name] = count
            if name.startswith("admin_queue"):
                assert len(response.context_data["rows"]) == 50
        started = time.perf_counter()
        list(
            AccessRequest.objects.filter(status="pending")
            .select_related("requester", "role", "asset")
            .order_by("created_at")[:50]
        )
        baseline.append(time.perf_counter() - started)
    base_ms = statistics.median(baseline) * 1000
    for name, values in timings.items():
        ms = statistics.median(values) * 1000
        report(
            name,
            ms,
            "ms",
            ms / base_ms,
            f"plain Django query of one page of pending requests ({base_ms:.1f} ms); "
            f"{queries[name]} SQL queries, {ROWS:,} requests, {waiting:,} decidable",
            value_format=".1f",
            ratio_format=".1f",
        )


def main() -> int:
    with bench_database(BENCH_DB):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
