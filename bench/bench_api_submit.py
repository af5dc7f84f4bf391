"""Requests per second through the REST API for 1,000 submissions.

On its own PostgreSQL database: one role open to everybody (one approval, justification
required) and 2,000 staff accounts. 1,000 of them each ask once through
``POST /api/me/requests/`` with their own integration token (scope ``request``): the portal's
request form reads the body, ``access_request_submit`` writes the request, its audit event
and its notice. Baseline, in the same run: the other 1,000 ask by calling
``access_request_submit`` directly with the same values.

Prints ``bench api_submit: <requests/s> req/s ratio=<service / API time> baseline=<...>``
(the ratio is what the HTTP layer, the token check and the form cost on top: 1.0 is free).

    .venv/bin/python bench/bench_api_submit.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta

from _support import bench_database, report

BENCH_DB = "jp_bench_api_submit"
SUBMISSIONS = int(os.environ.get("BENCH_SUBMISSIONS", "1000"))


def load() -> tuple[int, list[int]]:
    from django.contrib.auth.models import User
    from django.db import connection

    from apps.access.models import AccessRole
    from apps.inventory.models import DataAsset, System
    from apps.inventory.roles import groups_sync

    groups_sync()
    system = System.objects.create(name="Bench system")
    asset = DataAsset.objects.create(system=system, name="Customer records")
    role = AccessRole.objects.create(
        name="Support read", approve_by_steward_group=False, require_justification=True
    )
    role.assets.set([asset])
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, 'asker-' || n, 'First', 'Last ' || n, '', false, true, now()
            FROM generate_series(1, %s) AS n
            """,
            [2 * SUBMISSIONS],
        )
        c.execute("ANALYZE")
    ids = list(
        User.objects.filter(username__startswith="asker-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return role.pk, ids


def run() -> None:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from apps.access.models import AccessRequest, AccessRole
    from apps.access.services import access_request_submit
    from apps.integrations.services import integration_token_create

    role_id, ids = load()
    by_api, by_service = ids[:SUBMISSIONS], ids[SUBMISSIONS:]
    expires = timezone.now() + timedelta(days=1)
    tokens = [
        integration_token_create(owner=user, name="bench", scopes=["request"], expires_at=expires)[
            1
        ]
        for user in User.objects.filter(pk__in=by_api).order_by("pk")
    ]
    body = json.dumps({"role": role_id, "duration_hours": 2, "justification": "Customer case"})
    client = Client()
    started = time.perf_counter()
    for raw in tokens:
        response = client.post(
            "/api/me/requests/",
            body,
            content_type="application/json",
            HTTP_HOST="127.0.0.1",
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert response.status_code == 201, response.content[:300]
    api_seconds = time.perf_counter() - started

    role = AccessRole.objects.get(pk=role_id)
    users = list(User.objects.filter(pk__in=by_service).order_by("pk"))
    started = time.perf_counter()
    for user in users:
        now = timezone.now()
        access_request_submit(
            requester=user,
            role=role,
            starts_at=now,
            ends_at=now + timedelta(hours=2),
            justification="Customer case",
        )
    service_seconds = time.perf_counter() - started
    assert AccessRequest.objects.filter(status="pending").count() == 2 * SUBMISSIONS
    report(
        "api_submit",
        SUBMISSIONS / api_seconds,
        "req/s",
        api_seconds / service_seconds,
        f"access_request_submit called directly: {SUBMISSIONS / service_seconds:.0f} req/s "
        f"({SUBMISSIONS:,} submissions each way; ratio = API time / service time)",
        value_format=".0f",
        ratio_format=".2f",
    )


def main() -> int:
    with bench_database(BENCH_DB):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
