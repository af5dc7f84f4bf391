"""Object permission checks: GrantBackend (``user.has_perm``) against guardian's checker.

On a dedicated PostgreSQL database (created and dropped here): 10,000 data assets, one user
holding 50 live grants among them, the guardian mirror rows of those grants present. Then
10,000 checks ``inventory.view_data`` over every asset:

- GrantBackend: a fresh user object each run (so its one query is timed), then
  ``user.has_perm("inventory.view_data", asset)`` for each asset, through Django's
  ``ModelBackend`` then ``GrantBackend`` (AUTHENTICATION_BACKENDS);
- baseline: guardian's ``ObjectPermissionChecker(user)`` with ``prefetch_perms(assets)``
  (timed) then ``checker.has_perm("view_data", asset)`` for each.

Prints ``bench`` lines (medians of the repeats).

    python3 dev.py bench bench_access_check   # or: .venv/bin/python bench/bench_access_check.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta

from _support import bench_database, report

BENCH_DB = "jp_bench_access_check"
ASSETS = int(os.environ.get("BENCH_ACCESS_ASSETS", "10000"))
GRANTS = int(os.environ.get("BENCH_ACCESS_GRANTS", "50"))
REPEATS = int(os.environ.get("BENCH_ACCESS_REPEATS", "7"))


def load() -> tuple[int, list]:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from apps.access.models import AccessRequest, Grant, GrantStatus, RequestStatus
    from apps.access.services import mirror_add
    from apps.inventory.models import DataAsset, System

    user = User.objects.create_user("bench-user", "bench@example.org", "x")
    system = System.objects.create(name="Bench system")
    DataAsset.objects.bulk_create(
        [DataAsset(system=system, name=f"Asset {i:05d}") for i in range(ASSETS)], batch_size=2000
    )
    assets = list(DataAsset.objects.order_by("pk"))
    now = timezone.now()
    step = max(1, ASSETS // GRANTS)
    granted = assets[::step][:GRANTS]
    requests = AccessRequest.objects.bulk_create(
        [
            AccessRequest(
                requester=user,
                asset=a,
                starts_at=now - timedelta(minutes=5),
                ends_at=now + timedelta(hours=4),
                status=RequestStatus.APPROVED,
            )
            for a in granted
        ]
    )
    grants = Grant.objects.bulk_create(
        [
            Grant(
                request=r,
                user=user,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                status=GrantStatus.ACTIVE,
                mirrored=True,
            )
            for r in requests
        ]
    )
    Grant.assets.through.objects.bulk_create(
        [
            Grant.assets.through(grant_id=g.pk, dataasset_id=a.pk)
            for g, a in zip(grants, granted, strict=True)
        ]
    )
    mirror_add(grant_ids=[g.pk for g in grants])
    return user.pk, assets


def run() -> None:
    from django.contrib.auth.models import User
    from django.db import connection, reset_queries
    from guardian.core import ObjectPermissionChecker
    from guardian.models import UserObjectPermission

    user_id, assets = load()
    assert UserObjectPermission.objects.count() == GRANTS
    ours, theirs, queries = [], [], []
    from django.conf import settings

    settings.DEBUG = True  # count the queries of our side
    for _ in range(REPEATS):
        user = User.objects.get(pk=user_id)
        reset_queries()
        started = time.perf_counter()
        allowed = sum(1 for a in assets if user.has_perm("inventory.view_data", a))
        ours.append(time.perf_counter() - started)
        queries.append(len(connection.queries))
        assert allowed == GRANTS, allowed

        user = User.objects.get(pk=user_id)
        started = time.perf_counter()
        checker = ObjectPermissionChecker(user)
        checker.prefetch_perms(assets)
        allowed = sum(1 for a in assets if checker.has_perm("view_data", a))
        theirs.append(time.perf_counter() - started)
        assert allowed == GRANTS, allowed
    settings.DEBUG = False
    ours_ms = statistics.median(ours) * 1000
    theirs_ms = statistics.median(theirs) * 1000
    report(
        "access_check",
        ours_ms,
        "ms",
        ours_ms / theirs_ms,
        f"guardian ObjectPermissionChecker+prefetch_perms ({theirs_ms:.1f} ms) "
        f"for {len(assets):,} checks, {GRANTS} grants, {max(queries)} query per user",
        value_format=".1f",
    )
    report(
        "access_check_per_call",
        ours_ms * 1000 / len(assets),
        "us",
        ours_ms / theirs_ms,
        f"guardian checker per call ({theirs_ms * 1000 / len(assets):.2f} us)",
    )


def main() -> int:
    with bench_database(BENCH_DB):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
