"""Lockout and the audit trail take the client address the proxy settings say is real,
never a header a client can set when no proxy is configured."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from apps.audit.models import AuditEvent
from apps.signin.client_address import AuditlogMiddleware, client_address
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _request(xff: str | None, remote: str = "10.0.0.2"):
    extra = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **extra)


def test_without_a_proxy_the_header_is_ignored():
    assert client_address(_request("6.6.6.6")) == "10.0.0.2"


def test_behind_one_proxy_the_rightmost_entry_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # the client wrote 6.6.6.6 itself; the proxy appended the address it saw
    assert client_address(_request("6.6.6.6, 203.0.113.9")) == "203.0.113.9"
    assert client_address(_request("203.0.113.9:51000")) == "203.0.113.9"


def test_behind_two_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(_request("6.6.6.6, 203.0.113.9, 10.0.0.7")) == "203.0.113.9"
    # fewer hops than proxies, or garbage: the peer's address, never the client's text
    assert client_address(_request("203.0.113.9")) == "10.0.0.2"
    assert client_address(_request("nonsense, 10.0.0.7")) == "10.0.0.2"


def test_the_audit_logs_middleware_uses_it(settings):
    assert AuditlogMiddleware._get_remote_addr(_request("6.6.6.6")) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert AuditlogMiddleware._get_remote_addr(_request("6.6.6.6, 203.0.113.9")) == "203.0.113.9"


@pytest.mark.parametrize(("count", "expected"), [(0, "10.0.0.2"), (1, "203.0.113.9")])
def test_the_lockout_event_records_the_real_address(settings, count, expected):
    settings.TRUSTED_PROXY_COUNT = count
    UserFactory(username="rosalind")
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "Rosalind", "password": f"wrong-{n}"})
    event = AuditEvent.objects.get(action="auth.locked_out")
    assert event.data["ip_address"] == expected
    assert event.data["username"] == "rosalind"  # counted case-insensitively
