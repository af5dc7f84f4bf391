"""Fixtures of the connector tests: a real PostgreSQL target (``pgtarget``), a target and
a binding of the customer-records asset to its ``customers`` table; the MariaDB target
(``mariadb_support``) and the webhooks app's local HTTP receiver."""

from __future__ import annotations

import os

import pytest

from apps.connectors.models import Target, TargetBinding
from tests.connectors import pgtarget
from tests.connectors.mariadb_support import mariadb_target  # noqa: F401
from tests.factories import DataAssetFactory
from tests.webhooks.conftest import local_targets, receiver  # noqa: F401

TARGET_DB = "jp_h7_target"
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
    with cluster.superuser() as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                [PREFIX.replace("_", "\\_") + "%"],
            )
        ]
        for name in names:
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


@pytest.fixture
def target_db(pg_cluster):
    """A fresh target database; its URL in the environment variable the target names."""
    pg_cluster.create_target_database(TARGET_DB)
    os.environ[URL_VARIABLE] = pg_cluster.portal_url(TARGET_DB)
    yield pg_cluster
    os.environ.pop(URL_VARIABLE, None)
    with pg_cluster.superuser() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TARGET_DB}" WITH (FORCE)')
    _drop_prefixed_roles(pg_cluster)


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
