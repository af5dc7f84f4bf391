"""Shared fixtures. Services the tests need are used for real when they answer.

- PostgreSQL: used when DATABASE_URL is set or it answers on 127.0.0.1:5432; tests marked
  ``postgres`` are skipped otherwise.
- Redis: used when REDIS_URL is set or it answers on 127.0.0.1:6379; tests marked ``redis``
  are skipped otherwise.
- Chromium: tests marked ``browser`` need Debian's ``chromium`` and the ``playwright`` package.
"""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import UserFactory


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in item.keywords:
            if shutil.which("chromium") is None:
                item.add_marker(
                    pytest.mark.skip(
                        reason="needs Chromium: apt-get install chromium (as .ci/run does)"
                    )
                )
            else:
                try:
                    import playwright  # noqa: F401
                except ImportError:
                    item.add_marker(pytest.mark.skip(reason="needs: pip install playwright"))
        if "redis" in item.keywords and not getattr(settings, "REDIS_AVAILABLE", False):
            item.add_marker(
                pytest.mark.skip(reason="needs Redis: start it on 127.0.0.1:6379 or set REDIS_URL")
            )


@pytest.fixture(autouse=True)
def _skip_without_postgres(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: run it on 127.0.0.1:5432 (user postgres) or set DATABASE_URL"
        )


@pytest.fixture
def groups(db):
    from apps.inventory.roles import groups_sync

    groups_sync()


@pytest.fixture
def dpo(groups):
    return UserFactory(username="dpo", groups=["DPO"], is_staff=True)


@pytest.fixture
def approver(groups):
    return UserFactory(username="approver", groups=["Approvers"], is_staff=True)


@pytest.fixture
def staff_user(groups):
    return UserFactory(username="staff", groups=["Staff"])


@pytest.fixture
def auditor(groups):
    return UserFactory(username="auditor", groups=["Auditors"], is_staff=True)


@pytest.fixture(autouse=True)
def _broker_pause_cleared():
    """Each test starts with the broker tried again (a failed publish pauses the process)."""
    from jitportal.tasking import broker_pause_clear

    broker_pause_clear()
    yield
    broker_pause_clear()


@pytest.fixture(autouse=True)
def _organisation_language():
    """Each test starts in the organisation's language: a request in another language (the
    test client runs views in the test's own thread) does not leak into the next test."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def _chromium_of_the_module():
    """One headless Chromium for the browser tests of a module (a launch takes seconds);
    tests take it through ``tests.e2e.test_browser.browser``, which closes their contexts.

    Playwright's sync API keeps an event loop in this thread while it is open, so Django's
    ORM calls made by the tests (and the flush after a transactional test) in between are
    allowed for the module's lifetime; they are still synchronous."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as p:
            chromium = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()
