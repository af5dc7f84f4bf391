"""Subscriptions: bad input refused with a clear message and nothing written; HTTPS to
public addresses only (server-side request forgery); the secret encrypted at rest."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from apps.audit.models import AuditEvent
from apps.webhooks.crypto import webhook_secret_decrypt
from apps.webhooks.models import WebhookSubscription
from apps.webhooks.services import (
    webhook_subscription_create,
    webhook_subscription_secret_rotate,
)
from apps.webhooks.targets import webhook_target_check

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hooks"  # an address literal: no DNS needed

STRICT = {
    "SECRET_KEYS": [],
    "ALLOW_HTTP": False,
    "ALLOW_PRIVATE_TARGETS": False,
    "MAX_TRIES": 4,
    "RETRY_SECONDS": 30,
    "RETRY_MAX_SECONDS": 3600,
    "SWEEP_EVERY_SECONDS": 30,
    "CA_FILE": "",
}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://93.184.215.14/hooks", "scheme"),
        ("ftp://93.184.215.14/", "scheme"),
        ("93.184.215.14/hooks", "scheme"),
        ("https://127.0.0.1/hooks", "private"),
        ("https://10.1.2.3/", "private"),
        ("https://192.168.0.10:8443/", "private"),
        ("https://169.254.169.254/latest/meta-data/", "private"),
        ("https://[::1]/", "private"),
        ("https://[::ffff:127.0.0.1]/", "private"),
        ("https://[fd00::1]/", "private"),
        ("https://0.0.0.0/", "private"),
        ("https://localhost/", "private"),
        ("https://user:pw@93.184.215.14/", "url"),
        ("https:///nohost", "url"),
        ("https://93.184.215.14:99999/", "url"),
        ("https://93.184.215.14/#frag", "url"),
        ("https://nowhere.invalid/", "unresolved"),
    ],
)
def test_targets_outside_the_rules_are_refused(url, code):
    # Given the production rules, when a URL is checked, then it is refused with its reason
    with override_settings(WEBHOOKS=STRICT), pytest.raises(ValidationError) as exc:
        webhook_target_check(url)
    assert exc.value.code == code
    assert exc.value.messages[0]


def test_a_public_https_address_is_allowed():
    with override_settings(WEBHOOKS=STRICT):
        target = webhook_target_check(PUBLIC + "?a=1")
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "93.184.215.14",
        443,
        "/hooks?a=1",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "SIEM\x1b[2J"}, "name"),
        ({"name": "\u200b"}, "name"),
        ({"url": "https://93.184.215.14/a b"}, "url"),
        ({"url": "https://93.184.215.14/\u202e"}, "url"),
        ({"url": "http://93.184.215.14/"}, "url"),
        ({"url": "https://127.0.0.1/"}, "url"),
        ({"event_types": ["grant.activated", "grant.everything"]}, "event_types"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": 31}, "timeout_seconds"),
    ],
)
def test_bad_subscription_input_is_refused_and_nothing_written(dpo, changes, field):
    # Given otherwise good values with one bad one
    values = {"name": "SIEM", "url": PUBLIC, "event_types": ["grant.activated"], **changes}
    # When a subscription is created, then the bad field is named and nothing is written
    with override_settings(WEBHOOKS=STRICT), pytest.raises(ValidationError) as exc:
        webhook_subscription_create(actor=dpo, **values)
    assert field in exc.value.message_dict
    assert not WebhookSubscription.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="webhooks.").exists()


def test_a_duplicate_name_and_a_user_without_permission_are_refused(dpo, staff_user):
    with override_settings(WEBHOOKS=STRICT):
        webhook_subscription_create(name="SIEM", url=PUBLIC, event_types=[], actor=dpo)
        with pytest.raises(ValidationError) as exc:
            webhook_subscription_create(name="SIEM", url=PUBLIC, event_types=[], actor=dpo)
        assert "name" in exc.value.message_dict
        with pytest.raises(PermissionDenied):
            webhook_subscription_create(name="Other", url=PUBLIC, event_types=[], actor=staff_user)
    assert WebhookSubscription.objects.count() == 1


def test_the_secret_is_stored_encrypted_and_rotation_replaces_it(dpo):
    # Given a new subscription
    with override_settings(WEBHOOKS=STRICT):
        sub, secret = webhook_subscription_create(
            name="SIEM", url=PUBLIC, event_types=["grant.ended"], actor=dpo
        )
    # Then the secret is not stored in the clear, and decrypts to what was shown
    assert secret.startswith("whsec_") and len(secret) > 40
    sub.refresh_from_db()
    assert secret not in sub.secret_encrypted
    assert webhook_secret_decrypt(sub.secret_encrypted) == secret
    assert sub.secret_hint == f"whsec_…{secret[-4:]}"
    # and the trail records the creation without the secret or the URL's path
    event = AuditEvent.objects.get(action="webhooks.subscription.created")
    assert secret not in str(event.data) and event.data["host"] == "93.184.215.14"
    # When it is rotated, then the new secret replaces the old one
    _sub, new = webhook_subscription_secret_rotate(subscription_id=sub.pk, actor=dpo)
    sub.refresh_from_db()
    assert new != secret and webhook_secret_decrypt(sub.secret_encrypted) == new


def test_secrets_follow_the_configured_keys(dpo):
    # Given secrets encrypted under a configured key
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(WEBHOOKS={**STRICT, "SECRET_KEYS": [old]}):
        sub, secret = webhook_subscription_create(
            name="SIEM", url=PUBLIC, event_types=[], actor=dpo
        )
    # When a new key is put first, the old one kept, the secret still decrypts
    with override_settings(WEBHOOKS={**STRICT, "SECRET_KEYS": [new, old]}):
        assert webhook_secret_decrypt(sub.secret_encrypted) == secret
    # and without the old key it cannot be read
    from apps.webhooks.crypto import SecretUnreadable

    with (
        override_settings(WEBHOOKS={**STRICT, "SECRET_KEYS": [new]}),
        pytest.raises(SecretUnreadable),
    ):
        webhook_secret_decrypt(sub.secret_encrypted)
