"""Who answers permission questions: Django's model permissions (PasswordBackend, a
ModelBackend) and live grants (GrantBackend); the single sign-on backend answers none."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_backends
from django.contrib.auth.models import User
from django.test import override_settings

from apps.access.backends import GrantBackend
from apps.signin.backends import PasswordBackend, PortalOIDCBackend
from tests.access.factories import GrantFactory
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

INTENDED = {PasswordBackend, GrantBackend}


def fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.fixture
def people(groups):
    """A superuser, an approver (model permissions through a group), a holder of a live
    grant, and an asset the grant covers."""
    asset = DataAssetFactory(name="Customers")
    holder = UserFactory(username="holder", groups=["Staff"])
    GrantFactory(user=holder, assets=[asset], can_view=True, can_export=True)
    return {
        "root": UserFactory(username="root", is_staff=True, is_superuser=True),
        "approver": UserFactory(username="approver", groups=["Approvers"], is_staff=True),
        "holder": holder,
        "asset": asset,
    }


def questions(people):
    """Every kind of permission question the portal asks: model-wide, per module, per asset."""
    asset = people["asset"]
    return [
        ("has_perm", ("access.view_accessrequest",)),
        ("has_perm", ("auth.view_user",)),
        ("has_perm", ("inventory.view_data", asset)),
        ("has_perm", ("inventory.export_data", asset)),
        ("has_module_perms", ("access",)),
        ("get_all_permissions", ()),
        ("get_all_permissions", (asset,)),
    ]


def test_the_single_sign_on_backend_answers_no_permission_question(people):
    # given the single sign-on backend as configured, and people whom Django's ModelBackend
    # would grant everything (a superuser) or model permissions (an approver)
    oidc = next(b for b in get_backends() if isinstance(b, PortalOIDCBackend))
    for name in ("root", "approver", "holder"):
        user = fresh(people[name])
        # when it is asked every kind of question
        # then it says no / nothing to each
        for method, args in questions(people):
            assert not getattr(oidc, method)(user, *args), (name, method, args)
        assert not oidc.get_user_permissions(user)
        assert not oidc.get_group_permissions(user)
        assert not oidc.with_perm("auth.view_user").exists()


def test_permissions_are_decided_only_by_the_intended_backends(people):
    # given every configured backend that has a permission method
    answering = {}
    for backend in get_backends():
        if not hasattr(backend, "has_perm"):
            continue
        # when each is asked every question about each person
        for name in ("root", "approver", "holder"):
            user = fresh(people[name])
            for method, args in questions(people):
                ask = getattr(backend, method, None)  # Django skips a backend without it
                if ask is not None and ask(user, *args):
                    answering.setdefault(type(backend), set()).add((name, method))
    # then only the password (model permissions) and grant (object permissions) backends
    # ever say yes, and each says yes to its own kind of question
    assert set(answering) == INTENDED
    assert ("holder", "has_perm") in answering[GrantBackend]
    assert ("root", "has_perm") not in answering[GrantBackend]  # grants are not superuser rights
    assert ("approver", "has_perm") in answering[PasswordBackend]


def test_every_answer_is_the_same_without_the_single_sign_on_backend(people, settings):
    # given the answers with the configured backends
    def answers():
        out = {}
        for name in ("root", "approver", "holder"):
            user = fresh(people[name])
            for method, args in questions(people):
                out[(name, method, args)] = getattr(user, method)(*args)
        return out

    configured = answers()
    # when the single sign-on backend is taken out of the list
    without = [b for b in settings.AUTHENTICATION_BACKENDS if not b.endswith("PortalOIDCBackend")]
    assert len(without) == len(settings.AUTHENTICATION_BACKENDS) - 1
    with override_settings(AUTHENTICATION_BACKENDS=without):
        # then every permission answer is the same: it never decided one
        assert answers() == configured
    assert configured[("holder", "has_perm", ("inventory.view_data", people["asset"]))]
    assert not configured[("approver", "has_perm", ("inventory.view_data", people["asset"]))]
