"""The demo loaders expect the default taxonomy, as the inventory tests do."""

from tests.inventory.conftest import _default_taxonomy  # noqa: F401 (a session fixture)
