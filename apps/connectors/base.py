"""The connector interface: what every kind of target implements (docs/connectors.md,
"Writing a connector").

A connector is constructed with its ``Target`` and acts on that one target:

- ``provision(context)``: make (or make again, idempotently) the account a grant needs, and
  return its name and, where the target has one, a one-time secret for the holder;
- ``refresh(context)``: apply a changed window (extended or shortened) to an existing account;
- ``deprovision(accounts)``: remove accounts in one batch, cutting their open sessions;
  accounts that are already gone are not an error (idempotent);
- ``observe()``: what the target holds under the portal's prefix (drift detection; a kind
  that cannot be asked sets ``observable = False``);
- ``check_binding(binding)`` and ``check_target()``: problems that refuse a save, each a
  ``Problem(field, message)`` in the reader's language.

Every method raises ``ConnectorError`` when the target refuses or cannot be reached; the
caller retries with backoff and never records a removal that raised.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from django.utils.translation import gettext

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from .models import Target, TargetBinding

#: The portal's actions a binding maps to a target's privileges (apps/access/policies.ACTIONS).
ACTIONS = ("view", "change", "export")


class ConnectorError(Exception):
    """The target refused or could not be reached. ``retryable``: whether trying again later
    may succeed (a target that is down) or not (a binding that names a missing table)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Problem:
    """Why a target or binding cannot be saved: the form field and a message for people."""

    field: str
    message: str


@dataclass(frozen=True)
class GrantContext:
    """What a connector needs to know of a grant (no model instances: plain values).

    ``account``: the account name the portal chose for this grant in this target (the target's
    prefix, ``g<grant id>_`` and a random suffix; stable across retries). ``actions``: the
    portal's actions the grant gives (a subset of ``ACTIONS``). ``bindings``: the target's
    bindings of the grant's assets. ``ends_at``: the grant's end (UTC, aware).
    """

    grant_id: int
    user_id: int
    username: str
    email: str
    starts_at: datetime
    ends_at: datetime
    actions: frozenset[str]
    account: str
    bindings: Sequence[TargetBinding] = field(default_factory=tuple)


@dataclass(frozen=True)
class ProvisionResult:
    """``account``: the name the target holds for the grant; ``secret``: a one-time secret
    (a password) the holder is shown once, or None where the target has none."""

    account: str
    secret: str | None = None


@dataclass(frozen=True)
class ObservedAccount:
    """An account the target holds under the portal's prefix, with what it is a member of
    (roles, groups) as the target names them."""

    name: str
    memberships: frozenset[str] = frozenset()


class Connector(ABC):
    """Base class of every connector; subclasses set ``kind``, ``label`` and ``guarantees``
    and implement the methods below. Register a subclass with ``registry.register``."""

    #: The value of ``Target.kind`` this connector serves ("postgresql").
    kind: ClassVar[str] = ""
    #: Its name for people (gettext_lazy).
    label: ClassVar[str | Promise] = ""
    #: What it promises about the end of access, for people (gettext_lazy); shown on the
    #: target's admin page and in docs/connectors.md.
    guarantees: ClassVar[str | Promise] = ""
    #: Whether a binding of this kind names a schema and tables (databases).
    uses_tables: ClassVar[bool] = False
    #: Whether the target needs a connection URL.
    needs_url: ClassVar[bool] = True
    #: What a grant's account in this target is, for its holder (gettext_lazy): "Database
    #: login", "Group membership"… The holder's page labels the account's name with it;
    #: every registered kind says its own (tests/connectors/test_labels.py).
    account_label: ClassVar[str | Promise] = ""
    #: Whether ``observe`` can tell what the target holds. False for a target that cannot
    #: be asked (a webhook endpoint): drift then says "not observable" instead of calling
    #: ``observe``, and never counts it as a failure or an alert.
    observable: ClassVar[bool] = True

    def __init__(self, target: Target) -> None:
        self.target = target

    @property
    def prefix(self) -> str:
        return self.target.account_prefix

    def connection_url(self) -> str:
        """The target's connection URL; ConnectorError (not retryable) when it is not set."""
        url = self.target.connection_url()
        if not url:
            raise ConnectorError(
                f"the connection URL setting {self.target.url_setting!r} is not set",
                retryable=False,
            )
        return url

    def url_setting_problems(self) -> list[Problem]:
        """What keeps the target from having a URL: no setting named, or nothing set under
        that name on this server (empty: the URL is there). The setting's value is never
        part of a message."""
        if not self.target.url_setting:
            return [Problem("url_setting", gettext("Name the setting that holds the URL."))]
        if not self.target.connection_url():
            return [
                Problem(
                    "url_setting",
                    gettext(
                        "Neither a setting nor an environment variable “%(name)s” is set on "
                        "this server."
                    )
                    % {"name": self.target.url_setting},
                )
            ]
        return []

    # -- to implement -------------------------------------------------------------------
    @abstractmethod
    def provision(self, context: GrantContext) -> ProvisionResult:
        """Open the grant's account (or bring it back in line with ``context``); the
        one-time secret, if any, only in the result. Raise ConnectorError on failure."""

    def refresh(self, context: GrantContext) -> None:
        """Apply the grant's current window to its existing account (default: nothing to
        do, for targets that keep no end of their own)."""
        return None

    @abstractmethod
    def deprovision(self, accounts: Sequence[str]) -> None:
        """Remove ``accounts`` (names this connector returned) and cut their sessions, all in
        one batch; names already gone are skipped. Raise ConnectorError if any remains."""

    @abstractmethod
    def observe(self) -> list[ObservedAccount]:
        """Every account the target holds whose name starts with the target's prefix."""

    def check_binding(self, binding: TargetBinding) -> list[Problem]:
        """Problems of a binding against the target's own catalogue (empty: fine)."""
        return []

    def check_target(self) -> list[Problem]:
        """Problems of the target itself (URL setting missing, unreachable)."""
        return []


def random_suffix(length: int = 6) -> str:
    """Lower-case letters and digits, from the operating system's random source."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def random_password(length: int = 32) -> str:
    """A password with about 190 bits of entropy, letters and digits only (safe in URLs and
    every client's quoting)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def account_name(prefix: str, grant_id: int) -> str:
    """The account a grant gets in a target: ``<prefix>g<grant id>_<6 random>`` (at most 63
    characters, PostgreSQL's identifier limit)."""
    return f"{prefix}g{grant_id}_{random_suffix()}"[:63]


def without_connection_secrets(text: str, url: str | None) -> str:
    """``text`` (a driver's error) with the connection URL and its password taken out, so an
    error shown on a page or kept on a row never repeats them (a driver may quote the
    connection string it could not parse)."""
    if not url:
        return text
    secrets = {url}
    try:
        parts = urlsplit(url)
        if parts.password:
            secrets.add(parts.password)
        if parts.username:
            secrets.add(f"{parts.username}:{parts.password}" if parts.password else parts.username)
    except ValueError:
        pass
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "<hidden>")
    return text
