"""What the connector benchmarks share: a target database on the benchmark server, a
target and binding pointing at it, and grants with provisioned roles, made in bulk."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from _support import PG_URL, _on_server

URL_VARIABLE = "JITPORTAL_BENCH_TARGET_URL"


def target_database(name: str) -> str:
    """Create database ``name`` with a ``customers`` table; return its URL (also put in
    ``URL_VARIABLE``)."""
    import psycopg

    _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = f"{PG_URL}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text, email text)")
        conn.execute("INSERT INTO customers (name, email) VALUES ('Ada', 'ada@example.org')")
    os.environ[URL_VARIABLE] = url
    return url


def drop_target_database(name: str, prefix: str) -> None:
    """Drop the target database and every role with ``prefix`` (roles are cluster-wide)."""
    import psycopg

    _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        like = prefix.replace("_", "\\_") + "%"
        for (role,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", [like]):
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def target_and_asset(prefix: str) -> tuple[Any, Any]:
    from apps.connectors.models import Target, TargetBinding
    from apps.inventory.models import DataAsset, System

    system = System.objects.create(name="Bench system")
    asset = DataAsset.objects.create(system=system, name="Customers")
    target = Target.objects.create(
        name="Bench target",
        kind="postgresql",
        url_setting=URL_VARIABLE,
        authoritative=True,
        account_prefix=prefix,
    )
    TargetBinding.objects.create(
        target=target, asset=asset, schema="public", tables=["customers"], privileges={}
    )
    return target, asset


def grants(asset: Any, count: int, *, ends_at: Any, starts_at: Any = None) -> list[int]:
    """``count`` active grants of ``count`` users on ``asset`` (bulk inserts); their ids."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.access.models import AccessRequest, Grant, GrantStatus, RequestStatus

    now = timezone.now()
    starts_at = starts_at or now - timedelta(minutes=5)
    user_model = get_user_model()
    first = user_model.objects.count()
    users = user_model.objects.bulk_create(
        [user_model(username=f"bench-{first + i}", password="!") for i in range(count)]
    )
    requests = AccessRequest.objects.bulk_create(
        [
            AccessRequest(
                requester=u,
                asset=asset,
                starts_at=starts_at,
                ends_at=ends_at,
                justification="bench",
                status=RequestStatus.APPROVED,
                created_at=now,
            )
            for u in users
        ]
    )
    made = Grant.objects.bulk_create(
        [
            Grant(
                request=r,
                user=u,
                starts_at=starts_at,
                ends_at=ends_at,
                status=GrantStatus.ACTIVE,
                created_at=now,
            )
            for r, u in zip(requests, users, strict=True)
        ]
    )
    Grant.assets.through.objects.bulk_create(
        [Grant.assets.through(grant=g, dataasset=asset) for g in made]
    )
    return [g.pk for g in made]
