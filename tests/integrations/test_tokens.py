"""Integration tokens: hashed at rest, scoped, expiring, revocable, bound to their owner."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.integrations.models import IntegrationToken
from apps.integrations.scopes import scope_get
from apps.integrations.services import (
    TokenInputError,
    TokenRefused,
    integration_token_authenticate,
    integration_token_create,
    integration_token_revoke,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FEED = "/reports/audit/events/"


def _issue(owner, *, scopes=("audit",), days=30, **kwargs):
    return integration_token_create(
        owner=owner,
        name="SIEM",
        scopes=list(scopes),
        expires_at=datetime.now(tz=UTC) + timedelta(days=days),
        **kwargs,
    )


def _feed(client, raw):
    return client.get(FEED, HTTP_AUTHORIZATION=f"Bearer {raw}")


# --- at rest ------------------------------------------------------------------------------


def test_only_the_prefix_and_a_digest_are_stored(auditor):
    # given a token issued to an auditor
    token, raw = _issue(auditor)
    row = IntegrationToken.objects.get(pk=token.pk)
    # then the row keeps the prefix in the clear and the SHA-256 of the token, never the token
    assert raw.startswith(f"jpt_{row.prefix}_")
    assert row.digest == hashlib.sha256(raw.encode()).hexdigest()
    secret = raw.split("_", 2)[2]
    stored = [str(v) for v in IntegrationToken.objects.filter(pk=token.pk).values().get().values()]
    assert not any(secret in value for value in stored)
    # and the issue is recorded in the audit trail without the secret
    event = AuditEvent.objects.get(action="integrations.token.created")
    assert event.data["prefix"] == row.prefix and secret not in str(event.data)


# --- use ----------------------------------------------------------------------------------


def test_a_token_reads_the_feed_and_its_last_use_is_recorded(client, auditor):
    token, raw = _issue(auditor)
    assert token.last_used_at is None
    # when the SIEM calls the feed with it
    with time_machine.travel(datetime(2026, 6, 1, 12, tzinfo=UTC), tick=False):
        response = _feed(client, raw)
    # then it gets the trail and the use is shown on the token
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_an_expired_token_is_refused(client, auditor):
    _, raw = _issue(auditor, days=1)
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(days=1, seconds=1)):
        response = _feed(client, raw)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert b"expired" in response.content


def test_a_revoked_token_is_refused_and_the_revocation_is_audited(client, auditor, dpo):
    token, raw = _issue(auditor)
    assert integration_token_revoke(token_id=token.pk, actor=dpo)
    assert integration_token_revoke(token_id=token.pk, actor=dpo) is False  # once only
    response = _feed(client, raw)
    assert response.status_code == 401 and b"revoked" in response.content
    event = AuditEvent.objects.get(action="integrations.token.revoked")
    assert event.actor_id == dpo.pk and event.data["prefix"] == token.prefix


def test_an_inactive_owners_token_fails(client, auditor):
    _, raw = _issue(auditor)
    auditor.is_active = False
    auditor.save()
    response = _feed(client, raw)
    assert response.status_code == 401 and b"owner is inactive" in response.content


def test_the_owners_permissions_are_checked_at_use(client, auditor):
    # given a token issued while its owner was an auditor
    _, raw = _issue(auditor)
    # when the owner leaves the Auditors group
    auditor.groups.remove(Group.objects.get(name="Auditors"))
    # then the token can no longer read the trail
    response = _feed(client, raw)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert b"audit.export_auditevent" in response.content


def test_a_token_without_the_audit_scope_is_refused(client, auditor):
    # given a token whose scopes do not include audit (a later integration's scope)
    from apps.integrations.scopes import scope_register

    scope_register(name="test-read", description="test scope", permissions=())
    _, raw = _issue(auditor, scopes=("test-read",))
    # then the feed answers 403 insufficient_scope naming the scope it needs
    response = _feed(client, raw)
    assert response.status_code == 403
    assert 'scope="audit"' in response["WWW-Authenticate"]
    assert "lacks the “audit” scope".encode() in response.content


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "jpt_",
        "jpt_0123456789",
        "jpt_0123456789_nope",
        "x" * 500,
        "jpt_\x00\x00",
        "jpt_" + "\x00" * 10 + "_" + "A" * 43,
        "jpt_0123456789_" + "A" * 42 + "\x00",
        "Basic",
    ],
)
def test_malformed_or_unknown_tokens_are_refused(raw):
    with pytest.raises(TokenRefused) as refused:
        integration_token_authenticate(raw=raw, scope="audit")
    assert refused.value.error == "invalid_token"


def test_a_guessed_token_with_a_real_prefix_is_refused(auditor):
    token, raw = _issue(auditor)
    forged = f"jpt_{token.prefix}_" + "A" * 43
    with pytest.raises(TokenRefused, match="not known"):
        integration_token_authenticate(raw=forged, scope="audit")
    assert integration_token_authenticate(raw=raw, scope="audit").pk == token.pk


# --- issue: every rule refused with a message, nothing created ------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scopes": []}, "at least one scope"),
        ({"scopes": ["nope"]}, "Unknown scope"),
        ({"days": -1}, "in the future"),
        ({"days": 366}, "at most 365 days"),
        ({"name": "  "}, "Give the token a name"),
    ],
)
def test_issue_refuses_bad_input(auditor, kwargs, message):
    days = kwargs.pop("days", 30)
    scopes = kwargs.pop("scopes", ["audit"])
    with pytest.raises(TokenInputError, match=message):
        integration_token_create(
            owner=auditor,
            name=kwargs.get("name", "SIEM"),
            scopes=scopes,
            expires_at=datetime.now(tz=UTC) + timedelta(days=days),
        )
    assert not IntegrationToken.objects.exists()


def test_a_token_never_carries_more_than_its_owner_may(approver):
    # an approver may not export the trail, so cannot own an audit token
    with pytest.raises(TokenInputError, match=r"audit\.export_auditevent"):
        _issue(approver)
    inactive = UserFactory(username="gone", groups=["Auditors"], is_active=False)
    with pytest.raises(TokenInputError, match="inactive"):
        _issue(inactive)
    assert not IntegrationToken.objects.exists()


def test_the_audit_scope_is_registered_with_the_export_permission():
    scope = scope_get("audit")
    assert scope is not None and scope.permissions == ("audit.export_auditevent",)


# --- the command ----------------------------------------------------------------------------


def test_command_prints_the_token_once_and_it_works(client, auditor):
    out, err = StringIO(), StringIO()
    call_command(
        "integration_token_create",
        "--owner",
        "auditor",
        "--name",
        "SIEM",
        "--scope",
        "audit",
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip()
    assert raw.startswith("jpt_") and "shown only now" in err.getvalue()
    assert _feed(client, raw).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--owner", "nobody", "--name", "x", "--scope", "audit"], "No user named"),
        (["--owner", "auditor", "--name", "x", "--scope", "nope"], "Unknown scope"),
        (["--owner", "auditor", "--name", "x", "--scope", "audit", "--days", "0"], "--days"),
        (
            ["--owner", "auditor", "--name", "x", "--scope", "audit", "--days", "99999999999"],
            "--days",
        ),
        (["--owner", "auditor", "--name", "x", "--scope", "audit", "--days", "400"], "at most"),
    ],
)
def test_command_refuses_bad_input(auditor, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("integration_token_create", *args, stdout=StringIO(), stderr=StringIO())
    assert not IntegrationToken.objects.exists()


# --- the admin ------------------------------------------------------------------------------


def test_admin_creates_shows_once_lists_and_revokes(client, dpo, auditor):
    client.force_login(dpo)
    add = reverse("admin:integrations_integrationtoken_add")
    assert client.get(add).status_code == 200
    # when the DPO creates a token for the auditor
    response = client.post(
        add,
        {
            "name": "SIEM",
            "owner": auditor.pk,
            "scopes": ["audit"],
            "expires_at": (datetime.now(tz=UTC) + timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    # then the token is shown once, not cached, and works
    assert response.status_code == 200
    raw = response.context["raw"]
    assert raw.encode() in response.content
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    token = IntegrationToken.objects.get()
    # and the list shows it by prefix, never the token again
    listing = client.get(reverse("admin:integrations_integrationtoken_changelist"))
    assert token.prefix.encode() in listing.content and raw.encode() not in listing.content
    change = client.get(reverse("admin:integrations_integrationtoken_change", args=[token.pk]))
    assert change.status_code == 200 and raw.encode() not in change.content
    # when the DPO revokes it from the list
    client.post(
        reverse("admin:integrations_integrationtoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == dpo
    client.logout()
    assert _feed(client, raw).status_code == 401


def test_admin_refuses_a_token_beyond_the_owners_rights(client, dpo, approver):
    client.force_login(dpo)
    response = client.post(
        reverse("admin:integrations_integrationtoken_add"),
        {
            "name": "SIEM",
            "owner": approver.pk,
            "scopes": ["audit"],
            "expires_at": (datetime.now(tz=UTC) + timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert response.status_code == 200
    assert b"may not use scope" in response.content
    assert not IntegrationToken.objects.exists()


def test_admin_tokens_cannot_be_deleted_and_staff_cannot_see_them(client, dpo, approver):
    token, _ = _issue(UserFactory(username="aud2", groups=["Auditors"]))
    client.force_login(dpo)
    delete = reverse("admin:integrations_integrationtoken_delete", args=[token.pk])
    assert client.get(delete).status_code == 403
    client.force_login(approver)
    listing = client.get(reverse("admin:integrations_integrationtoken_changelist"))
    assert listing.status_code == 403


def test_the_integrations_app_imports_no_other_app_of_the_project():
    # so that audit (and any later app) may use it without a cycle
    from pathlib import Path

    import apps.integrations

    root = Path(apps.integrations.__file__).parent
    for source in root.rglob("*.py"):
        for line in source.read_text().splitlines():
            if line.startswith(("from apps.", "import apps.")):
                assert line.split()[1].startswith("apps.integrations"), (source, line)
