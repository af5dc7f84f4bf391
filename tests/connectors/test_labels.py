"""The holder's pages say what each account is (a database login, a group membership, an
object permission, a webhook account), for every connector kind the registry holds: a new
kind that does not say it fails here."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from apps.connectors.models import Provisioning, ProvisioningState, Target
from apps.connectors.registry import connector_classes
from tests.access.factories import GrantFactory
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db

#: What each built-in kind's accounts are; a new kind is added here with its own.
EXPECTED = {
    "django_groups": "Group membership",
    "guardian": "Object permission",
    "mariadb": "Database login",
    "postgresql": "Database login",
    "webhook": "Webhook account",
}


def test_every_registered_kind_says_what_its_accounts_are():
    labels = {cls.kind: str(cls.account_label) for cls in connector_classes()}
    assert labels == EXPECTED
    # in every language the portal speaks
    for language in ("de", "fr"):
        with translation.override(language):
            for cls in connector_classes():
                assert str(cls.account_label) != EXPECTED[cls.kind], (language, cls.kind)


@pytest.mark.parametrize("kind", sorted(cls.kind for cls in connector_classes()))
def test_the_holders_pages_label_the_account_by_its_kind(client, staff_user, kind):
    # Given the holder's live grant with a ready account in a target of this kind
    grant = GrantFactory(user=staff_user, assets=[DataAssetFactory()])
    target = Target.objects.create(name=f"{kind} target", kind=kind, account_prefix="jpt_")
    row = Provisioning.objects.create(
        grant=grant, target=target, account="jpt_g1_abc", state=ProvisioningState.PROVISIONED
    )
    client.force_login(staff_user)

    # When they open the grant's accounts, then the account's name is labelled by what it is
    page = client.get(reverse("connectors-grant-accounts", args=[grant.pk])).content.decode()
    card = re.search(rf'id="account-{row.pk}".*?</dl>', page, re.S).group(0)
    assert f"<dt>{EXPECTED[kind]}</dt><dd><code>jpt_g1_abc</code></dd>" in card
    assert "User name" not in page
    # and so does the panel on "My access"
    home = client.get(reverse("access-grant-detail", args=[grant.pk])).content.decode()
    assert f"{kind} target ({EXPECTED[kind]}): <code>jpt_g1_abc</code>" in home
