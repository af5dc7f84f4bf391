"""The demo's connector: when PostgreSQL answers, the "Customers" asset is bound to a demo
target database holding a ``customers`` table, so a newcomer can ask for access, be approved,
connect with ``psql`` using the password shown once on "My access", and watch the login fail
after the end (docs/connectors.md; on a server whose pg_hba.conf trusts local logins the
password is not checked, so use a server that asks for one to see VALID UNTIL at work).

Idempotent: the database, table, target and binding are made once.
"""

from __future__ import annotations

import contextlib
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from psycopg import sql

from apps.connectors.models import Target, TargetBinding
from apps.inventory.models import DataAsset

#: The setting (or environment variable) holding the demo target's URL.
URL_SETTING = "JITPORTAL_DEMO_TARGET_URL"
TARGET_NAME = "Demo CRM database"

ROWS = [
    ("Ada Lovelace", "ada@example.org", "+44 20 7946 0000"),
    ("Alan Turing", "alan@example.org", "+44 161 496 0000"),
    ("Grace Hopper", "grace@example.org", "+1 202 555 0100"),
]


def _log(stdout: TextIO | None, message: str) -> None:
    if stdout is not None:
        stdout.write(f"  {message}\n")


def _ensure_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True, connect_timeout=2) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if found is None:
            # Made meanwhile by another run: fine.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS customers (id serial PRIMARY KEY, name text NOT NULL, "
            "email text NOT NULL, phone text)"
        )
        if conn.execute("SELECT count(*) FROM customers").fetchone() == (0,):
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO customers (name, email, phone) VALUES (%s, %s, %s)", ROWS
                )


def load_connectors_demo(*, stdout: TextIO | None = None) -> dict[str, Any]:
    """Bind the demo's "Customers" asset to the demo target when PostgreSQL answers."""
    url = getattr(settings, URL_SETTING, "") or ""
    if not url:
        _log(stdout, f"{URL_SETTING} is empty: no demo target.")
        return {"target": None}
    try:
        _ensure_database(url)
    except psycopg.Error as exc:
        _log(stdout, f"PostgreSQL did not answer ({type(exc).__name__}): no demo target.")
        return {"target": None}
    asset = DataAsset.objects.filter(system__name="CRM", name="Customers").first()
    if asset is None:
        _log(stdout, "No “Customers” asset: no demo target.")
        return {"target": None}
    target, created = Target.objects.get_or_create(
        name=TARGET_NAME,
        defaults={
            "kind": "postgresql",
            "url_setting": URL_SETTING,
            "authoritative": True,
            "account_prefix": "jpdemo_",
        },
    )
    TargetBinding.objects.get_or_create(
        target=target,
        asset=asset,
        defaults={
            "schema": "public",
            "tables": ["customers"],
            "privileges": {"view": ["SELECT"], "export": ["SELECT"]},
        },
    )
    _log(
        stdout,
        f"{TARGET_NAME}: “Customers” bound to table customers ({'new' if created else 'kept'}).",
    )
    return {"target": target.pk}
