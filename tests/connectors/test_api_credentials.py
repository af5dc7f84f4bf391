"""A grant's accounts and their one-time password through the REST API: the portal's rules
(holder only, once, recorded without the password) and the fresh second factor where MFA
applies, which an integration token never carries (sent to the portal's page instead)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.connectors.models import Provisioning
from tests.api.conftest import make_token
from tests.connectors.helpers import activate
from tests.signin.mfa import make_stale, verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def accounts_url(grant) -> str:
    return f"/api/me/grants/{grant.pk}/accounts/"


def password_url(grant, row_id) -> str:
    return f"/api/me/grants/{grant.pk}/accounts/{row_id}/password/"


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_token_reads_the_accounts_and_the_password_once(
    client, bound_asset, staff_user, target_db
):
    # given an activated grant whose account is ready, and its holder's request token
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    token = bearer(make_token(staff_user, "request"))
    # when the accounts are listed
    listed = client.get(accounts_url(grant), **token)
    # then the account is there, ready, with a password waiting, and no password in sight
    assert listed.status_code == 200, listed.content
    (account,) = listed.json()["results"]
    assert isinstance(account["port"], int)
    assert account["id"] == row.pk and account["account"] == row.account
    assert account["state"] == "ready" and account["password_available"] is True
    assert "password" not in account
    # when the password is asked for (MFA off: no second factor applies)
    shown = client.post(password_url(grant, row.pk), content_type="application/json", **token)
    # then it is given once, not stored by a cache, and it opens the target
    assert shown.status_code == 200, shown.content
    assert "no-store" in shown["Cache-Control"]
    password = shown.json()["password"]
    target_db.holder_connect("jp_connector_target", row.account, password).close()
    # and a second ask is refused with the page's message, the showing recorded once
    again = client.post(password_url(grant, row.pk), content_type="application/json", **token)
    assert again.status_code == 409
    assert "shown once already" in again.json()["detail"]
    assert password not in again.content.decode()
    assert AuditEvent.objects.filter(action="connectors.secret.shown").count() == 1
    assert (
        client.get(accounts_url(grant), **token).json()["results"][0]["password_available"] is False
    )


def test_with_mfa_a_token_is_sent_to_the_portal_and_a_session_needs_a_fresh_factor(
    client, settings, bound_asset, staff_user, target_db
):
    # given MFA and a ready account
    settings.MFA_REQUIRED = True
    settings.MFA_FRESH_MINUTES = 10
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    portal_page = reverse("connectors-grant-accounts", args=[grant.pk])
    # when a token asks for the password
    refused = client.post(
        password_url(grant, row.pk),
        content_type="application/json",
        **bearer(make_token(staff_user, "request")),
    )
    # then it is sent to the portal's page, and nothing is shown or wiped
    assert refused.status_code == 403
    assert refused.json()["portal_url"].endswith(portal_page)
    assert Provisioning.objects.get(pk=row.pk).secret_sealed is not None
    # when the browser session's factor is stale
    verify(client, staff_user)
    make_stale(client)
    stale = client.post(password_url(grant, row.pk), content_type="application/json")
    assert stale.status_code == 403 and "portal_url" in stale.json()
    assert Provisioning.objects.get(pk=row.pk).secret_sealed is not None
    # then with a fresh factor the session gets it, once
    verify(client, staff_user, steps_ahead=1)
    shown = client.post(password_url(grant, row.pk), content_type="application/json")
    assert shown.status_code == 200, shown.content
    assert shown.json()["password"]
    assert not AuditEvent.objects.filter(data__icontains=shown.json()["password"]).exists()


def test_nobody_else_reads_the_accounts_or_the_password(
    client, bound_asset, staff_user, staff2, target_db
):
    # given someone else's grant, and one's own
    theirs = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=theirs)
    own = activate(staff2, bound_asset)
    token = bearer(make_token(staff2, "request"))
    # then their grant is not found, nor their account through one's own grant
    assert client.get(accounts_url(theirs), **token).status_code == 404
    assert (
        client.post(
            password_url(theirs, row.pk), content_type="application/json", **token
        ).status_code
        == 404
    )
    assert (
        client.post(password_url(own, row.pk), content_type="application/json", **token).status_code
        == 404
    )
    # and ids that name no row are not found, with nothing shown
    for value in ("abc", "²", "0", "99999999999999999999999"):
        assert (
            client.post(
                password_url(own, value), content_type="application/json", **token
            ).status_code
            == 404
        )
    assert Provisioning.objects.get(pk=row.pk).secret_sealed is not None
