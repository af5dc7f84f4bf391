"""One-time secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived with
HKDF-SHA256 (RFC 5869) from ``CONNECTORS["SECRET_KEY"]`` (or ``SECRET_KEY`` when empty).
A sealed secret lives only until its holder has seen it (docs/connectors.md)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _fernet() -> Fernet:
    material = (settings.CONNECTORS.get("SECRET_KEY") or settings.SECRET_KEY).encode()
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"jitportal connectors secrets"
    ).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> bytes:
    return _fernet().encrypt(secret.encode())


def unseal(sealed: bytes) -> str | None:
    """The secret, or None when the key changed since it was sealed."""
    try:
        return _fernet().decrypt(bytes(sealed)).decode()
    except InvalidToken:
        return None
