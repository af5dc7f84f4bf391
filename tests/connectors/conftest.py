"""Fixtures of the connector tests that several files share."""

from tests.connectors.mariadb_support import mariadb_target  # noqa: F401
