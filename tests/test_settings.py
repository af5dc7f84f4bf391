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


def _on_off_variables() -> list[tuple[str, str]]:
    """Every variable the settings read as on/off, with the settings module reading it,
    found in their source, so that a new one is walked too."""
    import re

    found: set[tuple[str, str]] = set()
    for path in sorted((ROOT / "jitportal" / "settings").glob("*.py")):
        module = "production" if path.stem == "base" else path.stem
        for name in re.findall(r"""env\.bool\(\s*["']([A-Z0-9_]+)["']""", path.read_text()):
            found.add((module, name))
    return sorted(found)


def _load_settings(module: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", *env}}
    return subprocess.run(
        [sys.executable, "-c", f"import jitportal.settings.{module}"],
        cwd=ROOT,
        env={**base, **GOOD, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_on_off_variable_is_walked():
    # the walk below finds the safeguards an operator switches with a word
    names = {name for _module, name in _on_off_variables()}
    assert {"MFA_REQUIRED", "PASSWORD_SIGNIN", "WEBHOOK_ALLOW_PRIVATE_TARGETS"} <= names


@pytest.mark.parametrize(("module", "name"), _on_off_variables())
def test_an_on_off_variable_with_another_word_stops_the_start(module, name):
    # given the settings that read an on/off variable, and a typo in it
    # when the settings are loaded
    result = _load_settings(module, **{name: "ture"})
    # then the start stops, naming the variable and the words it takes
    assert result.returncode != 0
    assert f"{name}='ture' is neither on nor off" in result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("on", True), ("TRUE", True), (" yes ", True), ("1", True)],
        *[("off", False), ("False", False), ("no", False), ("0", False), ("", True)],
    ],
)
def test_an_on_off_variable_takes_the_on_off_words(raw, expected):
    # given MFA_REQUIRED (default on in production) set to an on/off word, or empty
    probe = "import jitportal.settings.production as s; print(s.MFA_REQUIRED)"
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    # when the settings are loaded
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**base, **GOOD, "MFA_REQUIRED": raw},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then the word is read as on or off; empty means the default
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(expected)
