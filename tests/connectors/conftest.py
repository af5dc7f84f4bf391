"""Fixtures of the connector tests: a real PostgreSQL target (``pgtarget``), a target and
a binding of the customer-records asset to its ``customers`` table; the MariaDB target
(``mariadb_support``) and the webhooks app's local HTTP receiver."""

from __future__ import annotations

import os

import psycopg
import pytest

from apps.connectors.models import Target, TargetBinding
from tests.connectors import pgtarget
from tests.connectors.mariadb_support import mariadb_target  # noqa: F401
from tests.factories import DataAssetFactory, UserFactory
from tests.webhooks.conftest import local_targets, receiver  # noqa: F401

TARGET_DB = "jp_connector_target"
URL_VARIABLE = "JITPORTAL_TEST_TARGET_URL"
PREFIX = "jpt_"


@pytest.fixture(scope="session")
def pg_cluster():
    if not pgtarget.available():
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_ctl)")
    cluster = pgtarget.start()
    yield cluster
    cluster.stop()


def _drop_prefixed_roles(cluster) -> None:
    with cluster.superuser(TARGET_DB) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                [PREFIX.replace("_", "\\_") + "%"],
            )
        ]
    # The privileges the portal's user granted are revoked by it (a superuser's REVOKE and
    # DROP OWNED leave grants made by another grantor in place).
    with psycopg.connect(cluster.portal_url(TARGET_DB), autocommit=True) as conn:
        for name in names:
            conn.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{name}"')
            conn.execute(f'REVOKE ALL ON SCHEMA public FROM "{name}"')
    with cluster.superuser(TARGET_DB) as conn:
        for name in names:
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE "{name}"')


@pytest.fixture(scope="session")
def _target_database(pg_cluster):
    pg_cluster.create_target_database(TARGET_DB)
    return pg_cluster


@pytest.fixture
def target_db(_target_database):
    """The target database with its two customers as created; its URL in the environment
    variable the target names; every role with the test prefix dropped afterwards."""
    cluster = _target_database
    with cluster.superuser(TARGET_DB) as conn:
        conn.execute("TRUNCATE customers RESTART IDENTITY")
        conn.execute(
            "INSERT INTO customers (name, email, birth_date) VALUES "
            "('Ada Lovelace', 'ada@example.org', '1815-12-10'), "
            "('Alan Turing', 'alan@example.org', '1912-06-23')"
        )
    os.environ[URL_VARIABLE] = cluster.portal_url(TARGET_DB)
    yield cluster
    os.environ.pop(URL_VARIABLE, None)
    _drop_prefixed_roles(cluster)


@pytest.fixture
def pg_target(target_db, db):
    return Target.objects.create(
        name="CRM database",
        kind="postgresql",
        url_setting=URL_VARIABLE,
        authoritative=True,
        account_prefix=PREFIX,
        options={"host": "127.0.0.1", "port": target_db.port},
    )


@pytest.fixture
def bound_asset(pg_target):
    asset = DataAssetFactory(name="Customer records")
    TargetBinding.objects.create(
        target=pg_target,
        asset=asset,
        schema="public",
        tables=["customers"],
        privileges={"view": ["SELECT"], "change": ["SELECT", "UPDATE"], "export": ["SELECT"]},
    )
    return asset


@pytest.fixture
def staff2(groups):
    return UserFactory(username="staff2", groups=["Staff"])
