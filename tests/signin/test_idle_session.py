"""Sessions end after SESSION_IDLE_TIMEOUT without a request; active sessions go on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings

from jitportal.settings import base
from tests.factories import DEFAULT_PASSWORD

# The shipped default (the test settings switch the timeout off for other tests' time travel).
IDLE = base.SESSION_IDLE_TIMEOUT
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_shipped_idle_timeout")]


@pytest.fixture
def _shipped_idle_timeout(settings):
    settings.SESSION_IDLE_TIMEOUT = IDLE


def test_the_default_idle_timeout_is_30_minutes():
    assert timedelta(minutes=30) == IDLE


START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _home_is_served(client: Client) -> bool:
    response = client.get("/")
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
        return False
    assert response.status_code == 200
    return True


def test_an_idle_session_is_logged_out(staff_user):
    idle = IDLE
    with time_machine.travel(START, tick=False) as clock:
        # given a signed-in user who used the portal
        client = Client()
        client.post("/accounts/login/", {"username": "staff", "password": DEFAULT_PASSWORD})
        assert _home_is_served(client)
        # when nothing happens for longer than the idle timeout
        clock.shift(idle + timedelta(seconds=1))
        # then the next request finds them logged out, sent to the login page
        response = client.get("/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert "_auth_user_id" not in client.session


def test_an_active_session_is_not_logged_out(staff_user):
    idle = IDLE
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        client.post("/accounts/login/", {"username": "staff", "password": DEFAULT_PASSWORD})
        # given requests that come a little less than the idle timeout apart, for 4 timeouts
        for _ in range(4):
            clock.shift(idle - timedelta(minutes=1))
            # then each one is served signed in
            assert _home_is_served(client)


def test_just_inside_the_timeout_is_still_signed_in(staff_user):
    idle = IDLE
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        client.force_login(staff_user)
        clock.shift(idle)
        assert _home_is_served(client)


@override_settings(SESSION_IDLE_TIMEOUT=timedelta(minutes=5))
def test_the_timeout_is_a_setting(staff_user):
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        client.force_login(staff_user)
        clock.shift(timedelta(minutes=5, seconds=1))
        assert not _home_is_served(client)


def test_the_admin_is_logged_out_too(dpo):
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        client.force_login(dpo)
        assert client.get("/admin/").status_code == 200
        clock.shift(IDLE + timedelta(seconds=1))
        response = client.get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


@override_settings(SESSION_COOKIE_AGE=8 * 60 * 60)
def test_a_busy_session_still_ends_after_session_cookie_age(staff_user):
    # renewing the idle clock must not make a login last for ever
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        client.force_login(staff_user)
        for _ in range(16):  # a request every 29 minutes for 7 h 44 min
            clock.shift(timedelta(minutes=29))
            assert _home_is_served(client)
        clock.shift(timedelta(minutes=29))  # 8 h 13 min after signing in
        assert not _home_is_served(client)
