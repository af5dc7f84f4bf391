"""Anonymisation strategies as SQL expressions, so a batch is one UPDATE, not a row loop.

The hash strategy is HMAC-SHA256 with the portal's hash secret, computed by the database:
on PostgreSQL from the built-in ``sha256(bytea)`` (no pgcrypto needed), on SQLite by a
function registered on each connection. ``keyed_hash()`` computes the same value in Python
(to look up a pseudonym, or to check one).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, Value, When
from django.db.models.functions import Left, Trunc
from django.utils import timezone

from .models import AnonymiseStrategy
from .periods import is_date_only

_BLOCK = 64  # SHA-256 block size in bytes
_DERIVE_LABEL = b"jitportal.retention.hash-secret"
SQLITE_HMAC_FUNCTION = "jitportal_hmac_sha256"


def hash_key() -> bytes:
    """JITPORTAL["HASH_SECRET"], or a key derived from SECRET_KEY when it is empty."""
    secret = settings.JITPORTAL.get("HASH_SECRET") or ""
    if secret:
        return secret.encode()
    return hmac.new(settings.SECRET_KEY.encode(), _DERIVE_LABEL, hashlib.sha256).digest()


@lru_cache(maxsize=4)
def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def keyed_hash(value: str, *, length: int | None = None, key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``value`` as lowercase hex, as the database computes it."""
    digest = hmac.new(key or hash_key(), value.encode(), hashlib.sha256).hexdigest()
    return digest[:length] if length else digest


def sqlite_hmac(key_hex: str, value: Any) -> str | None:
    if value is None:
        return None
    return keyed_hash(str(value), key=bytes.fromhex(key_hex))


class KeyedHash(models.Func):
    """HMAC-SHA256(key, expression) in hex; NULL stays NULL."""

    output_field = models.TextField()

    def __init__(self, expression: Any, *, key: bytes) -> None:
        super().__init__(expression)
        self.key = key

    def as_postgresql(self, compiler, connection, **extra):
        inner, outer = _pads(self.key)
        arg, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"ENCODE(SHA256(%s::bytea || SHA256(%s::bytea || CONVERT_TO(({arg})::text, 'UTF8'))),"
            " 'hex')"
        )
        return sql, (outer, inner, *params)

    def as_sqlite(self, compiler, connection, **extra):
        arg, params = compiler.compile(self.source_expressions[0])
        return f"{SQLITE_HMAC_FUNCTION}(%s, {arg})", (self.key.hex(), *params)

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError(
            f"The hash strategy is implemented for PostgreSQL and SQLite, not {connection.vendor}."
        )


def strategy_expression(field: models.Field, spec) -> Any:
    """The value (or SQL expression) ``spec`` writes into ``field``."""
    name = field.name
    if spec.strategy == AnonymiseStrategy.NULL:
        return Value(None, output_field=field)
    if spec.strategy == AnonymiseStrategy.FIXED:
        value = spec.value if spec.value == "" else field.to_python(spec.value)
        return Value(value, output_field=field)
    if spec.strategy == AnonymiseStrategy.HASH:
        hashed: Any = KeyedHash(models.F(name), key=hash_key())
        if field.max_length is not None and field.max_length < 64:
            hashed = Left(hashed, field.max_length)
        # Empty stays empty (an empty value identifies nobody); NULL stays NULL.
        whens = [When(**{name: ""}, then=Value(""))]
        if field.null:
            whens.insert(0, When(**{f"{name}__isnull": True}, then=Value(None)))
        return Case(*whens, default=hashed, output_field=field)
    if spec.strategy == AnonymiseStrategy.TRUNCATE_DATE:
        return Trunc(name, spec.truncate_to, output_field=field)
    raise ValueError(f"unknown strategy {spec.strategy!r}")


def update_values(model: type[models.Model], specs, *, marker: str, at: datetime) -> dict:
    """Field -> expression for one anonymising UPDATE, including the marker field."""
    fields = {f.name: f for f in model._meta.concrete_fields}
    values = {spec.field_name: strategy_expression(fields[spec.field_name], spec) for spec in specs}
    marker_field = fields[marker]
    stamp = timezone.localtime(at).date() if is_date_only(marker_field) else at
    values[marker] = Value(stamp, output_field=marker_field)
    return values
