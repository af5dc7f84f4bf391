"""The admin autocomplete serves a relation only on a form the user may open.

Django's view serves any relation of any model to whoever may view the listed model; the
portal's site (jitportal/admin_site.py) also asks about the model the relation sits on.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from apps.inventory import models as inv
from tests.factories import RecipientFactory, UserFactory

pytestmark = pytest.mark.django_db

QUERY = {"app_label": "inventory", "model_name": "transfer", "field_name": "recipient", "term": ""}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def recipient(db):
    return RecipientFactory(name="Payroll bureau")


@pytest.fixture
def recipients_reader(db):
    """An admin user who may view recipients, but not transfers."""
    user = UserFactory(username="recipients-reader")
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_recipient"))
    return user


def test_a_relation_is_served_to_whoever_may_open_its_form(dpo, recipients_reader, recipient):
    # given the DPO, who edits transfers, and a user who may read recipients but not transfers
    outsider = recipients_reader
    # when both call the transfer form's recipient autocomplete
    served = _client(dpo).get(reverse("admin:autocomplete"), QUERY)
    refused = _client(outsider).get(reverse("admin:autocomplete"), QUERY)
    # then the DPO is served, and the other refused (Django alone would serve them)
    assert served.status_code == 200 and "Payroll bureau" in served.content.decode()
    assert refused.status_code == 403
    assert "Payroll bureau" not in refused.content.decode()


def test_a_relation_of_an_unregistered_model_follows_the_model_permissions(
    dpo, recipients_reader, recipient
):
    # given the transfer model shown only inline (not registered on the site)
    outsider = recipients_reader
    transfer_admin = admin.site._registry.pop(inv.Transfer)
    try:
        # when the DPO, who holds the transfer permissions, and a user holding none call it
        served = _client(dpo).get(reverse("admin:autocomplete"), QUERY)
        refused = _client(outsider).get(reverse("admin:autocomplete"), QUERY)
    finally:
        admin.site._registry[inv.Transfer] = transfer_admin
    # then the DPO is served and the other refused
    assert served.status_code == 200 and "Payroll bureau" in served.content.decode()
    assert refused.status_code == 403
