"""The webhook tests' real receiver and subscription, for the given-up deliveries check."""

from tests.webhooks.conftest import local_targets, receiver, subscription  # noqa: F401
