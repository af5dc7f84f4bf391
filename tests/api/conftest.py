"""Fixtures of the API tests: a role over an ordinary asset and one over Art. 9/10 data,
requests waiting for a decision, a live grant, clients per role and integration tokens."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.access import services
from apps.integrations.services import integration_token_create
from tests.access.conftest import approvers_group, asset, role, special_asset  # noqa: F401
from tests.access.factories import AccessRoleFactory
from tests.factories import UserFactory


class Api:
    """A test client speaking JSON to /api/, signed in or with a Bearer token."""

    def __init__(self, *, user=None, token: str | None = None) -> None:
        self.client = Client(enforce_csrf_checks=False)
        self.headers = {}
        if user is not None:
            self.client.force_login(user)
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, params=None):
        return self.client.get(path, params or {}, headers=self.headers)

    def post(self, path: str, body=None):
        return self.client.post(
            path, json.dumps(body or {}), content_type="application/json", headers=self.headers
        )

    def call(self, method: str, path: str, body=None):
        return self.client.generic(
            method,
            path,
            json.dumps(body or {}),
            content_type="application/json",
            headers=self.headers,
        )


def make_token(user, *scopes: str) -> str:
    _row, raw = integration_token_create(
        owner=user,
        name=f"test {' '.join(scopes)}",
        scopes=list(scopes),
        expires_at=timezone.now() + timedelta(days=1),
    )
    return raw


@pytest.fixture
def api():
    return Api


@pytest.fixture
def special_role(special_asset, approvers_group):  # noqa: F811
    return AccessRoleFactory(
        name="Accessibility support",
        assets=[special_asset],
        approver_groups=[approvers_group],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )


@pytest.fixture
def requester(groups):
    return UserFactory(username="asker", groups=["Staff"])


def ask(user, access_role, hours: int = 2, **extra):
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=access_role,
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
        justification="Customer complaint follow-up",
        **extra,
    )


@pytest.fixture
def pending(requester, role):  # noqa: F811
    return ask(requester, role)


@pytest.fixture
def pending_special(requester, special_role):
    return ask(requester, special_role)


@pytest.fixture
def live_grant(groups, role):  # noqa: F811
    holder = UserFactory(username="holder", groups=["Staff"])
    request = ask(holder, role)
    decider = UserFactory(username="decider", groups=["Approvers"], is_staff=True)
    services.access_request_approve(request_id=request.pk, approver=decider)
    request.refresh_from_db()
    return request.grant
