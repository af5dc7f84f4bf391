"""Fixtures of the retention tests. Times are fixed with time_machine: rows are created in
2019-2024 and purges run "now" in 2027."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.crm.models import Customer
from apps.retention.models import HoldBasis, HoldScope
from apps.retention.services import legal_hold_place
from tests.factories import UserFactory

OLD = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)  # more than 6 years before NOW
RECENT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)  # less than 6 years before NOW
NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def at_now():
    """Travel to NOW (the purge's today); time stands still."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def dpo2(groups):
    """A second DPO: the other pair of eyes."""
    return UserFactory(username="dpo2", groups=["DPO"], is_staff=True)


@pytest.fixture
def settings_threshold(settings):
    def set_threshold(value: int) -> None:
        settings.JITPORTAL = {**settings.JITPORTAL, "PURGE_FOUR_EYES_THRESHOLD": value}

    return set_threshold


def hold_records(*objs, actor=None, model=Customer):
    return legal_hold_place(
        scope=HoldScope.RECORDS,
        basis=HoldBasis.ART_17_3_E,
        reason="Pending claim",
        review_on=timezone.localdate() + timedelta(days=30),
        content_type=ContentType.objects.get_for_model(model),
        object_ids=[o.pk for o in objs],
        actor=actor,
        actor_label="system:test",
    )


@pytest.fixture
def celery_worker_redis():
    """A real Celery worker (solo pool) fed through Redis, not eager."""
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings as django_settings

    from jitportal.celery import app

    changes = {
        "task_always_eager": False,
        "broker_url": django_settings.REDIS_URL,
        "result_backend": None,
        "task_ignore_result": True,
    }
    saved = {key: app.conf.get(key) for key in changes}

    def reset_pools():
        app._pool = None
        amqp = app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None

    app.conf.update(changes)
    reset_pools()
    app.control.purge()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as w:
            yield w
    finally:
        app.conf.update(saved)
        reset_pools()
