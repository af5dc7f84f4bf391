"""The django-guardian mirror of grants: object-permission rows for what grants give.

Access is decided from grant times at the moment of use (``backends.GrantBackend``); these
rows only let code that asks guardian see the same rights (docs/architecture.md,
invariants 1 and 5). The bulk statements here serve the reconcile as well as the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.utils import timezone
from guardian.models import UserObjectPermission

from apps.inventory.models import DataAsset

from ..models import Grant
from ..policies import ACTIONS


def _data_perm_ids() -> dict[str, int]:
    ct = ContentType.objects.get_for_model(DataAsset)
    found = dict(
        Permission.objects.filter(
            content_type=ct, codename__in=[f"{a}_data" for a in ACTIONS]
        ).values_list("codename", "pk")
    )
    return {a: found[f"{a}_data"] for a in ACTIONS}


def _grant_rights(grant_ids: Iterable[int]) -> list[tuple[int, int, str]]:
    """(user_id, asset_id, action) for every right the given grants give."""
    rows = Grant.assets.through.objects.filter(grant_id__in=list(grant_ids)).values_list(
        "grant__user_id",
        "dataasset_id",
        "grant__can_view",
        "grant__can_change",
        "grant__can_export",
    )
    out: list[tuple[int, int, str]] = []
    for user_id, asset_id, *flags in rows:
        out.extend(
            (user_id, asset_id, action) for action, on in zip(ACTIONS, flags, strict=True) if on
        )
    return out


def mirror_add(*, grant_ids: Iterable[int]) -> int:
    """Write the guardian object-permission rows the grants give (existing rows are kept)."""
    rights = _grant_rights(grant_ids)
    if not rights:
        return 0
    perm_ids = _data_perm_ids()
    ct = ContentType.objects.get_for_model(DataAsset)
    rows = [
        UserObjectPermission(
            user_id=user_id,
            content_type=ct,
            object_pk=str(asset_id),
            permission_id=perm_ids[action],
        )
        # In one order everywhere: two batches inserting the same rows at once wait for
        # each other instead of deadlocking.
        for user_id, asset_id, action in sorted(set(rights))
    ]
    UserObjectPermission.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    return len(rows)


def _in_ids(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """SQL for "``column`` is one of ``ids``" and its parameters.

    On PostgreSQL the ids travel as one array parameter: a thousand placeholders cost more
    to build, send and parse than the rows they name. Elsewhere, one placeholder per id.
    """
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _grants_update(ids: list[int], **values: Any) -> int:
    """``Grant.objects.filter(pk__in=ids).update(**values)`` with the ids sent as one array
    on PostgreSQL (see ``_in_ids``): the bulk paths update a thousand grants at a time."""
    if not ids:
        return 0
    qn = connection.ops.quote_name
    where, params = _in_ids(qn(Grant._meta.pk.column), ids)
    assignments, new = [], []
    for name, value in values.items():
        field = Grant._meta.get_field(name)
        if not isinstance(field, models.Field) or not field.column:
            raise TypeError(f"{name} is not a column of a grant.")
        assignments.append(f"{qn(field.column)} = %s")
        new.append(field.get_db_prep_value(value, connection))
    columns = ", ".join(assignments)
    with connection.cursor() as cursor:
        cursor.execute(
            # Names come from the model's meta, values are parameters.
            f"UPDATE {qn(Grant._meta.db_table)} SET {columns} WHERE {where}",  # noqa: S608
            [*new, *params],
        )
        return cursor.rowcount


def mirror_remove(*, grant_ids: Iterable[int], now: datetime | None = None) -> int:
    """Delete the guardian rows of the given grants, except a right on an asset that another
    grant of the same user still gives at ``now`` (docs/architecture.md, invariant 5: the last one to end wins).

    One statement whatever the number of grants: the rights the grants give (user, asset,
    permission) less those another live grant gives, deleted through guardian's unique
    (user, permission, object) index.
    """
    ids = list(grant_ids)
    if not ids:
        return 0
    at = connection.ops.adapt_datetimefield_value(now or timezone.now())
    perm_ids = _data_perm_ids()
    ct = ContentType.objects.get_for_model(DataAsset)
    qn = connection.ops.quote_name
    grant_t, link_t = qn(Grant._meta.db_table), qn(Grant.assets.through._meta.db_table)
    rights = " UNION ALL ".join(f"SELECT %s AS permission_id, '{a}' AS action" for a in ACTIONS)
    gives = (
        "CASE {alias}.action "
        + " ".join(f"WHEN '{a}' THEN {{grant}}.can_{a}" for a in ACTIONS)
        + " END"
    )
    # The batch is named on both sides of the join, so PostgreSQL walks both by index
    # instead of scanning the whole (ever growing) link table for a thousand rows.
    in_batch, in_batch_params = _in_ids("ga.grant_id", ids)
    in_batch_g, in_batch_g_params = _in_ids("g.id", ids)
    other, other_params = _in_ids("o.id", ids)
    guardian_t = qn(UserObjectPermission._meta.db_table)
    # Rows are locked in id order before they go: two workers expiring grants of the same
    # person and asset at once (each its own batch) then wait for each other instead of
    # deadlocking (PostgreSQL; SQLite has one writer at a time).
    lock_in_order = "ORDER BY id FOR UPDATE" if connection.vendor == "postgresql" else ""
    # Names come from the models' meta and ACTIONS, values are parameters.
    sql = f"""
        DELETE FROM {guardian_t} WHERE id IN (
          SELECT id FROM {guardian_t}
          WHERE content_type_id = %s AND (user_id, object_pk, permission_id) IN (
            SELECT g.user_id, CAST(ga.dataasset_id AS varchar(255)), p.permission_id
            FROM {grant_t} g
            JOIN {link_t} ga ON ga.grant_id = g.id
            JOIN ({rights}) p ON {gives.format(alias="p", grant="g")}
            WHERE {in_batch} AND {in_batch_g}
              AND NOT EXISTS (
                SELECT 1 FROM {grant_t} o
                JOIN {link_t} oa ON oa.grant_id = o.id
                WHERE o.user_id = g.user_id AND oa.dataasset_id = ga.dataasset_id
                  AND o.starts_at <= %s AND o.ends_at > %s AND o.revoked_at IS NULL
                  AND NOT ({other})
                  AND {gives.format(alias="p", grant="o")}
              )
          )
          {lock_in_order}
        )
    """  # noqa: S608
    params = [
        ct.pk,
        *(perm_ids[a] for a in ACTIONS),
        *in_batch_params,
        *in_batch_g_params,
        at,
        at,
        *other_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
