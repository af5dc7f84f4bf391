"""MariaDB with a real Celery worker (Redis): an open session is cut within 2 s of the
grant's end by the exact-end task. This is the whole of MariaDB's guarantee: it has no
VALID UNTIL, so the worker is what ends access (docs/connectors.md)."""

from __future__ import annotations

from datetime import timedelta

import pymysql
import pytest
from django.utils import timezone

from apps.access import services as access_services
from apps.connectors.models import Provisioning, ProvisioningState
from apps.connectors.services import provisioning_secret_reveal
from tests.access.conftest import celery_conf  # noqa: F401  (the fixture)
from tests.access.factories import GrantFactory
from tests.connectors.mariadb_support import login
from tests.connectors.test_worker import wait_for, worker  # noqa: F401  (the fixture)
from tests.factories import DataAssetFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_with_the_worker_up_an_open_session_is_cut_within_two_seconds_of_the_end(
    worker,  # noqa: F811
    mariadb_target,
    staff_user,
):
    # Given a grant of a bound asset ending in 4 s, activated: the worker provisions its user
    asset = DataAssetFactory(name="Customer records")
    mariadb_target.bind(asset)
    now = timezone.now()
    grant = GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=now - timedelta(seconds=1),
        ends_at=now + timedelta(seconds=4),
        status="scheduled",
    )
    access_services.grant_activate(grant_id=grant.pk)
    row = Provisioning.objects.get(grant=grant)
    assert wait_for(
        lambda: Provisioning.objects.get(pk=row.pk).state == ProvisioningState.PROVISIONED
    )
    password = provisioning_secret_reveal(
        provisioning_id=row.pk, grant_id=row.grant_id, actor=staff_user
    )
    # And its holder has a session open
    session = login(row.account, password, mariadb_target.database)

    # When the end passes, with no beat running
    def cut() -> bool:
        try:
            with session.cursor() as cursor:
                cursor.execute("SELECT 1")
        except pymysql.err.OperationalError:
            return True
        return False

    assert wait_for(cut, timeout=15.0)
    cut_after = (timezone.now() - grant.ends_at).total_seconds()

    # Then the session was cut within 2 s of the end (not before it), and the user is gone
    assert -0.2 <= cut_after <= 2.0, cut_after
    assert wait_for(
        lambda: Provisioning.objects.get(pk=row.pk).state == ProvisioningState.DEPROVISIONED
    )
    assert mariadb_target.users() == set()
