"""Test settings: PostgreSQL and Redis when they answer (as in CI), SQLite otherwise.

Tests that need PostgreSQL or Redis are marked and skipped with a reason when the service
is not there (see tests/conftest.py).
"""

import os
import socket
from datetime import timedelta
from pathlib import Path

from .base import *
from .base import BASE_DIR, env


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


if "DATABASE_URL" in os.environ:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
elif _answers("127.0.0.1", 5432):
    DATABASES = {"default": env.db_url_config("postgres://postgres@127.0.0.1:5432/jitportal")}
else:
    DATABASES = {"default": env.db_url_config(f"sqlite:///{BASE_DIR / 'var' / 'test.sqlite3'}")}

if "REDIS_URL" in os.environ:
    REDIS_URL = os.environ["REDIS_URL"]
    REDIS_AVAILABLE = True
else:
    REDIS_URL = "redis://127.0.0.1:6379/15"
    REDIS_AVAILABLE = _answers("127.0.0.1", 6379)
CELERY_BROKER_URL = REDIS_URL
# Tasks run in-process unless a test starts a real worker. Worker processes a test starts
# under these settings (tests/e2e/test_several_workers.py) are told their broker, that
# nothing runs eagerly and where mail goes through TEST_* variables.
CELERY_TASK_ALWAYS_EAGER = env.bool("TEST_CELERY_TASK_ALWAYS_EAGER", default=True)
if "TEST_CELERY_BROKER_URL" in os.environ:
    CELERY_BROKER_URL = os.environ["TEST_CELERY_BROKER_URL"]
    if not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_EAGER_PROPAGATES = True

# Tests travel in time with a signed-in client: no idle logout unless a test asks for it
# (tests/signin sets the default of base.py).
SESSION_IDLE_TIMEOUT = timedelta(days=365)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if "TEST_EMAIL_FILE_PATH" in os.environ:
    # One file per connection, readable by the test from another process.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["TEST_EMAIL_FILE_PATH"]
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not Django's shared-cache memory database: a real Celery worker or a second
    # connection then waits for a writer (busy timeout) instead of failing at once with
    # "database table is locked".
    _test_db = Path(DATABASES["default"]["NAME"]).with_suffix(".test.sqlite3")
    _test_db.parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db)}

# No collectstatic before the tests: whitenoise finds static files where they live.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
