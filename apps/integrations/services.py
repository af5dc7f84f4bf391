"""Issuing, revoking and checking integration tokens.

Tokens are bearer credentials (RFC 6750): whoever holds one may use it, so the secret is
shown once, stored only as a SHA-256 digest (256 random bits need no slow hash; OWASP
Secrets Management), compared in constant time, and checked on every use against its
expiry, its revocation, its scopes, its owner being active and its owner's permissions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jitportal.inputs import checks_text, line_of

from .models import IntegrationToken
from .scopes import scope_get
from .signals import integration_token_created, integration_token_revoked

TOKEN_PREFIX = "jpt_"  # noqa: S105 - the marker every token starts with, not a secret
_PREFIX_LEN = 10
# jpt_ + 10 hex digits + _ + the secret (token_urlsafe(32): 43 characters of base64url).
_TOKEN_SHAPE = re.compile(r"jpt_([0-9a-f]{10})_[A-Za-z0-9_-]{43}")


class TokenInputError(ValueError):
    """A token cannot be issued as asked; the message says why."""


# Why a presented token is refused: a code (kept wherever the refusal is passed on or kept)
# and its message, translated when it is shown, in the language active then (the reader's).
TOKEN_REFUSALS: dict[str, Promise] = {
    "malformed": gettext_lazy("The token is malformed."),
    "unknown": gettext_lazy("The token is not known."),
    "revoked": gettext_lazy("The token was revoked."),
    "expired": gettext_lazy("The token has expired."),
    "owner_inactive": gettext_lazy("The token's owner is inactive."),
    "scope_missing": gettext_lazy("The token lacks the “%(scope)s” scope."),
    "owner_lacks_scope": gettext_lazy(
        "The token's owner no longer holds what the “%(scope)s” scope needs."
    ),
    "owner_lacks_permissions": gettext_lazy(
        "The token's owner no longer holds what the “%(scope)s” scope needs (%(permissions)s)."
    ),
}


@dataclass
class TokenRefused(Exception):
    """A presented token is refused.

    ``error`` is the RFC 6750 section 3.1 code: ``invalid_token`` (unknown, malformed,
    expired, revoked, owner inactive: answer 401) or ``insufficient_scope`` (answer 403).
    ``code`` says why (a key of ``TOKEN_REFUSALS``) and ``params`` fill its message;
    ``message`` is that message in the active language, made when it is read.
    """

    error: str
    code: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(TOKEN_REFUSALS[self.code]) % self.params

    def __str__(self) -> str:
        return self.message


def token_digest(raw: str) -> str:
    """SHA-256 hex digest of the whole token text."""
    return hashlib.sha256(raw.encode()).hexdigest()


def token_max_lifetime() -> timedelta:
    return timedelta(days=settings.JITPORTAL["INTEGRATION_TOKEN_MAX_DAYS"])


def token_scopes_check(*, owner: Any, scopes: list[str]) -> list[str]:
    """Validate scope names and that ``owner`` holds what each needs; returns them sorted.

    Raises TokenInputError naming an unknown scope or the first permission the owner lacks.
    """
    if not scopes:
        raise TokenInputError(_("Choose at least one scope."))
    for name in scopes:
        scope = scope_get(name)
        if scope is None:
            raise TokenInputError(_("Unknown scope “%(scope)s”.") % {"scope": name})
        missing = [p for p in scope.permissions if not owner.has_perm(p)]
        if missing:
            raise TokenInputError(
                _(
                    "%(user)s may not use scope “%(scope)s”: it needs the %(permissions)s "
                    "permission, which they do not hold."
                )
                % {"user": owner.get_username(), "scope": name, "permissions": ", ".join(missing)}
            )
    return sorted(set(scopes))


@checks_text(name=line_of(IntegrationToken, "name"))
def integration_token_create(
    *,
    owner: Any,
    name: str,
    scopes: list[str],
    expires_at: datetime,
    created_by: Any = None,
    now: datetime | None = None,
) -> tuple[IntegrationToken, str]:
    """Issue a token; returns (row, the token text). The text is not kept: show it once.

    Raises TokenInputError when the owner is inactive, a scope is unknown or beyond the
    owner's permissions, the name is blank, or the expiry is not in the future or lies
    beyond JITPORTAL_INTEGRATION_TOKEN_MAX_DAYS.
    """
    now = now or timezone.now()
    name = (name or "").strip()
    if not name:
        raise TokenInputError(_("Give the token a name (what uses it)."))
    if len(name) > 100:
        raise TokenInputError(_("The name is longer than 100 characters."))
    if not owner.is_active:
        raise TokenInputError(
            _("%(user)s is inactive and cannot own a token.") % {"user": owner.get_username()}
        )
    if expires_at <= now:
        raise TokenInputError(_("The expiry must be in the future."))
    if expires_at > now + token_max_lifetime():
        raise TokenInputError(
            _("A token may last at most %(days)d days (JITPORTAL_INTEGRATION_TOKEN_MAX_DAYS).")
            % {"days": token_max_lifetime().days}
        )
    scopes = token_scopes_check(owner=owner, scopes=scopes)
    for _attempt in range(5):
        prefix = secrets.token_hex(_PREFIX_LEN // 2)
        raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic(durable=True):
                token = IntegrationToken.objects.create(
                    name=name,
                    owner=owner,
                    prefix=prefix,
                    digest=token_digest(raw),
                    scopes=scopes,
                    created_at=now,
                    created_by=created_by,
                    expires_at=expires_at,
                )
                integration_token_created.send(
                    sender=IntegrationToken, token=token, actor=created_by
                )
        except IntegrityError:  # the prefix was taken: draw again
            continue
        return token, raw
    raise RuntimeError("could not draw a unique token prefix")


def integration_token_revoke(*, token_id: int, actor: Any = None) -> bool:
    """Revoke a token now; returns False if it was already revoked (nothing changes).

    Raises IntegrationToken.DoesNotExist for an unknown id."""
    with transaction.atomic(durable=True):
        locked = IntegrationToken.objects.select_for_update().get(pk=token_id)
        if locked.revoked_at is not None:
            return False
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.save(update_fields=["revoked_at", "revoked_by"])
        integration_token_revoked.send(sender=IntegrationToken, token=locked, actor=actor)
    return True


def integration_token_authenticate(*, raw: str, scope: str) -> IntegrationToken:
    """The live token for ``raw`` if it may be used for ``scope`` now; records its last use.

    Raises TokenRefused (``invalid_token``: malformed, unknown, revoked, expired, owner
    inactive; ``insufficient_scope``: the scope is not the token's, or the owner no longer
    holds the permissions the scope needs).
    """
    shape = _TOKEN_SHAPE.fullmatch((raw or "").strip())
    if shape is None:
        raise TokenRefused("invalid_token", "malformed")
    raw, prefix = shape.group(0), shape.group(1)
    token = IntegrationToken.objects.select_related("owner").filter(prefix=prefix).first()
    # Compare even when no row matched so that timing does not tell known prefixes apart.
    expected = token.digest if token is not None else "0" * 64
    if not hmac.compare_digest(expected, token_digest(raw)) or token is None:
        raise TokenRefused("invalid_token", "unknown")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused("invalid_token", "revoked")
    if token.expires_at <= now:
        raise TokenRefused("invalid_token", "expired")
    if not token.owner.is_active:
        raise TokenRefused("invalid_token", "owner_inactive")
    if scope not in token.scopes:
        raise TokenRefused("insufficient_scope", "scope_missing", {"scope": scope})
    needed = scope_get(scope)
    missing = [p for p in (needed.permissions if needed else ()) if not token.owner.has_perm(p)]
    if needed is None or missing:
        if missing:
            raise TokenRefused(
                "insufficient_scope",
                "owner_lacks_permissions",
                {"scope": scope, "permissions": ", ".join(missing)},
            )
        raise TokenRefused("insufficient_scope", "owner_lacks_scope", {"scope": scope})
    IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    return token
