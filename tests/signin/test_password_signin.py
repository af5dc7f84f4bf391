"""PASSWORD_SIGNIN=off: only the break-glass admins sign in with a password, on every
password path; the login page offers single sign-on only. Sessions of deactivated users end."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def passwords_off(settings):
    settings.PASSWORD_SIGNIN = False
    settings.PASSWORD_SIGNIN_BREAK_GLASS = ["Root"]
    settings.OIDC_RP_CLIENT_ID = "portal"
    settings.OIDC_PROVIDER_NAME = "Example IdP"


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_login_page_shows_only_single_sign_on(passwords_off):
    page = Client().get("/accounts/login/?next=/requests/").content.decode()
    assert "Sign in with Example IdP" in page
    assert 'href="/oidc/authenticate/?next=/requests/"' in page
    assert 'type="password"' not in page
    assert 'href="/accounts/login/password/?next=/requests/"' in page


def test_with_passwords_on_both_are_offered(settings):
    settings.OIDC_RP_CLIENT_ID = "portal"
    settings.OIDC_PROVIDER_NAME = "Example IdP"
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with Example IdP" in page and 'type="password"' in page


def test_without_single_sign_on_the_page_is_as_before():
    page = Client().get("/accounts/login/").content.decode()
    assert 'type="password"' in page and "/oidc/authenticate/" not in page
    assert Client().get("/oidc/authenticate/").status_code == 404


def test_a_password_signs_in_only_break_glass_admins(passwords_off):
    UserFactory(username="staffer")
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for path in ("/accounts/login/", "/accounts/login/password/"):
        client = Client()
        client.post(path, {"username": "staffer", "password": DEFAULT_PASSWORD})
        assert not _signed_in(client)
    client = Client()
    page = client.get("/accounts/login/password/").content.decode()
    assert 'type="password"' in page
    client.post("/accounts/login/password/", {"username": "root", "password": DEFAULT_PASSWORD})
    assert _signed_in(client)


def test_every_authenticate_call_refuses_other_passwords(passwords_off):
    UserFactory(username="staffer")
    request = RequestFactory().post("/")
    assert authenticate(request, username="staffer", password=DEFAULT_PASSWORD) is None


def test_the_admin_login_sends_to_the_portal_login(passwords_off):
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_the_admin_login_is_djangos_while_passwords_are_on():
    response = Client().get("/admin/login/")
    assert response.status_code == 200 and b'type="password"' in response.content


def test_a_deactivated_user_loses_a_password_session(staff_user):
    client = Client()
    client.post("/accounts/login/", {"username": "staff", "password": DEFAULT_PASSWORD})
    assert client.get("/").status_code == 200
    staff_user.is_active = False
    staff_user.save(update_fields=["is_active"])
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_a_deactivated_admin_loses_the_admin_session(dpo):
    client = Client()
    client.force_login(dpo)
    assert client.get("/admin/").status_code == 200
    dpo.is_active = False
    dpo.save(update_fields=["is_active"])
    assert client.get("/admin/").status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("de", ["Anmelden mit Example IdP", "Mit Passwort anmelden"]),
        ("fr", ["Se connecter avec Example IdP", "Se connecter avec un mot de passe"]),
    ],
)
def test_the_single_sign_on_page_speaks_the_readers_language(passwords_off, language, words):
    page = Client(HTTP_ACCEPT_LANGUAGE=language).get("/accounts/login/").content.decode()
    for word in words:
        assert word in page
