"""What every database connector checks of a binding before it asks the target: the tables
are a list of names and the privilege map names actions and privileges the kind allows.

Database connectors call ``binding_shape_problems`` first and ask their catalogue only
when it returns nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext

from ..base import ACTIONS, Problem

#: Privileges each portal action maps to when a binding says nothing.
DEFAULT_PRIVILEGES: dict[str, list[str]] = {
    "view": ["SELECT"],
    "change": ["SELECT", "INSERT", "UPDATE", "DELETE"],
    "export": ["SELECT"],
}


def mapped_privileges(binding, action: str) -> list[str]:
    """The target privileges ``action`` maps to on ``binding`` (upper case), the default
    when the binding names none for it."""
    mapped = (binding.privileges or {}).get(action)
    chosen = mapped if mapped is not None else DEFAULT_PRIVILEGES[action]
    return [p.upper() for p in chosen]


def binding_shape_problems(binding, *, allowed: Iterable[str]) -> list[Problem]:
    """Problems of ``binding.tables`` and ``binding.privileges`` that need no target:
    tables must be a non-empty list of names, privileges a mapping of the portal's actions
    to lists drawn from ``allowed``."""
    allowed = frozenset(allowed)
    tables = binding.tables
    if (
        not isinstance(tables, list)
        or not tables
        or not all(isinstance(t, str) and t for t in tables)
    ):
        return [Problem("tables", gettext('List the tables, e.g. ["customers"].'))]
    privileges = binding.privileges or {}
    if not isinstance(privileges, dict):
        return [Problem("privileges", gettext("Give a mapping of action to privileges."))]
    problems = []
    for action, chosen in privileges.items():
        if action not in ACTIONS:
            problems.append(
                Problem(
                    "privileges",
                    gettext("“%(action)s” is not an action (view, change, export).")
                    % {"action": action},
                )
            )
        elif not isinstance(chosen, list) or any(
            not isinstance(p, str) or p.upper() not in allowed for p in chosen
        ):
            problems.append(
                Problem(
                    "privileges",
                    gettext("Privileges of “%(action)s” must be among %(allowed)s.")
                    % {"action": action, "allowed": ", ".join(sorted(allowed))},
                )
            )
    return problems
