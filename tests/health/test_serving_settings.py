"""Serving settings read from the environment: the admin's URL, who is mailed errors,
JSON log lines, static files in production, and what Sentry may receive."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import sentry_sdk

from jitportal.observability import init_sentry, scrub_event

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "jitportal.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "jit.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/jitportal",
}


def python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` after django.setup() in a fresh process with ``env`` added."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "ADMIN_URL", "LOG_FORMAT", "ADMINS", "SENTRY_DSN"}
    }
    base["DJANGO_SETTINGS_MODULE"] = "jitportal.settings.base"
    return subprocess.run(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{code}"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_admin_moves_to_admin_url():
    done = python(
        "from django.urls import reverse\n"
        "print(reverse('admin:index'), reverse('admin:access_accessrequest_changelist'))",
        ADMIN_URL="backoffice-7f3a/",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["/backoffice-7f3a/", "/backoffice-7f3a/access/accessrequest/"]


@pytest.mark.parametrize("value", ["/admin/", "admin", "", "/", "ad min/", "a//b/", "../x/"])
def test_a_malformed_admin_url_is_refused_at_start(value):
    done = python("", ADMIN_URL=value)
    assert done.returncode != 0
    assert "ADMIN_URL=" in done.stderr
    assert "ending in '/'" in done.stderr


@pytest.mark.parametrize("value", ["reports/", "health/x/", "static/"])
def test_an_admin_url_over_the_portals_own_pages_is_refused(value):
    done = python("", ADMIN_URL=value)
    assert done.returncode != 0
    assert "would hide the portal's own pages" in done.stderr


def test_admins_and_server_email_come_from_the_environment():
    done = python(
        "from django.conf import settings\n"
        "import json\n"
        "print(json.dumps([settings.ADMINS, settings.SERVER_EMAIL]))",
        ADMINS="Ops Team <ops@example.org>, dpo-tech@example.org",
        SERVER_EMAIL="jitportal <errors@example.org>",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        [["Ops Team", "ops@example.org"], ["dpo-tech@example.org", "dpo-tech@example.org"]],
        "jitportal <errors@example.org>",
    ]


def test_log_format_json_writes_one_json_object_a_line_and_skips_probe_errors():
    done = python(
        "import logging\n"
        "from django.test import RequestFactory\n"
        "logging.getLogger('apps.access').warning('grant %s expired', 7)\n"
        "rf = RequestFactory()\n"
        "logging.getLogger('django.request').error('Internal Server Error: /health/ready/',"
        " extra={'request': rf.get('/health/ready/'), 'status_code': 500})\n"
        "logging.getLogger('django.request').error('Internal Server Error: /x/',"
        " extra={'request': rf.get('/x/'), 'status_code': 500})\n",
        LOG_FORMAT="json",
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    messages = [(r["level"], r["logger"], r["message"]) for r in records]
    assert ("WARNING", "apps.access", "grant 7 expired") in messages
    # a failing health probe's 500 is the probe's news, not an error to mail or report
    assert ("ERROR", "django.request", "Internal Server Error: /x/") in messages
    assert not [m for m in messages if "/health/" in m[2]]
    assert all("time" in r for r in records)


def test_an_unknown_log_format_is_refused():
    done = python("", LOG_FORMAT="xml")
    assert done.returncode != 0
    assert "LOG_FORMAT='xml'" in done.stderr


def test_production_serves_hashed_compressed_static_files_through_whitenoise():
    done = python(
        "from django.conf import settings\n"
        "print(settings.STORAGES['staticfiles']['BACKEND'])\n"
        "print(settings.MIDDLEWARE[:2])",
        **PRODUCTION,
    )
    assert done.returncode == 0, done.stderr
    storage, middleware = done.stdout.splitlines()
    assert storage == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert middleware == str(
        [
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
        ]
    )


def test_sentry_is_started_by_sentry_dsn_without_personal_data():
    done = python(
        "import sentry_sdk\n"
        "options = sentry_sdk.get_client().options\n"
        "print(options['dsn'], options['send_default_pii'], options['before_send'].__name__)",
        SENTRY_DSN="https://public@sentry.invalid/1",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["https://public@sentry.invalid/1", "False", "scrub_event"]


def test_no_sentry_without_a_dsn():
    done = python("import sentry_sdk\nprint(sentry_sdk.get_client().is_active())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_scrub_event_keeps_the_error_and_drops_personal_data():
    event = {
        "exception": {"values": [{"type": "ValueError", "value": "bad window"}]},
        "request": {
            "url": "https://jit.example.org/request/",
            "method": "POST",
            "data": {"justification": "Ada Lovelace called"},
            "cookies": {"sessionid": "abc"},
            "query_string": "q=ada",
            "env": {"REMOTE_ADDR": "192.0.2.1"},
            "headers": {
                "Cookie": "sessionid=abc",
                "Authorization": "Bearer t",
                "X-Forwarded-For": "192.0.2.1",
                "User-Agent": "Firefox",
                "Accept-Language": "de",
                "Host": "jit.example.org",
            },
        },
        "user": {
            "id": "42",
            "email": "ada@example.org",
            "username": "ada",
            "ip_address": "192.0.2.1",
        },
    }
    scrubbed = scrub_event(event)
    assert scrubbed["exception"] == event["exception"]
    assert scrubbed["request"] == {
        "url": "https://jit.example.org/request/",
        "method": "POST",
        "headers": {"Accept-Language": "de", "Host": "jit.example.org"},
    }
    assert scrubbed["user"] == {"id": "42"}
    assert "ada" not in json.dumps(scrubbed).lower()


def test_an_event_sent_through_the_sdk_is_scrubbed():
    sent = []

    class Capture(sentry_sdk.transport.Transport):
        def capture_envelope(self, envelope):
            sent.append(envelope)

    email = "-".join(["ada", "lovelace"]) + "@example.org"  # not in the source context
    init_sentry(dsn="https://public@sentry.invalid/1", environment="test")
    client = sentry_sdk.get_client()
    client.transport = Capture(client.options)
    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_user({"id": 42, "email": email})
            scope.set_context("request", {})
            try:
                raise ValueError("bad window")
            except ValueError:
                sentry_sdk.capture_exception()
        sentry_sdk.flush()
    finally:
        sentry_sdk.init()  # no DSN: off again for the other tests
    [envelope] = sent
    event = envelope.get_event()
    assert event["user"] == {"id": 42}
    assert event["exception"]["values"][0]["value"] == "bad window"
    assert email not in json.dumps(event, default=str)
