"""How long a web decision takes while the broker is down.

On its own PostgreSQL database: one role open to everybody and 400 staff accounts. Each of
200 of them submits a request through the portal's form (``POST /request/``: the request,
its audit event and its notice are written, then the notice and activation tasks are
published after commit) while the Celery broker refuses connections; the other 200 submit
the same form with the broker answering (the real Redis at ``REDIS_URL``). The process
pause after a failed publish (``JITPORTAL_ENQUEUE_PAUSE_SECONDS``) is cleared before each
dead-broker request, so every one of them pays its one connection attempt: the worst case.

Prints ``bench dead_broker_submit: <p95 ms> ms ratio=<dead p95 / live p95> baseline=<...>``;
the target is a p95 under 500 ms (docs/access.md, "When the broker is down"). The tests
prove the mechanism (one try, no retries, nothing while paused: tests/access/test_outbox.py).

    .venv/bin/python bench/bench_dead_broker.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from _support import bench_database, report

BENCH_DB = "jp_bench_dead_broker"
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def run() -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    from apps.access.models import AccessRequest, AccessRole, Notice
    from apps.inventory.models import DataAsset, System
    from apps.inventory.roles import groups_sync
    from jitportal import tasking
    from jitportal.celery import app

    groups_sync()
    system = System.objects.create(name="Bench system")
    asset = DataAsset.objects.create(system=system, name="Customer records")
    role = AccessRole.objects.create(name="Support read", approve_by_steward_group=False)
    role.assets.set([asset])
    users = [
        User.objects.create_user(f"asker-{n}", password=None, is_staff=False)
        for n in range(2 * REQUESTS)
    ]
    form = {
        "target": f"role-{role.pk}",
        "start": "now",
        "duration": "2",
        "justification": "Customer complaint about a missing order",
    }

    def submit_all(askers: list[User], broker: str) -> list[float]:
        app.conf.task_always_eager = False
        app.conf.broker_url = broker
        app._pool = None  # connection pools of the other broker go
        amqp = app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None
        tasking.enqueue(tasking.task_named("access.grant_mirror_sync"), 0)  # a warm process
        seconds = []
        for user in askers:
            tasking.broker_pause_clear()
            client = Client()
            client.force_login(user)
            started = time.perf_counter()
            response = client.post("/request/", form, HTTP_HOST="127.0.0.1")
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 302, response.content[:300]
        return seconds

    live = submit_all(users[REQUESTS:], settings.REDIS_URL)
    dead = submit_all(users[:REQUESTS], DEAD_BROKER)
    assert AccessRequest.objects.count() == 2 * REQUESTS
    assert Notice.objects.count() >= 2 * REQUESTS  # every notice kept for the reconcile
    dead_p95, live_p95 = _p95(dead) * 1000, _p95(live) * 1000
    report(
        "dead_broker_submit",
        dead_p95,
        "ms",
        dead_p95 / live_p95,
        f"the same submit with the broker up: p95 {live_p95:.0f} ms "
        f"(median {statistics.median(dead) * 1000:.0f} ms down, "
        f"{statistics.median(live) * 1000:.0f} ms up; {REQUESTS} each; target p95 < 500 ms)",
        value_format=".0f",
    )


def main() -> int:
    with bench_database(BENCH_DB):
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
