"""Production settings refuse to start without real configuration and pass check --deploy."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    base["DJANGO_SETTINGS_MODULE"] = "jitportal.settings.production"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


GOOD = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "jit.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/jitportal",
}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "Production needs SECRET_KEY"),
        ("ALLOWED_HOSTS", "Production needs ALLOWED_HOSTS"),
        ("DATABASE_URL", "Production needs DATABASE_URL"),
    ],
)
def test_production_refuses_to_start_without(missing, message):
    # given production settings with one required variable left out
    env = {k: v for k, v in GOOD.items() if k != missing}
    # when Django starts
    result = _manage("check", **env)
    # then it stops with a message naming what is missing
    assert result.returncode != 0
    assert message in result.stderr


def test_production_refuses_the_development_secret():
    env = {**GOOD, "SECRET_KEY": "django-insecure-jitportal-development-only-key-change-me"}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "Production needs SECRET_KEY" in result.stderr


def test_production_passes_the_deploy_checks_without_a_warning():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **GOOD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
