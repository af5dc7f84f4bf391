from __future__ import annotations

import pytest

from tests.signin import oidc


@pytest.fixture(scope="session")
def _oidc_provider_process(tmp_path_factory):
    if not oidc.node_available():
        pytest.skip(oidc.NODE_MISSING)
    oidc.install()
    provider = oidc.start_provider(tmp_path_factory.mktemp("oidc-provider"))
    yield provider
    provider.stop()


@pytest.fixture
def oidc_provider(_oidc_provider_process, settings):
    """A real OpenID provider, and the portal configured to use it (through discovery)."""
    provider = _oidc_provider_process
    provider.accounts = {}
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    return provider
