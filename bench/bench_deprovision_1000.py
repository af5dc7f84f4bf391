"""1,000 grants ending at once on PostgreSQL: the time to remove all their roles, as a
ratio to one transaction of the same ``DROP ROLE`` statements.

On a dedicated portal database and a dedicated target database on the benchmark server
(both created and dropped here): 1,000 grants of one asset bound to the target, each with a
provisioned login role (created in one transaction: setup, not timed). Then, each repeat on
the same 1,000 fresh roles:

- baseline: one transaction of 1,000 ``DROP ROLE`` statements (sent in one round trip);
- the portal: the grants' ends pass and ``connectors_reconcile()`` runs: it asks for the
  removals, locks the rows, lets the PostgreSQL connector remove all 1,000 roles in one
  batch (NOLOGIN, sessions cut, memberships revoked, owned objects handled, DROP ROLE),
  marks the rows removed and writes 1,000 ``connectors.account.removed`` audit events (one
  INSERT); checked after each run.

Target: ratio ≤ 10.

    .venv/bin/python bench/bench_deprovision_1000.py
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta

from _support import bench_database, report

BENCH_DB = "jp_bench_deprovision_1000"
TARGET_DB = "jp_bench_deprovision_1000_target"
PREFIX = "jpbd_"
GRANTS = int(os.environ.get("BENCH_DEPROVISION_GRANTS", "1000"))
REPEATS = int(os.environ.get("BENCH_DEPROVISION_REPEATS", "3"))


def make_roles(url: str, accounts: list[str], asset_role: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        statements = [
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD NULL VALID UNTIL 'infinity'").format(
                sql.Identifier(a)
            )
            for a in accounts
        ]
        cur.execute(sql.SQL("; ").join(statements))
        cur.execute(
            sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(asset_role), sql.SQL(", ").join(sql.Identifier(a) for a in accounts)
            )
        )


def baseline(url: str, accounts: list[str], asset_role: str) -> float:
    import psycopg
    from psycopg import sql

    make_roles(url, accounts, asset_role)
    drops = sql.SQL("; ").join(sql.SQL("DROP ROLE {}").format(sql.Identifier(a)) for a in accounts)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(drops)
        return time.perf_counter() - started


def portal_run(url: str, grant_ids: list[int], asset_role: str) -> float:
    from django.utils import timezone

    from apps.access.models import Grant
    from apps.audit.models import AuditEvent
    from apps.connectors.models import Provisioning, ProvisioningState
    from apps.connectors.services import connectors_reconcile

    rows = list(Provisioning.objects.filter(grant_id__in=grant_ids).order_by("pk"))
    make_roles(url, [r.account for r in rows], asset_role)
    Provisioning.objects.filter(pk__in=[r.pk for r in rows]).update(
        state=ProvisioningState.PROVISIONED,
        remove_requested_at=None,
        deprovisioned_at=None,
        next_try_at=None,
    )
    now = timezone.now()
    Grant.objects.filter(pk__in=grant_ids).update(ends_at=now)
    events_before = AuditEvent.objects.filter(action="connectors.account.removed").count()
    started = time.perf_counter()
    connectors_reconcile()
    elapsed = time.perf_counter() - started
    assert Provisioning.objects.filter(
        pk__in=[r.pk for r in rows], state=ProvisioningState.DEPROVISIONED
    ).count() == len(rows)
    assert not Provisioning.objects.to_remove().exists()
    assert AuditEvent.objects.filter(
        action="connectors.account.removed"
    ).count() - events_before == len(rows)
    import psycopg

    with psycopg.connect(url) as conn:
        like = PREFIX.replace("_", "\\_") + "g%"
        left = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", [like])
        assert left.fetchone() == (0,)
    Grant.objects.filter(pk__in=grant_ids).update(ends_at=now + timedelta(days=1))
    return elapsed


def main() -> None:
    from _connectors import drop_target_database, grants, target_and_asset, target_database

    try:
        with bench_database(BENCH_DB, force_test_settings=True):
            from django.utils import timezone

            from apps.access.models import Grant
            from apps.connectors.base import GrantContext, account_name
            from apps.connectors.models import Provisioning
            from apps.connectors.registry import connector_for
            from jitportal.celery import app
            from jitportal.tasking import task_named

            # No broker: what the services queue on commit runs in this process.
            app.conf.task_always_eager = True
            url = target_database(TARGET_DB)
            target, asset = target_and_asset(PREFIX)
            now = timezone.now()
            ids = grants(asset, GRANTS, ends_at=now + timedelta(days=1))
            Provisioning.objects.bulk_create(
                [
                    Provisioning(grant_id=g, target=target, account=account_name(PREFIX, g))
                    for g in ids
                ]
            )
            connector = connector_for(target)
            # The asset's role, made once by the connector itself (as a first provision does).
            first = Provisioning.objects.filter(grant_id=ids[0]).get()
            grant = Grant.objects.get(pk=ids[0])
            ctx = GrantContext(
                grant_id=grant.pk,
                user_id=grant.user_id,
                username="bench",
                email="",
                starts_at=grant.starts_at,
                ends_at=grant.ends_at,
                actions=frozenset({"view"}),
                account=first.account,
                bindings=tuple(target.bindings.all()),
            )
            connector.provision(ctx)
            connector.deprovision([first.account])
            task_named("connectors.deprovision")  # the task registry loaded before timing
            asset_role = connector.asset_role(asset.pk, "view")  # type: ignore[attr-defined]
            accounts = [f"{PREFIX}base_{i}" for i in range(GRANTS)]
            base = statistics.median(baseline(url, accounts, asset_role) for _ in range(REPEATS))
            runs = [portal_run(url, ids, asset_role) for _ in range(REPEATS)]
            value = statistics.median(runs)
            report(
                "deprovision_1000",
                value * 1000,
                "ms",
                value / base,
                f"{base * 1000:.1f}ms (one transaction of {GRANTS} DROP ROLE; median of "
                f"{REPEATS}; target ratio <= 10)",
                value_format=".1f",
            )
    finally:
        drop_target_database(TARGET_DB, PREFIX)


if __name__ == "__main__":
    main()
