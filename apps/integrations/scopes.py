"""The registry of token scopes. Each app that serves integrations registers its own.

A scope names what a token may be used for and the Django permissions its owner must hold,
checked each time the token is used (a token never carries more than its owner may do).
Planned scopes: ``audit`` (the SIEM feed, registered by apps.audit), later ``request``,
``decide`` and ``read``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Scope:
    """``name``: the word in a token's scope list; ``permissions``: "app_label.codename"."""

    name: str
    description: str | Promise
    permissions: tuple[str, ...]


_SCOPES: dict[str, Scope] = {}


def scope_register(*, name: str, description: str | Promise, permissions: tuple[str, ...]) -> Scope:
    """Register (or re-register, idempotently) a scope; raises ValueError on a conflict."""
    scope = Scope(name=name, description=description, permissions=tuple(permissions))
    known = _SCOPES.get(name)
    if known is not None and known != scope:
        raise ValueError(f"Scope {name!r} is already registered differently.")
    _SCOPES[name] = scope
    return scope


def scope_get(name: str) -> Scope | None:
    return _SCOPES.get(name)


def scopes_all() -> list[Scope]:
    return sorted(_SCOPES.values(), key=lambda s: s.name)


def scope_choices() -> list[tuple[str, str]]:
    return [(s.name, f"{s.name}: {s.description}") for s in scopes_all()]
