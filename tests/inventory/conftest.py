from __future__ import annotations

import pytest
from django.http import HttpRequest

from tests.factories import DEFAULT_PASSWORD


@pytest.fixture(scope="session", autouse=True)
def _default_taxonomy(django_db_setup, django_db_blocker):
    """The default taxonomy, as the data migration leaves it.

    A transactional test flushes every table, data-migration rows included; with
    ``--reuse-db`` a later run would start without them. Seeding is idempotent, so on a fresh
    test database (where the migration already seeded) this creates nothing.
    """
    from apps.inventory.models import DataCategory, DataSubjectCategory
    from apps.inventory.taxonomy import taxonomy_seed

    with django_db_blocker.unblock():
        taxonomy_seed(category_model=DataCategory, subject_model=DataSubjectCategory)


def _login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=DEFAULT_PASSWORD)
    return client


@pytest.fixture
def dpo_client(client, dpo):
    return _login(client, dpo)


@pytest.fixture
def approver_client(client, approver):
    return _login(client, approver)


@pytest.fixture
def auditor_client(client, auditor):
    return _login(client, auditor)


@pytest.fixture
def staff_client(client, staff_user):
    return _login(client, staff_user)
