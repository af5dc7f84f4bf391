"""Celery is set up to lose a worker without losing or doubling work (docs/deploy.md,
"Several workers"): late acknowledgement, a message given back when its worker process dies,
one message reserved at a time, and a Redis visibility timeout longer than any task may run,
refused at start-up otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _settings_of(**env: str) -> subprocess.CompletedProcess:
    """Load the base settings in a fresh interpreter with ``env`` and print the Celery
    configuration the worker would get."""
    code = (
        "import django; django.setup(); from jitportal.celery import app; c = app.conf; "
        "print(c.task_acks_late, c.task_reject_on_worker_lost, c.worker_prefetch_multiplier, "
        "c.worker_cancel_long_running_tasks_on_connection_loss, c.task_time_limit, "
        "c.broker_transport_options.get('visibility_timeout'))"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "TEST_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **keep,
            "DJANGO_SETTINGS_MODULE": "jitportal.settings.base",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_worker_acknowledges_late_reserves_one_message_and_outlives_no_visibility_timeout():
    # When the settings load with their defaults on Redis
    done = _settings_of()
    # Then messages are acknowledged after their task, given back when the worker process
    # dies, reserved one at a time, cancelled on a lost connection, and Redis waits 30
    # minutes past the hour a task may run before handing its message to another worker
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "1", "True", "3600", "5400"]


def test_a_time_limit_follows_the_visibility_timeout_up():
    done = _settings_of(CELERY_TASK_TIME_LIMIT="7200", CELERY_TASK_SOFT_TIME_LIMIT="7000")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["7200", "9000"]


@pytest.mark.parametrize("timeout", ["3600", "600"])
def test_a_visibility_timeout_not_longer_than_the_time_limit_is_refused(timeout):
    # When an operator sets a visibility timeout a task could outlive
    done = _settings_of(CELERY_BROKER_VISIBILITY_TIMEOUT=timeout)
    # Then nothing starts, and the message says what to change
    assert done.returncode != 0
    assert "CELERY_BROKER_VISIBILITY_TIMEOUT" in done.stderr
    assert "must be longer than CELERY_TASK_TIME_LIMIT (3600 s)" in done.stderr
