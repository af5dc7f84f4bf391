"""The portal's groups and their model permissions.

Each app declares what its groups may do as ``group_permissions`` on its AppConfig
(``{"DPO": ["app_label.codename", ...]}``), so this module imports none of them.
"""

from __future__ import annotations

from django.apps import apps as django_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

DPO = "DPO"
APPROVERS = "Approvers"
STAFF = "Staff"
AUDITORS = "Auditors"
ALL_GROUPS = (DPO, APPROVERS, STAFF, AUDITORS)


def declared_group_permissions() -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {name: set() for name in ALL_GROUPS}
    for config in django_apps.get_app_configs():
        for group, perms in getattr(config, "group_permissions", {}).items():
            wanted.setdefault(group, set()).update(perms)
    return wanted


def _permissions_by_name(dotted: set[str]) -> dict[str, Permission]:
    """The permissions named ``app_label.codename`` that exist, in one query."""
    labels = {name.split(".", 1)[0] for name in dotted}
    codenames = {name.split(".", 1)[1] for name in dotted}
    found = Permission.objects.filter(
        content_type__app_label__in=labels, codename__in=codenames
    ).select_related("content_type")
    every = {f"{perm.content_type.app_label}.{perm.codename}": perm for perm in found}
    return {name: perm for name, perm in every.items() if name in dotted}


def groups_sync(*, verbosity: int = 0) -> dict[str, int]:
    """Create the groups and give each exactly the permissions the apps declare.

    The models' permissions are created first when a declared one is missing (a database
    flushed without its post-migrate step). Returns ``{group name: number of permissions}``;
    raises ``LookupError`` naming a declared permission no model has."""
    wanted = declared_group_permissions()
    declared = set().union(*wanted.values())
    found = _permissions_by_name(declared)
    if len(found) < len(declared):
        for config in django_apps.get_app_configs():
            if config.models_module is not None:
                create_permissions(config, verbosity=0)
        found = _permissions_by_name(declared)
    counts: dict[str, int] = {}
    for name, perms in wanted.items():
        for dotted in sorted(perms):
            if dotted not in found:
                raise LookupError(f"Permission {dotted} declared for group {name} does not exist")
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([found[dotted] for dotted in sorted(perms)])
        counts[name] = len(perms)
    return counts
