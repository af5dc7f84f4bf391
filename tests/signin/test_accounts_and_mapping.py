"""No two accounts differ only in case; no identity-provider group maps to superuser or
admin rights the portal groups do not imply; the settings mapping is checked at start-up."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from apps.signin.admin import PortalUserChangeForm, PortalUserCreationForm
from apps.signin.groups import groups_sync
from apps.signin.models import GroupMapping
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_the_user_admin_refuses_a_username_differing_only_in_case():
    UserFactory(username="alice", email="alice@example.org")
    form = PortalUserCreationForm(
        data={
            "username": "ALICE",
            "usable_password": "true",
            "password1": "x-Long-pass-42",
            "password2": "x-Long-pass-42",
        }
    )
    assert not form.is_valid() and "username" in form.errors


def test_the_user_admin_refuses_an_email_differing_only_in_case():
    UserFactory(username="alice", email="alice@example.org")
    bob = UserFactory(username="bob", email="bob@example.org")
    form = PortalUserChangeForm(
        instance=bob,
        data={
            "username": "bob",
            "email": "Alice@Example.ORG",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00",
        },
    )
    assert not form.is_valid() and "email" in form.errors


def test_the_database_refuses_a_username_differing_only_in_case():
    UserFactory(username="alice")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("Alice")


def test_the_admin_add_user_page_refuses_it(dpo):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    UserFactory(username="alice")
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/auth/user/add/",
        {"username": "Alice", "password1": "x-Long-pass-42", "password2": "x-Long-pass-42"},
    )
    assert response.status_code == 200
    assert User.objects.filter(username__iexact="alice").count() == 1


@pytest.mark.parametrize("name", ["superuser", "is_superuser", "IS_STAFF"])
def test_a_mapping_to_superuser_or_staff_status_is_refused(name):
    group = Group.objects.create(name=name)
    mapping = GroupMapping(idp_group="idp-admins", group=group)
    with pytest.raises(ValidationError) as refused:
        mapping.full_clean()
    assert "superuser" in str(refused.value)


def test_the_admin_form_refuses_it_too(dpo):
    Group.objects.create(name="superuser")
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/signin/groupmapping/add/",
        {"idp_group": "idp-admins", "group": Group.objects.get(name="superuser").pk},
    )
    assert response.status_code == 200 and not GroupMapping.objects.exists()
    assert "superuser" in response.content.decode()


def test_the_settings_mapping_is_checked(settings):
    settings.OIDC_GROUP_MAP = {"idp-admins": "is_superuser"}
    assert "signin.E001" in {m.id for m in run_checks()}
    settings.OIDC_GROUP_MAP = {"idp-dpo": "DPO"}
    assert "signin.E001" not in {m.id for m in run_checks()}


def test_the_sync_never_makes_a_superuser_and_staff_follows_the_groups(settings, groups):
    settings.OIDC_GROUP_MAP = {"idp-dpo": "DPO", "idp-staff": "Staff"}
    user = UserFactory(username="gil")
    groups_sync(user, ["idp-dpo"])
    user.refresh_from_db()
    assert user.is_staff and not user.is_superuser
    groups_sync(user, ["idp-staff"])
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser
