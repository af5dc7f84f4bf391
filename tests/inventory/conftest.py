from __future__ import annotations

import pytest

from tests.factories import DEFAULT_PASSWORD


def _login(client, user):
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
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
