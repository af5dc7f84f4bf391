"""The identity provider's groups mapped to the portal's groups, and their sync at sign-in.

The mapping is the union of ``OIDC_GROUP_MAP`` (settings: a JSON object from the environment,
``{"idp-group": "Portal group"}`` or ``{"idp-group": ["Group", "Other group"]}``) and the
``GroupMapping`` rows the DPO edits in the admin.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from .models import GroupMapping, mapping_target_problem

logger = logging.getLogger(__name__)


def settings_mapping() -> dict[str, set[str]]:
    """``OIDC_GROUP_MAP`` as ``{idp group: {portal group names}}``.

    Raises ``ValueError`` for a value of the wrong shape or a target no mapping may name
    (the system check ``signin.E001`` reports the same at start-up).
    """
    raw: Any = getattr(settings, "OIDC_GROUP_MAP", {}) or {}
    if not isinstance(raw, dict):
        raise ValueError("OIDC_GROUP_MAP must be a JSON object")
    mapping: dict[str, set[str]] = {}
    for idp_group, targets in raw.items():
        names = [targets] if isinstance(targets, str) else targets
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"OIDC_GROUP_MAP[{idp_group!r}] must be a group name or a list")
        for name in names:
            problem = mapping_target_problem(name)
            if problem:
                raise ValueError(f"OIDC_GROUP_MAP[{idp_group!r}] → {name!r}: {problem}")
        mapping.setdefault(str(idp_group), set()).update(names)
    return mapping


def group_mapping() -> dict[str, set[str]]:
    """The whole mapping, settings and admin rows together: ``{idp group: {portal groups}}``."""
    mapping = settings_mapping()
    for idp_group, name in GroupMapping.objects.values_list("idp_group", "group__name"):
        mapping.setdefault(idp_group, set()).add(name)
    return mapping


def groups_sync(user: Any, idp_groups: Iterable[str]) -> tuple[set[str], set[str]]:
    """Put ``user`` in exactly the mapped portal groups its ``idp_groups`` call for.

    Only groups that some mapping names are added or removed; the user's other groups stay.
    A mapped group that does not exist in the portal is skipped (logged). ``is_staff`` follows
    the groups: true when the user is in one of ``SIGNIN_ADMIN_GROUPS`` (superusers keep it);
    ``is_superuser`` is never changed. Returns the names added and removed.
    """
    mapping = group_mapping()
    managed = set().union(*mapping.values()) if mapping else set()
    wanted: set[str] = set()
    for idp_group in idp_groups:
        wanted |= mapping.get(idp_group, set())
    existing = {g.name: g for g in Group.objects.filter(name__in=managed)}
    for missing in sorted(managed - existing.keys()):
        logger.warning("OIDC group mapping names a portal group that does not exist: %s", missing)
    with transaction.atomic():
        current = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
        add = {name for name in wanted - current if name in existing}
        remove = current - wanted
        if add:
            user.groups.add(*(existing[name] for name in add))
        if remove:
            user.groups.remove(*Group.objects.filter(name__in=remove))
        admin_groups = set(getattr(settings, "SIGNIN_ADMIN_GROUPS", ()))
        is_staff = user.is_superuser or user.groups.filter(name__in=admin_groups).exists()
        if user.is_staff != is_staff:
            user.is_staff = is_staff
            user.save(update_fields=["is_staff"])
    return add, remove
