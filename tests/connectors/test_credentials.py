"""Credentials reach only their holder, once: on the holder's page after activation, after
a fresh second factor where MFA applies, then wiped; never emailed, logged or audited; the
holder reads the account's state ("being set up", "ready", "failed, the admins are told")."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.urls import reverse
from health_check.exceptions import ServiceUnavailable

from apps.access.models import Notice
from apps.audit.models import AuditEvent
from apps.connectors.models import Provisioning
from apps.health.checks import ConnectorFailures
from tests.access.factories import GrantFactory
from tests.connectors.helpers import activate, committed
from tests.factories import DataAssetFactory, UserFactory
from tests.signin.mfa import code_for, make_stale, verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def password_free(body: str) -> bool:
    return "password" not in body.lower()


def page(grant):
    return reverse("connectors-grant-accounts", args=[grant.pk])


def test_my_access_shows_the_state_and_the_password_is_shown_once(
    client, bound_asset, staff_user, target_db, caplog
):
    caplog.set_level(logging.DEBUG)
    # Given an activated grant with its account ready
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    client.force_login(staff_user)
    # Then "my access" says it is ready and links to the one-time password
    home = client.get(reverse("portal-home")).content.decode()
    assert 'data-provisioning-state="ready"' in home and row.account in home
    # When the holder asks for the password
    response = client.post(page(grant), {"provisioning": row.pk})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = response.context["shown"][row.pk]
    assert password in response.content.decode()
    # Then it works, is wiped, and a second request is refused with a clear message
    target_db.holder_connect("jp_connector_target", row.account, password).close()
    again = client.post(page(grant), {"provisioning": row.pk})
    assert password not in again.content.decode()
    assert "shown once already" in again.content.decode()
    assert Provisioning.objects.get(pk=row.pk).secret_sealed is None
    # And it is in no audit event, no email and no log line; showing it is one audit event
    assert AuditEvent.objects.filter(action="connectors.secret.shown").count() == 1
    for event in AuditEvent.objects.all():
        assert password not in str(event.data) and password not in event.reason
    assert all(password not in m.body for m in mail.outbox)
    assert password not in caplog.text


def test_nobody_else_sees_the_page_or_the_password(
    client, bound_asset, staff_user, staff2, target_db
):
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    client.force_login(staff2)
    assert client.get(page(grant)).status_code == 404
    assert client.post(page(grant), {"provisioning": row.pk}).status_code == 404
    # Nor by naming someone else's account on one's own grant's page
    own = activate(staff2, bound_asset)
    response = client.post(page(own), {"provisioning": row.pk})
    assert "These credentials are not yours." in response.content.decode()
    assert Provisioning.objects.get(pk=row.pk).secret_sealed is not None


def test_bad_input_gets_a_clear_message(client, bound_asset, staff_user, target_db):
    grant = activate(staff_user, bound_asset)
    client.force_login(staff_user)
    for value in ("", "abc", "99999999999999999999999"):
        response = client.post(page(grant), {"provisioning": value})
        assert response.status_code == 200
        assert "Choose the account whose password to show." in response.content.decode()


def test_showing_needs_a_fresh_second_factor_when_mfa_applies(
    client, settings, bound_asset, staff_user, target_db
):
    settings.MFA_REQUIRED = True
    settings.MFA_FRESH_MINUTES = 10
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    grant = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=grant)
    device = verify(client, staff_user)
    make_stale(client)
    # A stale factor: sent to verification and back; nothing shown, nothing wiped
    response = client.post(page(grant), {"provisioning": row.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa-verify"))
    assert Provisioning.objects.get(pk=row.pk).secret_sealed is not None
    assert not AuditEvent.objects.filter(action="connectors.secret.shown").exists()
    # A fresh code, then the password
    client.post(
        f"{reverse('mfa-verify')}?next={page(grant)}", {"token": code_for(device, steps_ahead=1)}
    )
    response = client.post(page(grant), {"provisioning": row.pk})
    assert row.pk in response.context["shown"]


def test_the_holder_sees_being_set_up_then_failed_when_the_target_is_down(
    client, bound_asset, pg_target, staff_user, monkeypatch, settings
):
    # Given a target that does not answer (nothing listens on port 1), and a DPO
    dpo = UserFactory(username="alerted-dpo", groups=["DPO"], email="dpo@example.org")
    monkeypatch.setenv("JITPORTAL_TEST_TARGET_URL", "postgresql://portal_admin@127.0.0.1:1/x")
    grant = activate(staff_user, bound_asset)
    client.force_login(staff_user)
    row = Provisioning.objects.get(grant=grant)
    # Then the grant is live in the portal and the holder reads "being set up"
    assert grant.is_live() and row.state == "failed" and row.tries == 1
    assert 'data-provisioning-state="setting_up"' in client.get(page(grant)).content.decode()
    # When the retries keep failing until the alert threshold
    from apps.connectors.services import provisioning_provision

    with committed():
        for _ in range(settings.CONNECTORS["ALERT_AFTER_TRIES"] - 1):
            provisioning_provision(provisioning_id=row.pk)
    # Then the admins are told once (an event; readiness fails), and so is the holder
    body = client.get(page(grant)).content.decode()
    assert 'data-provisioning-state="failed"' in body
    assert "failed, the admins are told" in body
    assert AuditEvent.objects.filter(action="connectors.provisioning.alerted").count() == 1
    # and the DPO group and the superusers get one email through the outbox
    (notice,) = Notice.objects.filter(kind="grant_target_failing", object_id=grant.pk)
    assert notice.status == "sent"
    alerts = [m for m in mail.outbox if f"grant #{grant.pk}" in m.body]
    assert [m.to for m in alerts] == [[dpo.email]]
    assert all(password_free(m.body) for m in alerts)
    with pytest.raises(ServiceUnavailable, match="CRM database"):
        ConnectorFailures()._check()


def test_an_account_of_another_grant_of_mine_is_not_used_up_on_this_grants_page(
    client, bound_asset, staff_user, target_db
):
    # Given two grants of the same holder, one with an account and one named in the URL
    with_account = activate(staff_user, bound_asset)
    row = Provisioning.objects.get(grant=with_account)
    other = GrantFactory(user=staff_user, assets=[DataAssetFactory(name="Unbound")])
    client.force_login(staff_user)
    # When the first grant's account is asked for on the second grant's page
    response = client.post(page(other), {"provisioning": row.pk})
    # Then it is refused, and the password is still there to be shown on its own page
    assert "not one of this access" in response.content.decode()
    assert Provisioning.objects.get(pk=row.pk).secret_sealed is not None
    assert not AuditEvent.objects.filter(action="connectors.secret.shown").exists()
    shown = client.post(page(with_account), {"provisioning": row.pk})
    assert row.pk in shown.context["shown"]


def test_a_target_reads_only_a_setting_made_for_targets_and_never_repeats_a_url(
    bound_asset, pg_target, monkeypatch, settings
):
    # Given settings and variables of the server that are not target URLs
    from django.core.exceptions import ValidationError

    from apps.connectors.models import url_setting_validate
    from apps.connectors.registry import connector_for

    for name in ("SECRET_KEY", "DATABASE_URL", "PATH", "CELERY_BROKER_URL", "crm_target_url"):
        # Then a target may not name them
        with pytest.raises(ValidationError):
            url_setting_validate(name)
        pg_target.url_setting = name
        assert pg_target.connection_url() is None
    # And a target URL the driver cannot parse is not repeated in the error
    monkeypatch.setenv("BROKEN_TARGET_URL", "s3cr3t-passw0rd is not a url")
    pg_target.url_setting = "BROKEN_TARGET_URL"
    problems = connector_for(pg_target).check_target()
    assert problems and all("s3cr3t" not in str(p.message) for p in problems)
