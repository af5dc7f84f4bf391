"""Single sign-on through a real OpenID provider (oidc-provider on Node.js): accounts created
on first sign-in, groups mapped and synced at every sign-in, and the refusals."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client

from apps.signin.models import GroupMapping, OidcIdentity
from tests.factories import UserFactory
from tests.signin.oidc import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.oidc]
User = get_user_model()

MAP = {"idp-dpo": "DPO", "idp-approvers": "Approvers", "idp-staff": ["Staff"]}


@pytest.fixture
def mapped(oidc_provider, settings, groups):
    settings.OIDC_GROUP_MAP = MAP
    return oidc_provider


def _signed_in_as(client: Client) -> object | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def _names(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_first_sign_in_creates_the_account_with_its_mapped_groups(mapped):
    mapped.accounts = {
        "ann-sub": {
            "preferred_username": "ann",
            "email": "ann@example.org",
            "email_verified": True,
            "given_name": "Ann",
            "family_name": "Ode",
            "groups": ["idp-dpo", "unmapped-idp-group"],
        }
    }
    client = Client()
    response = sign_in(client, "ann-sub", next_url="/requests/")
    assert response.status_code == 302 and response["Location"] == "/requests/"
    user = _signed_in_as(client)
    assert user is not None and user.username == "ann" and user.email == "ann@example.org"
    assert (user.first_name, user.last_name) == ("Ann", "Ode")
    assert _names(user) == {"DPO"}
    # the DPO's group implies admin access, and nothing more
    assert user.is_staff and not user.is_superuser
    assert not user.has_usable_password()
    assert OidcIdentity.objects.get(user=user).subject == "ann-sub"
    assert client.get("/admin/").status_code == 200


def test_groups_change_between_two_sign_ins_and_unmapped_groups_stay(mapped):
    GroupMapping.objects.create(idp_group="idp-auditors", group=Group.objects.get(name="Auditors"))
    account = {
        "preferred_username": "bo",
        "email": "bo@example.org",
        "email_verified": True,
        "groups": ["idp-approvers", "idp-staff", "idp-auditors"],
    }
    mapped.accounts = {"bo-sub": account}
    sign_in(Client(), "bo-sub")
    user = User.objects.get(username="bo")
    assert _names(user) == {"Approvers", "Staff", "Auditors"}  # settings and admin mapping
    assert user.is_staff
    # an administrator adds a group no mapping names
    user.groups.add(Group.objects.get_or_create(name="Local reviewers")[0])

    # the provider now says Bo is staff only
    mapped.accounts = {"bo-sub": {**account, "groups": ["idp-staff"]}}
    client = Client()
    sign_in(client, "bo-sub")
    user.refresh_from_db()
    assert _signed_in_as(client) == user
    assert _names(user) == {"Staff", "Local reviewers"}
    assert not user.is_staff  # no admin group left
    assert User.objects.filter(username__iexact="bo").count() == 1


def test_a_token_without_the_groups_claim_is_refused_and_nothing_changes(mapped):
    account = {
        "preferred_username": "cy",
        "email": "cy@example.org",
        "email_verified": True,
        "groups": ["idp-approvers"],
    }
    mapped.accounts = {"cy-sub": account}
    sign_in(Client(), "cy-sub")
    user = User.objects.get(username="cy")
    assert _names(user) == {"Approvers"}

    without = {k: v for k, v in account.items() if k != "groups"}
    mapped.accounts = {"cy-sub": without, "new-sub": {**without, "preferred_username": "neo"}}
    client = Client()
    response = sign_in(client, "cy-sub")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert _signed_in_as(client) is None
    user.refresh_from_db()
    assert _names(user) == {"Approvers"} and user.is_staff  # neither kept-changed nor wiped
    page = client.get("/accounts/login/")
    assert "did not send your groups" in page.content.decode()
    # nor is an account created for someone new without the claim
    sign_in(Client(), "new-sub")
    assert not User.objects.filter(username="neo").exists()


def test_an_unverified_email_never_matches_an_existing_account(mapped):
    carol = UserFactory(username="carol", email="carol@example.org", groups=["DPO"])
    mapped.accounts = {
        "mallory-sub": {
            "preferred_username": "not-carol",
            "email": "Carol@Example.org",
            "email_verified": False,
            "groups": ["idp-staff"],
        }
    }
    client = Client()
    response = sign_in(client, "mallory-sub")
    assert _signed_in_as(client) is None
    assert any("not verified" in m for m in _messages(response))
    assert not User.objects.filter(username="not-carol").exists()
    assert not OidcIdentity.objects.filter(user=carol).exists()


def test_a_verified_email_links_the_existing_account_ignoring_case(mapped):
    dee = UserFactory(username="dee", email="dee@example.org")
    mapped.accounts = {
        "dee-sub": {
            "preferred_username": "dee.smith",
            "email": "DEE@example.org",
            "email_verified": True,
            "groups": ["idp-staff"],
        }
    }
    client = Client()
    sign_in(client, "dee-sub")
    assert _signed_in_as(client) == dee
    assert _names(dee) == {"Staff"}
    assert User.objects.count() == 1 + User.objects.exclude(pk=dee.pk).count()
    assert not User.objects.filter(username="dee.smith").exists()


def test_no_second_account_differing_only_in_case(mapped):
    UserFactory(username="Eve", email="eve@corp.example")
    mapped.accounts = {
        "eve-sub": {
            "preferred_username": "eve",
            "email": "eve@elsewhere.example",
            "email_verified": True,
            "groups": ["idp-staff"],
        }
    }
    client = Client()
    response = sign_in(client, "eve-sub")
    assert _signed_in_as(client) is None
    assert any("already exists" in m for m in _messages(response))
    assert User.objects.filter(username__iexact="eve").count() == 1


def test_a_user_deactivated_in_the_portal_loses_the_single_sign_on_session(mapped):
    mapped.accounts = {
        "fay-sub": {
            "preferred_username": "fay",
            "email": "fay@example.org",
            "email_verified": True,
            "groups": ["idp-staff"],
        }
    }
    client = Client()
    sign_in(client, "fay-sub")
    assert client.get("/").status_code == 200
    User.objects.filter(username="fay").update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    # and signing in again does not bring the account back
    sign_in(client, "fay-sub")
    assert _signed_in_as(client) is None


def test_endpoints_named_in_settings_need_no_discovery(mapped, settings):
    issuer = mapped.issuer
    settings.OIDC_ISSUER = ""
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{issuer}/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{issuer}/me"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{issuer}/jwks"
    mapped.accounts = {
        "gus-sub": {
            "preferred_username": "gus",
            "email": "gus@example.org",
            "email_verified": True,
            "groups": [],
        }
    }
    client = Client()
    sign_in(client, "gus-sub")
    user = _signed_in_as(client)
    assert user is not None and user.username == "gus"
    assert _names(user) == set() and not user.is_staff  # an empty list is an answer


def test_a_user_the_provider_removed_from_every_mapped_group_is_offboarded(
    mapped, settings, django_capture_on_commit_callbacks
):
    # OIDC_DEACTIVATE_UNMAPPED: no mapped group in the claim deactivates the account, which
    # offboards it (apps/access/signals.py); signin itself imports nothing of access
    from apps.audit.models import AuditEvent

    settings.OIDC_DEACTIVATE_UNMAPPED = True
    account = {
        "preferred_username": "gil",
        "email": "gil@example.org",
        "email_verified": True,
        "groups": ["idp-staff"],
    }
    mapped.accounts = {"gil-sub": account}
    client = Client()
    sign_in(client, "gil-sub")
    user = User.objects.get(username="gil")
    assert _signed_in_as(client) == user and user.is_active
    mapped.accounts = {"gil-sub": {**account, "groups": ["unmapped-idp-group"]}}
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(client, "gil-sub")
    user.refresh_from_db()
    assert not user.is_active and _signed_in_as(client) is None
    assert "no longer gives you access" in " ".join(_messages(response))
    assert _names(user) == {"Staff"}  # groups kept as they were, for the record
    event = AuditEvent.objects.get(action="access.user.offboarded")
    assert event.target_id == str(user.pk) and event.actor_label == "system:offboarding"
