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
        if k
        not in {
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "DJANGO_SETTINGS_MODULE",
            "PORTAL_BASE_URL",
            "OTP_WEBAUTHN_RP_ID",
            "OTP_WEBAUTHN_ALLOWED_ORIGINS",
        }
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
    "PORTAL_BASE_URL": "https://jit.example.org",
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


def test_production_warns_when_links_would_point_elsewhere():
    # Given production settings whose PORTAL_BASE_URL is left at its development value,
    env = {k: v for k, v in GOOD.items() if k != "PORTAL_BASE_URL"}
    # when the deploy checks run, then they name the address and its security-key origin.
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "signin.W003" in result.stderr and "signin.W004" in result.stderr
    # And a base URL on a host ALLOWED_HOSTS does not accept is refused the same way.
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **{**GOOD, "PORTAL_BASE_URL": "https://other.example.org"},
    )
    assert "signin.W003" in result.stderr


@pytest.mark.parametrize(
    ("rp_id", "origins", "refused"),
    [
        ("jit.example.org", "https://jit.example.org", False),
        ("example.org", "https://jit.example.org", False),  # a registrable suffix
        ("jit.example.org", "https://example.org", True),  # the parent is not under it
        ("jit.example.org", "https://evil-jit.example.org", True),  # not a label boundary
        ("jit.example.org", "https://jit.example.org,https://old.example.net", True),
    ],
)
def test_security_key_origins_must_lie_under_the_relying_party_id(rp_id, origins, refused):
    # Given a relying party ID and the origins keys may be used from,
    env = {**GOOD, "OTP_WEBAUTHN_RP_ID": rp_id, "OTP_WEBAUTHN_ALLOWED_ORIGINS": origins}
    # when Django checks its settings, then an origin a browser would refuse is an error.
    result = _manage("check", **env)
    assert (result.returncode != 0) is refused, result.stderr
    assert ("signin.E004" in result.stderr) is refused
