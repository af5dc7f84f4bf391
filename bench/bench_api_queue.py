"""The approver's queue through the REST API with 100,000 pending requests.

The same data as ``bench_admin_queue`` (its loader: 100,000 pending requests from 1,000
requesters, three quarters decidable by the approver), on its own PostgreSQL database. Then,
as the approver:

- ``GET /api/queue/`` (first page of 50) with the approver's integration token (scope
  ``decide``), and the same with the portal session;
- the 100th page (``?page=100``): the number of SQL queries does not grow with the page or
  the rows (asserted here, and tests/api/test_decisions.py checks it on a small queue);
- a search of two words with two filters (the admin queue's form checks them);
- baseline, in the same run: the admin's queue page (admin:access_accessrequest_queue, first
  page of 50), which lists the same rows with the same selector.

Prints ``bench api_queue: <ms> ms ratio=<api / admin page> baseline=<admin page ms>``.

    .venv/bin/python bench/bench_api_queue.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta

from _support import bench_database, report

BENCH_DB = "jp_bench_api_queue"
REPEATS = int(os.environ.get("BENCH_QUEUE_REPEATS", "5"))


def timed(client, url: str, **headers: str) -> tuple[float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="127.0.0.1", headers=headers)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return elapsed, len(ctx.captured_queries), response


def run() -> None:
    from bench_admin_queue import ROWS, load
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from apps.integrations.services import integration_token_create

    approver = User.objects.get(pk=load())
    _row, raw = integration_token_create(
        owner=approver,
        name="bench",
        scopes=["decide"],
        expires_at=timezone.now() + timedelta(days=1),
    )
    bearer = {"Authorization": f"Bearer {raw}"}
    session = Client()
    session.force_login(approver)
    machine = Client()
    cases = {
        "token": (machine, "/api/queue/", bearer),
        "session": (session, "/api/queue/", {}),
        "token_page_100": (machine, "/api/queue/?page=100", bearer),
        # searched (two words) and filtered by age and special data, as bench_admin_queue
        "token_searched": (machine, "/api/queue/?q=case+7&age=day&special=no", bearer),
        "admin_page": (session, reverse("admin:access_accessrequest_queue"), {}),
    }
    for client, url, headers in cases.values():  # warm up
        timed(client, url, **headers)
    timings: dict[str, list[float]] = {name: [] for name in cases}
    queries: dict[str, int] = {}
    for _ in range(REPEATS):
        for name, (client, url, headers) in cases.items():
            elapsed, count, response = timed(client, url, **headers)
            timings[name].append(elapsed)
            queries[name] = count
            if name in ("token", "session", "token_page_100"):
                body = response.json()
                assert len(body["results"]) == 50, name
                waiting = body["count"]
    # constant queries: the 100th page costs what the first does
    assert queries["token"] == queries["token_page_100"], queries
    admin_ms = statistics.median(timings["admin_page"]) * 1000
    for name in ("token", "session", "token_page_100", "token_searched"):
        ms = statistics.median(timings[name]) * 1000
        report(
            "api_queue" if name == "token" else f"api_queue_{name}",
            ms,
            "ms",
            ms / admin_ms,
            f"the admin queue page over the same queue ({admin_ms:.1f} ms, "
            f"{queries['admin_page']} SQL queries); {queries[name]} SQL queries, "
            f"{ROWS:,} requests, {waiting:,} decidable",
            value_format=".1f",
            ratio_format=".2f",
        )


def main() -> int:
    with bench_database(BENCH_DB):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
