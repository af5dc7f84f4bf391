"""Sign-in resists guessing: every password path locks a username after too many failures.

The password paths are discovered at run time: every page mounted on the site (no-argument
routes, as an anonymous visitor, following redirects) that offers a password field, plus
the Authorization header of every URL. A new login page or a view that accepts a password
is covered without touching this file.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from apps.audit.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.urlwalk import plain_urls

pytestmark = pytest.mark.django_db

WRONG = 30


def _password_pages() -> set[str]:
    """Paths of every page (reached anonymously) whose HTML has a password input."""
    pages: set[str] = set()
    client = Client()
    for url in plain_urls():
        response = client.get(url, follow=True)
        if b'type="password"' in response.content:
            pages.add(response.request["PATH_INFO"])
    return pages


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _post_login(client: Client, path: str, username: str, password: str):
    return client.post(path, {"username": username, "password": password})


@pytest.fixture
def person(groups):
    # staff, so that the admin login would accept the right password
    return UserFactory(username="rosalind", groups=["DPO"], is_staff=True)


def test_the_walk_finds_both_login_pages():
    # the discovery is real: both known password pages are among what it finds
    assert {"/accounts/login/", "/admin/login/"} <= _password_pages()


def test_every_password_page_locks_after_30_wrong_then_refuses_the_right_password(person):
    pages = _password_pages()
    assert pages, "no password page found"
    for path in sorted(pages):
        # given a person whose username is guessed, in any letter case, 30 times
        call_command("axes_reset", stdout=StringIO())
        client = Client()
        spellings = ["rosalind", "ROSALIND", "Rosalind"]
        for n in range(WRONG):
            _post_login(client, path, spellings[n % 3], f"guess-{n}")
        # when the right password follows
        response = _post_login(client, path, "rosalind", DEFAULT_PASSWORD)
        # then it does not sign in: the username is locked
        assert not _signed_in(client), path
        assert response.status_code == 429, (path, response.status_code)
        assert b"Sign-in locked" in response.content, path


def test_login_page_example_30_wrong_then_right(person):
    # the example on /accounts/login/
    client = Client()
    for n in range(WRONG):
        _post_login(client, "/accounts/login/", "rosalind", f"wrong-{n}")
    _post_login(client, "/accounts/login/", "rosalind", DEFAULT_PASSWORD)
    assert not _signed_in(client)


def test_admin_login_example_30_wrong_then_right(person):
    client = Client()
    for n in range(WRONG):
        _post_login(client, "/admin/login/", "rosalind", f"wrong-{n}")
    _post_login(client, "/admin/login/", "rosalind", DEFAULT_PASSWORD)
    assert not _signed_in(client)


def test_feed_basic_auth_example_30_wrong_then_right_never_signs_in(person):
    # the feed no longer takes a person's password at all, right or wrong
    client = Client()
    feed = reverse("reports:audit-feed")

    def basic(password: str) -> dict:
        token = base64.b64encode(f"rosalind:{password}".encode()).decode()
        return {"HTTP_AUTHORIZATION": f"Basic {token}"}

    for n in range(WRONG):
        assert client.get(feed, **basic(f"wrong-{n}")).status_code == 401
    response = client.get(feed, **basic(DEFAULT_PASSWORD))
    assert response.status_code == 401 and b"integration token" in response.content


def test_no_url_accepts_a_password_in_the_authorization_header(person):
    # every URL answers the same with and without the right password in a Basic header
    token = base64.b64encode(f"rosalind:{DEFAULT_PASSWORD}".encode()).decode()
    client = Client()
    for url in plain_urls():
        plain = client.get(url)
        with_password = client.get(url, HTTP_AUTHORIZATION=f"Basic {token}")
        assert with_password.status_code == plain.status_code or (
            plain.status_code == 401 and with_password.status_code == 401
        ), url
        assert with_password.status_code not in (200, 204) or plain.status_code in (200, 204), url


def test_authenticate_anywhere_is_locked_too(person):
    # any code path calling authenticate() with the request goes through the lockout
    factory = RequestFactory()
    for n in range(WRONG):
        request = factory.post("/anything/")
        assert authenticate(request, username="Rosalind", password=f"x{n}") is None
    request = factory.post("/anything/")
    assert authenticate(request, username="rosalind", password=DEFAULT_PASSWORD) is None


def test_below_the_limit_the_right_password_signs_in(person):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        _post_login(client, "/accounts/login/", "rosalind", f"wrong-{n}")
    _post_login(client, "/accounts/login/", "rosalind", DEFAULT_PASSWORD)
    assert _signed_in(client)


def test_a_lockout_is_audited_once_and_shown_to_admins(person, dpo):
    client = Client()
    for n in range(WRONG):
        _post_login(client, "/accounts/login/", "ROSALIND", f"wrong-{n}")
    # one event in the hash chain for the lockout, not one per refused attempt
    events = AuditEvent.objects.filter(action="auth.locked_out")
    assert events.count() == 1
    event = events.get()
    assert event.data["username"] == "rosalind"
    assert event.data["failures"] == settings.AXES_FAILURE_LIMIT
    assert event.actor_label == "system:axes"
    # and the DPO sees the attempts in the admin
    admin = Client()
    admin.force_login(dpo)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and b"rosalind" in listing.content


def test_unlock_with_the_documented_command(person):
    client = Client()
    for n in range(WRONG):
        _post_login(client, "/accounts/login/", "rosalind", f"wrong-{n}")
    _post_login(client, "/accounts/login/", "rosalind", DEFAULT_PASSWORD)
    assert not _signed_in(client)
    # when an admin runs axes_reset_username (README, management commands)
    call_command("axes_reset_username", "rosalind", stdout=StringIO())
    # then the right password signs in again
    _post_login(client, "/accounts/login/", "rosalind", DEFAULT_PASSWORD)
    assert _signed_in(client)


def test_the_lockout_ends_after_the_cool_off(person):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        _post_login(client, "/accounts/login/", "rosalind", f"wrong-{n}")
    _post_login(client, "/accounts/login/", "rosalind", DEFAULT_PASSWORD)
    assert not _signed_in(client)
    with time_machine.travel(timedelta(minutes=31)):
        _post_login(client, "/accounts/login/", "rosalind", DEFAULT_PASSWORD)
        assert _signed_in(client)
