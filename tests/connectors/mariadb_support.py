"""A real MariaDB target for the connector tests: a database of its own holding a table of
personal data, dropped afterwards, and a Target pointing at it through a setting.

MariaDB runs on 127.0.0.1:3306 (root, empty password) here and in CI; ``MARIADB_TEST_URL``
names another server. Tests are skipped with a reason when none answers.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import pymysql
import pytest

from apps.connectors.base import GrantContext
from apps.connectors.models import Target, TargetBinding

ADMIN_URL = os.environ.get("MARIADB_TEST_URL", "mysql://root@127.0.0.1:3306/")
URL_SETTING = "JITPORTAL_TEST_MARIADB_TARGET_URL"


def admin_connect(database: str | None = None) -> pymysql.connections.Connection:
    parts = urlsplit(ADMIN_URL)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=database,
        autocommit=True,
        connect_timeout=3,
    )


def login(user: str, password: str, database: str) -> pymysql.connections.Connection:
    parts = urlsplit(ADMIN_URL)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=user,
        password=password,
        database=database,
        autocommit=True,
        connect_timeout=3,
        read_timeout=5,
    )


@dataclass
class MariaDBTarget:
    """The test's database and the portal's target over it."""

    database: str
    target: Target

    def users(self) -> set[str]:
        with admin_connect() as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT User FROM mysql.user WHERE User LIKE %s",
                [self.target.account_prefix.replace("_", "\\_") + "%"],
            )
            return {row[0] for row in cursor.fetchall()}

    def bind(self, asset, tables=("customers",), privileges=None) -> TargetBinding:
        return TargetBinding.objects.create(
            target=self.target,
            asset=asset,
            schema=self.database,
            tables=list(tables),
            privileges=privileges or {},
        )

    def context(self, grant, *, actions=("view",), account: str | None = None) -> GrantContext:
        return GrantContext(
            grant_id=grant.pk,
            user_id=grant.user_id,
            username=grant.user.username,
            email=grant.user.email,
            starts_at=grant.starts_at,
            ends_at=grant.ends_at,
            actions=frozenset(actions),
            account=account or f"{self.target.account_prefix}g{grant.pk}_{secrets.token_hex(3)}",
            bindings=tuple(self.target.bindings.filter(asset__in=grant.assets.all())),
        )


@pytest.fixture
def mariadb_target(db, settings):
    """A fresh database with a ``customers`` table of personal data, and a report-only
    target with a prefix of its own; every user with that prefix is dropped afterwards."""
    try:
        admin = admin_connect()
    except pymysql.MySQLError as exc:
        pytest.skip(f"needs MariaDB on 127.0.0.1:3306 or MARIADB_TEST_URL ({exc.args[-1]})")
    tag = secrets.token_hex(3)
    database, prefix = f"jp_conn_{tag}", f"jpt{tag}_"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}`")
        cursor.execute(
            f"CREATE TABLE `{database}`.customers (id INT PRIMARY KEY, name VARCHAR(80), "
            "email VARCHAR(120))"
        )
        cursor.execute(
            f"INSERT INTO `{database}`.customers VALUES (1, 'Ada Lovelace', 'ada@example.org'), "
            "(2, 'Alan Turing', 'alan@example.org')"
        )
        cursor.execute(f"CREATE TABLE `{database}`.invoices (id INT PRIMARY KEY, total INT)")
    base = ADMIN_URL.rstrip("/")
    settings.JITPORTAL_TEST_MARIADB_TARGET_URL = f"{base}/{database}"
    target = Target.objects.create(
        name=f"MariaDB {tag}", kind="mariadb", url_setting=URL_SETTING, account_prefix=prefix
    )
    yield MariaDBTarget(database=database, target=target)
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT User, Host FROM mysql.user WHERE User LIKE %s",
            [prefix.replace("_", "\\_") + "%"],
        )
        for user, host in cursor.fetchall():
            cursor.execute("DROP USER %s@%s", [user, host])
        cursor.execute(f"DROP DATABASE `{database}`")
    admin.close()
