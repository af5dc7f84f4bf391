"""Fixtures of the access tests: a customer-records asset and roles over it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.inventory.gdpr import CategoryKind, Sensitivity
from tests.access.factories import AccessRoleFactory
from tests.factories import DataAssetFactory, DataCategoryFactory, UserFactory


@pytest.fixture
def approver2(groups):
    return UserFactory(username="approver2", groups=["Approvers"], is_staff=True)


@pytest.fixture
def approver3(groups):
    return UserFactory(username="approver3", groups=["Approvers"], is_staff=True)


@pytest.fixture
def staff2(groups):
    return UserFactory(username="staff2", groups=["Staff"])


@pytest.fixture
def approvers_group(groups):
    return Group.objects.get(name="Approvers")


@pytest.fixture
def asset(db):
    return DataAssetFactory(name="Customer records", sensitivity=Sensitivity.CONFIDENTIAL)


@pytest.fixture
def special_asset(db):
    health = DataCategoryFactory(name="Health", slug="health", kind=CategoryKind.SPECIAL)
    return DataAssetFactory(
        name="Accessibility needs", categories=[health], sensitivity=Sensitivity.RESTRICTED
    )


@pytest.fixture
def role(asset, approvers_group):
    """One approval from the Approvers group; view only."""
    return AccessRoleFactory(
        name="Support read",
        assets=[asset],
        approver_groups=[approvers_group],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )


@pytest.fixture
def window():
    """A valid window starting now: (starts_at, ends_at)."""
    now = timezone.now()
    return now, now + timedelta(hours=2)


@pytest.fixture
def celery_conf():
    """Change the Celery app's configuration for one test (and drop its connection pools)."""
    from jitportal.celery import app

    saved: dict = {}

    def reset_pools():
        app._pool = None
        amqp = app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None

    def apply(**changes):
        for key, value in changes.items():
            saved.setdefault(key, app.conf.get(key))
            app.conf[key] = value
        reset_pools()
        return app

    yield apply
    for key, value in saved.items():
        app.conf[key] = value
    reset_pools()
