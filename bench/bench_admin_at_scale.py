"""The audit event and grant changelists with 1,000,000 events and 100,000 grants.

On a dedicated PostgreSQL database (created and dropped here), generate_series loads:

- 1,000,000 audit events over the last 400 days, 12 actions, 10,000 actors; synthetic: the
  digests are unique but not a chain (the changelist shows events, it does not verify them;
  ``manage.py audit_verify`` and bench_audit_export measure the chain);
- 10,000 users, 10,000 data assets, 100,000 grants (10 per user, one asset each; a third
  ended, one in twenty revoked), each with its approved request; synthetic too: written by
  SQL, not by the services.

Then, signed in as a superuser through Django's test client (first page of each, warmed up):

- ``admin_audit_changelist``: the audit trail, plain; ``…_filtered``: one action and a year
  of the date hierarchy;
- ``admin_grant_changelist``: the grants, plain; ``…_filtered``: live now and one holder;
- baseline: one plain page query of the same model
  (``list(AuditEvent.objects.order_by("-id")[:100])``, the grant one with its related rows).

Prints one ``bench`` line per page: median time, ratio to its baseline, and the number of SQL
queries (constant whatever the number of rows: tests/audit/test_admin_scale.py and
tests/access/test_admin_scale.py pin them).

    .venv/bin/python bench/bench_admin_at_scale.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from _support import bench_database, report
from bench_access_check_100k import insert_grants

BENCH_DB = "jp_bench_admin_at_scale"
EVENTS = int(os.environ.get("BENCH_ADMIN_SCALE_EVENTS", "1000000"))
USERS = 10_000
ASSETS = 10_000
GRANTS = int(os.environ.get("BENCH_ADMIN_SCALE_GRANTS", "100000"))
LABELS = {"audit": "audit events", "grant": "grants"}
REPEATS = int(os.environ.get("BENCH_ADMIN_SCALE_REPEATS", "5"))
ACTIONS = [
    "access.request.submitted",
    "access.request.approved",
    "access.request.denied",
    "access.grant.activated",
    "access.grant.expired",
    "access.grant.revoked",
    "retention.purge.finished",
    "inventory.asset.changed",
    "signin.login",
    "signin.logout",
    "governed.read",
    "audit.export",
]


def load() -> int:
    from django.contrib.auth.models import User
    from django.db import connection

    from apps.inventory.models import DataAsset, System

    root = User.objects.create_superuser("bench-root", "root@example.org", "x")
    system = System.objects.create(name="Bench system")
    DataAsset.objects.bulk_create(
        [DataAsset(system=system, name=f"Asset {i:05d}") for i in range(ASSETS)], batch_size=5000
    )
    first_asset = DataAsset.objects.order_by("pk").values_list("pk", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, 'bench-' || n, 'First', 'Last ' || n, '', false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [USERS],
        )
        cursor.execute(
            "SELECT min(id) FROM auth_user WHERE username LIKE 'bench-%%' AND id <> %s", [root.pk]
        )
        first_user = cursor.fetchone()[0]
        insert_grants(
            cursor,
            first=1,
            count=GRANTS,
            user_sql=f"{first_user} + (n %% {USERS})",
            asset_sql=f"{first_asset} + (n * 7919) %% {ASSETS}",
        )
        # A third of the grants ended, one in twenty of those revoked.
        cursor.execute(
            """
            UPDATE access_grant SET starts_at = starts_at - interval '30 days',
                   ends_at = starts_at - interval '29 days', status = 'expired'
            WHERE id % 3 = 0
            """
        )
        cursor.execute(
            """
            UPDATE access_grant SET revoked_at = ends_at - interval '1 hour', status = 'revoked',
                   revoked_by_id = %s, revoke_reason = 'bench'
            WHERE id %% 60 = 0
            """,
            [root.pk],
        )
        cursor.execute(
            """
            INSERT INTO audit_auditevent (occurred_at, actor_id, actor_label, action, target_type,
                target_id, target_repr, reason, data, prev_hash, hash)
            SELECT now() - (%s - n) * interval '34560 milliseconds',
                   %s + n %% %s, 'bench-' || (n %% %s),
                   (%s::text[])[1 + n %% %s], 'access.grant', (n %% 100000)::text,
                   'Grant #' || (n %% 100000), 'bench event ' || n,
                   jsonb_build_object('n', n, 'asset', n %% 10000),
                   encode(sha256(((n - 1)::text)::bytea), 'hex'),
                   encode(sha256((n::text)::bytea), 'hex')
            FROM generate_series(1, %s) AS n
            """,
            [EVENTS, first_user, USERS, USERS, ACTIONS, len(ACTIONS), EVENTS],
        )
        cursor.execute("ANALYZE")
    return root.pk


def timed_get(client, url: str) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="127.0.0.1")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    assert len(response.context_data["cl"].result_list) > 0, url
    return elapsed, len(ctx.captured_queries)


def run() -> None:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from apps.access.models import Grant
    from apps.audit.models import AuditEvent

    root_id = load()
    holder = User.objects.get(username="bench-77")
    client = Client()
    client.force_login(User.objects.get(pk=root_id))
    audit = reverse("admin:audit_auditevent_changelist")
    grants = reverse("admin:access_grant_changelist")
    year = timezone.now().year
    pages = {
        "admin_audit_changelist": (audit, "audit"),
        "admin_audit_changelist_filtered": (
            f"{audit}?action=access.grant.revoked&occurred_at__year={year}",
            "audit",
        ),
        "admin_grant_changelist": (grants, "grant"),
        "admin_grant_changelist_filtered": (
            f"{grants}?live=yes&user__id__exact={holder.pk}",
            "grant",
        ),
    }
    baselines = {
        "audit": lambda: list(AuditEvent.objects.order_by("-id")[:100]),
        "grant": lambda: list(
            Grant.objects.select_related("user", "request__role", "request__asset")
            .prefetch_related("assets")
            .order_by("-id")[:50]
        ),
    }
    for url, _ in pages.values():  # warm up
        timed_get(client, url)
    timings: dict[str, list[float]] = {name: [] for name in pages}
    base: dict[str, list[float]] = {name: [] for name in baselines}
    queries: dict[str, int] = {}
    for _ in range(REPEATS):
        for name, (url, _) in pages.items():
            elapsed, count = timed_get(client, url)
            timings[name].append(elapsed)
            queries[name] = count
        for name, fn in baselines.items():
            started = time.perf_counter()
            fn()
            base[name].append(time.perf_counter() - started)
    events, grant_rows = AuditEvent.objects.count(), Grant.objects.count()
    for name, (_, kind) in pages.items():
        ms = statistics.median(timings[name]) * 1000
        base_ms = statistics.median(base[kind]) * 1000
        report(
            name,
            ms,
            "ms",
            ms / base_ms,
            f"one plain page query of the {LABELS[kind]} ({base_ms:.1f} ms); {queries[name]} SQL "
            f"queries, {events:,} events, {grant_rows:,} grants",
            value_format=".1f",
            ratio_format=".1f",
        )


def main() -> int:
    with bench_database(BENCH_DB):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
