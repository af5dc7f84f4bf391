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


def groups_sync(*, verbosity: int = 0) -> dict[str, int]:
    """Create the groups and give each exactly the permissions the apps declare."""
    for config in django_apps.get_app_configs():
        if config.models_module is not None:
            create_permissions(config, verbosity=0)
    counts: dict[str, int] = {}
    for name, perms in declared_group_permissions().items():
        group, _ = Group.objects.get_or_create(name=name)
        objs = []
        for dotted in sorted(perms):
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is None:
                raise LookupError(f"Permission {dotted} declared for group {name} does not exist")
            objs.append(perm)
        group.permissions.set(objs)
        counts[name] = len(objs)
    return counts
