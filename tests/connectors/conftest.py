"""Fixtures of the connector tests that several files share: the MariaDB target, and the
webhooks app's local HTTP receiver."""

from tests.connectors.mariadb_support import mariadb_target  # noqa: F401
from tests.webhooks.conftest import local_targets, receiver  # noqa: F401
