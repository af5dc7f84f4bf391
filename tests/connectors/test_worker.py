"""With a real Celery worker (Redis), an open session is cut within 2 s of the grant's end:
the exact-end task queued with the end as its ETA when the grant went live."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from apps.access import services as access_services
from apps.connectors.models import Provisioning, ProvisioningState
from apps.connectors.services import provisioning_secret_reveal
from tests.access.conftest import celery_conf  # noqa: F401  (the fixture)
from tests.access.factories import GrantFactory
from tests.connectors.conftest import TARGET_DB

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def wait_for(check, timeout=20.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if check():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def worker(celery_conf):  # noqa: F811
    from celery.contrib.testing.worker import start_worker

    app = celery_conf(
        task_always_eager=False,
        broker_url=settings.REDIS_URL,
        result_backend=None,
        task_ignore_result=True,
    )
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as w:
        yield w


def test_with_the_worker_up_an_open_session_is_cut_within_two_seconds_of_the_end(
    worker, bound_asset, staff_user, target_db
):
    # Given a grant ending in 4 s, activated: the worker provisions its role
    now = timezone.now()
    grant = GrantFactory(
        user=staff_user,
        assets=[bound_asset],
        starts_at=now - timedelta(seconds=1),
        ends_at=now + timedelta(seconds=4),
        status="scheduled",
    )
    access_services.grant_activate(grant_id=grant.pk)
    row = Provisioning.objects.get(grant=grant)
    assert wait_for(
        lambda: Provisioning.objects.get(pk=row.pk).state == ProvisioningState.PROVISIONED
    )
    row.refresh_from_db()
    password = provisioning_secret_reveal(
        provisioning_id=row.pk, grant_id=row.grant_id, actor=staff_user
    )
    # And its holder has a session open
    session = target_db.holder_connect(TARGET_DB, row.account, password)
    session.execute("SELECT count(*) FROM customers")

    # When the end passes, with no beat running
    def cut():
        try:
            session.execute("SELECT 1")
        except psycopg.OperationalError:
            return True
        return False

    assert wait_for(cut, timeout=15.0)
    cut_after = (timezone.now() - grant.ends_at).total_seconds()
    # Then the session was cut within 2 s of the end (not before it), and the role is gone
    assert -0.2 <= cut_after <= 2.0, cut_after
    assert wait_for(
        lambda: Provisioning.objects.get(pk=row.pk).state == ProvisioningState.DEPROVISIONED
    )
    with target_db.superuser(TARGET_DB) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [row.account]).fetchone()
            is None
        )
