"""What the connector tests share: a grant activated through the access service."""

from __future__ import annotations

from datetime import timedelta

from django.test import TestCase
from django.utils import timezone

from apps.access import services as access_services
from apps.connectors.models import Provisioning
from apps.connectors.services import provisioning_secret_reveal
from tests.access.factories import GrantFactory


def committed():
    """Run what the services queue on commit when the block ends, as a real commit would
    (the tests run inside a transaction that is rolled back; nested hooks run too)."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def activate(user, asset, *, seconds: float = 3600, **rights):
    """A grant from now for ``seconds``, activated by the service (as beat or an approval
    does): its account is provisioned on commit (tasks run eagerly unless a worker runs)."""
    now = timezone.now()
    grant = GrantFactory(
        user=user,
        assets=[asset],
        starts_at=now - timedelta(seconds=1),
        ends_at=now + timedelta(seconds=seconds),
        status="scheduled",
        **rights,
    )
    with committed():
        access_services.grant_activate(grant_id=grant.pk)
    return grant


def reveal(grant, user):
    row = Provisioning.objects.get(grant=grant)
    secret = provisioning_secret_reveal(provisioning_id=row.pk, grant_id=row.grant_id, actor=user)
    row.refresh_from_db()
    return row, secret
