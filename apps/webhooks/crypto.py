"""Subscription secrets: generated, encrypted at rest, decrypted only to sign.

A receiver verifies an HMAC with the same secret, so the portal must be able to read it back:
it is encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under
``WEBHOOKS["SECRET_KEYS"]`` (the first key encrypts, every key decrypts, so keys can be
rotated), or under a key derived from ``SECRET_KEY`` when none is set (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
_DERIVED_LABEL = b"jitportal.webhooks.secret-key"


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    keys = [k for k in settings.WEBHOOKS.get("SECRET_KEYS") or [] if k]
    if not keys:
        derived = hmac.new(settings.SECRET_KEY.encode(), _DERIVED_LABEL, hashlib.sha256).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def webhook_secret_generate() -> str:
    """A new secret: ``whsec_`` and 32 random bytes, URL-safe base64 (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def webhook_secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def webhook_secret_decrypt(token: str) -> str:
    """The secret in the clear; raises SecretUnreadable when no configured key opens it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable(str(exc)) from exc


def webhook_secret_hint(secret: str) -> str:
    """What the admin shows of a secret: its prefix and last four characters."""
    return f"{SECRET_PREFIX}…{secret[-4:]}"
