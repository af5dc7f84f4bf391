"""The record pages, their refusal and the register's checks speak the reader's language."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.inventory.validation import transfer_errors
from jitportal.inputs import text_problem

pytestmark = pytest.mark.django_db


def _client(user, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("de", ["Kunden", "Suche", "Kunde seit", "Jeder Aufruf wird protokolliert."]),
        ("fr", ["Clients", "Recherche", "Client depuis", "Chaque consultation est journalisée."]),
    ],
)
def test_the_customer_list_is_in_the_readers_language(
    staff_user, crm_role, grant_on, ada, language, words
):
    # given a live grant on the customers, when a German or French reader opens the list
    grant_on(staff_user, role=crm_role)
    html = _client(staff_user, language).get(reverse("crm-customer-list")).content.decode()
    # then its labels, the status choices and the grant banner are in their language
    assert f'lang="{language}"' in html
    for word in words:
        assert word in html
    assert "Customer since" not in html


def test_the_refusal_is_in_german(staff_user, crm_role, ada):
    # given no grant, when a German reader opens a customer
    response = _client(staff_user, "de").get(reverse("crm-customer-detail", args=[ada.pk]))
    # then the refusal says so in German, naming the data in German
    assert response.status_code == 403
    html = response.content.decode()
    assert "Keine aktive Freigabe" in html
    assert "Kunden" in html


def test_register_checks_and_input_errors_are_translated():
    # given a transfer to the US with no mechanism, and text holding a control character
    with translation.override("fr"):
        errors = transfer_errors(
            country="US", international_organisation="", mechanism="", description=""
        )
        problem = text_problem("a\x07b", multiline=False)
    # then a French reader is told what to do in French
    assert "quittent l’EEE" in errors["mechanism"][0]
    assert problem is not None and "caractère de contrôle" in problem
    with translation.override("de"):
        assert "Steuerzeichen" in (text_problem("a\x07b") or "")


def test_a_nul_is_refused_in_the_readers_language(client):
    # given a German browser, when a request carries a NUL character
    response = client.get("/accounts/login/", {"next": "a\x00b"}, HTTP_ACCEPT_LANGUAGE="de")
    # then the 400 says what is wrong in German
    assert response.status_code == 400
    assert "Ungültige Anfrage" in response.content.decode()
    assert "Abfrageparameter" in response.content.decode()


def test_the_scripts_catalogue_carries_the_portal_strings(client, staff_user, groups):
    # given a German reader, when the portal's script catalogue is loaded
    portal = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="de")
    # then it holds the scripts' strings in German
    assert portal.status_code == 200
    assert "Pflichtfeld" in portal.content.decode()
    # and the admin's catalogue (the periodic task form) holds them too
    staff_user.is_staff = True
    staff_user.save()
    client.force_login(staff_user)
    admin = client.get(reverse("admin:jsi18n"), HTTP_ACCEPT_LANGUAGE="fr")
    assert "Traduction" in admin.content.decode()
