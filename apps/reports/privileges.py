"""Standing privileges: access to personal data that no live grant stands behind.

Just-in-time access exists to remove exactly these. Found, each as one finding:

- ``superuser``: active superusers pass every permission check;
- ``direct_permission``: permissions given to a user directly (not through a group) on the
  inventory, the governed demo data (crm) or any model a data asset governs;
- ``model_data_permission``: the asset-wide ``inventory.view_data/change_data/export_data``
  held as a model permission (directly or through a group), i.e. for every asset at once;
- ``orphan_object_permission``: a django-guardian object permission on a data asset with no
  live grant giving that right to that user now (the mirror should have been removed);
- ``group_object_permission``: a guardian object permission on a data asset given to a group
  (standing for every member; grants never create these);
- ``staff_governed_model_permission``: staff users who hold model permissions on governed
  rows (crm and governed models), directly or through a group.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from guardian.models import GroupObjectPermission, UserObjectPermission

from apps.access.models import Grant
from apps.inventory.models import DataAsset
from jitportal.inputs import parse_id

DATA_ACTIONS = ("view", "change", "export")
GOVERNED_APPS = ("crm",)

PRIVILEGE_COLUMNS: tuple[tuple[str, str | Promise], ...] = (
    ("kind", gettext_lazy("Finding")),
    ("who", gettext_lazy("User or group")),
    ("permission", gettext_lazy("Permission")),
    ("object", gettext_lazy("Object")),
    ("detail", gettext_lazy("Why it is standing")),
)

KIND_LABELS: dict[str, str | Promise] = {
    "superuser": gettext_lazy("Superuser"),
    "direct_permission": gettext_lazy("Direct user permission"),
    "model_data_permission": gettext_lazy("Asset-wide data permission"),
    "orphan_object_permission": gettext_lazy("Object permission without a live grant"),
    "group_object_permission": gettext_lazy("Group object permission on an asset"),
    "staff_governed_model_permission": gettext_lazy("Staff with governed-model permissions"),
}


def _governed_content_type_ids() -> set[int]:
    governed = set(
        DataAsset.objects.exclude(governed_model__isnull=True).values_list(
            "governed_model_id", flat=True
        )
    )
    governed |= set(
        ContentType.objects.filter(app_label__in=GOVERNED_APPS).values_list("pk", flat=True)
    )
    return governed


def _perm_label(perm: Permission) -> str:
    return f"{perm.content_type.app_label}.{perm.codename}"


def standing_privileges(*, now: datetime) -> list[dict[str, Any]]:
    """Every standing privilege found now, most serious first."""
    User = get_user_model()
    findings: list[dict[str, Any]] = []
    asset_ct = ContentType.objects.get_for_model(DataAsset)
    governed_ct_ids = _governed_content_type_ids()
    inventory_ct_ids = set(
        ContentType.objects.filter(app_label="inventory").values_list("pk", flat=True)
    )

    for user in User.objects.filter(is_active=True, is_superuser=True).order_by("username"):
        findings.append(
            {
                "kind": "superuser",
                "who": user.get_username(),
                "user_id": user.pk,
                "permission": _("all"),
                "object": _("everything"),
                "detail": _("a superuser passes every permission check, grant or not"),
            }
        )

    # Direct user permissions on the register and on governed rows.
    direct = (
        User.user_permissions.through.objects.filter(
            user__is_active=True,
            permission__content_type_id__in=governed_ct_ids | inventory_ct_ids,
        )
        .select_related("user", "permission__content_type")
        .order_by("user__username", "permission__content_type__app_label", "permission__codename")
    )
    for row in direct:
        findings.append(
            {
                "kind": "direct_permission",
                "who": row.user.get_username(),
                "user_id": row.user_id,
                "permission": _perm_label(row.permission),
                "object": str(row.permission.content_type),
                "detail": _("given to the user directly, outside any group or grant"),
            }
        )

    # Asset-wide data permissions as model permissions (via groups: direct ones are above).
    data_codenames = [f"{a}_data" for a in DATA_ACTIONS]
    data_perms = Permission.objects.filter(content_type=asset_ct, codename__in=data_codenames)
    GroupPerm = User.groups.through
    holders = (
        GroupPerm.objects.filter(user__is_active=True, group__permissions__in=data_perms)
        .values_list("user__username", "user_id", "group__name", "group__permissions__codename")
        .order_by("user__username", "group__name")
        .distinct()
    )
    for username, user_id, group, codename in holders:
        findings.append(
            {
                "kind": "model_data_permission",
                "who": username,
                "user_id": user_id,
                "permission": f"inventory.{codename}",
                "object": "every data asset",
                "detail": _("through group %(group)s: a model permission covers all assets at once")
                % {"group": group},
            }
        )

    # Guardian user object permissions on assets that no live grant gives now.
    live: set[tuple[int, int, str]] = set()
    for holder_id, granted_asset_id, *flags in Grant.assets.through.objects.filter(
        grant__starts_at__lte=now,
        grant__ends_at__gt=now,
        grant__revoked_at__isnull=True,
    ).values_list(
        "grant__user_id",
        "dataasset_id",
        "grant__can_view",
        "grant__can_change",
        "grant__can_export",
    ):
        live.update(
            (holder_id, granted_asset_id, action)
            for action, on in zip(DATA_ACTIONS, flags, strict=True)
            if on
        )
    # The grants' mirror uses guardian's generic tables (apps.access.services.mirror_add).
    object_perms = list(
        UserObjectPermission.objects.filter(
            content_type=asset_ct, permission__content_type=asset_ct
        )
        .select_related("user", "permission")
        .order_by("user__username", "object_pk", "permission__codename")
    )
    asset_names = _asset_names(
        {pk for p in object_perms if (pk := parse_id(str(p.object_pk))) is not None}
    )
    for perm in object_perms:
        action = perm.permission.codename.removesuffix("_data")
        asset_id: int | None = parse_id(str(perm.object_pk))
        if asset_id is not None and (perm.user_id, asset_id, action) in live:
            continue
        findings.append(
            {
                "kind": "orphan_object_permission",
                "who": perm.user.get_username(),
                "user_id": perm.user_id,
                "permission": f"inventory.{perm.permission.codename}",
                "object": asset_names.get(
                    asset_id, _("data asset #%(id)s") % {"id": perm.object_pk}
                ),
                "asset_id": asset_id,
                "detail": _("a django-guardian row with no live grant giving this right now"),
            }
        )

    group_perms = list(
        GroupObjectPermission.objects.filter(
            content_type=asset_ct, permission__content_type=asset_ct
        )
        .select_related("group", "permission")
        .order_by("group__name", "object_pk")
    )
    asset_names.update(
        _asset_names({pk for p in group_perms if (pk := parse_id(str(p.object_pk))) is not None})
    )
    members = _member_counts({p.group_id for p in group_perms})
    for group_perm in group_perms:
        group_asset_id = parse_id(str(group_perm.object_pk))
        findings.append(
            {
                "kind": "group_object_permission",
                "who": _("group %(group)s") % {"group": group_perm.group.name},
                "group_id": group_perm.group_id,
                "permission": f"inventory.{group_perm.permission.codename}",
                "object": asset_names.get(
                    group_asset_id, _("data asset #%(id)s") % {"id": group_perm.object_pk}
                ),
                "asset_id": group_asset_id,
                "detail": _("every member (%(n)s) holds it, no grant")
                % {"n": members.get(group_perm.group_id, 0)},
            }
        )

    # Staff with model permissions on governed rows, directly or through groups.
    governed_perms = Permission.objects.filter(content_type_id__in=governed_ct_ids)
    staff = (
        User.objects.filter(is_active=True, is_staff=True, is_superuser=False)
        .filter(Q(user_permissions__in=governed_perms) | Q(groups__permissions__in=governed_perms))
        .distinct()
        .order_by("username")
    )
    via: dict[int, set[str]] = defaultdict(set)
    for user_id, app_label, codename, group in (
        GroupPerm.objects.filter(group__permissions__in=governed_perms, user__in=staff)
        .values_list(
            "user_id",
            "group__permissions__content_type__app_label",
            "group__permissions__codename",
            "group__name",
        )
        .distinct()
    ):
        via[user_id].add(
            _("%(perm)s (group %(group)s)") % {"perm": f"{app_label}.{codename}", "group": group}
        )
    for user_id, app_label, codename in (
        User.user_permissions.through.objects.filter(permission__in=governed_perms, user__in=staff)
        .values_list("user_id", "permission__content_type__app_label", "permission__codename")
        .distinct()
    ):
        via[user_id].add(_("%(perm)s (direct)") % {"perm": f"{app_label}.{codename}"})
    for user in staff:
        findings.append(
            {
                "kind": "staff_governed_model_permission",
                "who": user.get_username(),
                "user_id": user.pk,
                "permission": "; ".join(sorted(via.get(user.pk, set()))),
                "object": _("governed personal data (all rows)"),
                "detail": _(
                    "a staff account with model permissions reaches every row in the "
                    "admin without a grant"
                ),
            }
        )
    return findings


def _asset_names(ids: set[int]) -> dict[int | None, str]:
    if not ids:
        return {}
    return {a.pk: str(a) for a in DataAsset.objects.filter(pk__in=ids).select_related("system")}


def _member_counts(group_ids: set[int]) -> dict[int, int]:
    if not group_ids:
        return {}
    counts: dict[int, int] = defaultdict(int)
    for group_id in (
        get_user_model()
        .groups.through.objects.filter(group_id__in=group_ids, user__is_active=True)
        .values_list("group_id", flat=True)
    ):
        counts[group_id] += 1
    return counts


def privileges_table(findings: list[dict[str, Any]]):
    yield [str(label) for _key, label in PRIVILEGE_COLUMNS]
    for f in findings:
        yield [str(KIND_LABELS[f["kind"]]), f["who"], f["permission"], f["object"], f["detail"]]
