"""Several reconciles at once share a backlog: rows another run holds are skipped (SKIP
LOCKED), never waited for and never done twice; a backlog larger than a batch queues helper
runs for idle workers. The whole story with real workers is tests/e2e/test_several_workers.py.
"""

from __future__ import annotations

import json
import threading
from base64 import b64decode
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.access import services, tasks
from apps.access.models import Grant, GrantStatus
from apps.audit.models import AuditEvent
from tests.access.factories import GrantFactory

pytestmark = pytest.mark.postgres


def ended_grants(user, asset, count: int) -> list[Grant]:
    now = timezone.now()
    return [
        GrantFactory(
            user=user,
            assets=[asset],
            starts_at=now - timedelta(hours=2),
            ends_at=now - timedelta(hours=1),
            status=GrantStatus.ACTIVE,
        )
        for _ in range(count)
    ]


@pytest.fixture
def small_batches(settings):
    settings.JITPORTAL = {**settings.JITPORTAL, "RECONCILE_BATCH_SIZE": 2, "RECONCILE_HELPERS": 3}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("due", "helpers", "wanted"),
    [(0, 3, 0), (2, 3, 0), (3, 3, 1), (5, 3, 2), (20, 3, 3), (20, 0, 0)],
)
def test_helpers_are_wanted_for_each_further_batch_up_to_the_setting(
    small_batches, settings, asset, staff_user, due, helpers, wanted
):
    # Given `due` ended grants, batches of 2 and at most `helpers` helpers
    settings.JITPORTAL = {**settings.JITPORTAL, "RECONCILE_HELPERS": helpers}
    ended_grants(staff_user, asset, due)
    # Then one helper is wanted per batch beyond the first, within the bound
    assert services.access_reconcile_helpers_wanted() == wanted


@pytest.mark.django_db(transaction=True)
def test_rows_another_reconcile_holds_are_skipped_not_waited_for_and_done_once(
    small_batches, asset, staff_user
):
    # Given five ended grants, two of them claimed by another worker's open batch
    grants = ended_grants(staff_user, asset, 5)
    held = [grants[1].pk, grants[3].pk]
    claimed, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                list(Grant.objects.select_for_update().filter(pk__in=held))
                claimed.set()
                release.wait(20)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert claimed.wait(20)
    try:
        # When this worker reconciles meanwhile
        first = services.access_reconcile()
    finally:
        release.set()
        thread.join(20)
    # Then it expired the three it could claim at once, without waiting for the others
    assert first["expired"] == 3
    assert set(Grant.objects.filter(status=GrantStatus.ACTIVE).values_list("pk", flat=True)) == (
        set(held)
    )
    # And the next run does the two that were held: each grant expired exactly once
    assert services.access_reconcile()["expired"] == 2
    events = AuditEvent.objects.filter(action="access.grant.expired")
    assert sorted(events.values_list("target_id", flat=True)) == sorted(str(g.pk) for g in grants)


@pytest.mark.django_db(transaction=True)
def test_two_reconciles_at_once_expire_a_backlog_exactly_once(small_batches, asset, staff_user):
    # Given 40 ended grants (20 batches of 2)
    grants = ended_grants(staff_user, asset, 40)
    results: list[dict] = []
    start = threading.Barrier(2)

    def reconcile():
        try:
            start.wait(20)
            results.append(services.access_reconcile())
        finally:
            connection.close()

    # When two reconciles run at the same moment (two beats, or a helper)
    threads = [threading.Thread(target=reconcile) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # Then between them every grant expired once, with one event each
    assert sum(result["expired"] for result in results) == 40
    assert Grant.objects.filter(status=GrantStatus.EXPIRED, mirrored=False).count() == 40
    targets = list(
        AuditEvent.objects.filter(action="access.grant.expired").values_list("target_id", flat=True)
    )
    assert sorted(targets) == sorted(str(g.pk) for g in grants)


@pytest.mark.redis
@pytest.mark.django_db
def test_beats_reconcile_queues_helpers_for_a_backlog_and_helpers_queue_none(
    small_batches, celery_conf, asset, staff_user
):
    # Given a backlog of 7 ended grants (4 batches of 2) and a real broker (not eager)
    app = celery_conf(task_always_eager=False, broker_url=settings.REDIS_URL)
    app.control.purge()
    ended_grants(staff_user, asset, 7)
    queue = redis.Redis.from_url(settings.REDIS_URL)

    def queued() -> list[tuple[str, dict]]:
        messages = [json.loads(raw) for raw in queue.lrange("celery", 0, -1)]
        return [(m["headers"]["task"], json.loads(b64decode(m["body"]))[1]) for m in messages]

    try:
        # When beat's reconcile runs
        result = tasks.access_reconcile_task()
        # Then it queued three helpers through the broker, and did the work it found
        assert queued() == [("access.reconcile", {"helper": True})] * 3
        assert result["expired"] == 7
        # And a helper queues none
        app.control.purge()
        tasks.access_reconcile_task(helper=True)
        assert queued() == []
    finally:
        app.control.purge()
