"""The production stack, started as an operator starts it (docs/deploy.md, Dockerfile,
compose.yaml, deploy/systemd/): collectstatic, migrate, gunicorn, one Celery worker and one
beat, under ``jitportal.settings.production`` on PostgreSQL and Redis, over plain HTTP.

A staff member signs in and asks for access, an approver approves it in the admin (found at
ADMIN_URL, here not the default), the admin is styled by whitenoise's hashed, compressed,
long-cached files, beat and the worker expire the grant when its window closes, and both
health endpoints answer; with the broker's port closed, readiness fails naming the broker.

The stack gets a database of its own (``<DATABASE_URL's name>_stack_<pid>``, dropped at the
end) and the broker of the test run (REDIS_URL).
"""

from __future__ import annotations

import gzip
import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import environ
import psycopg
import pytest
from django.conf import settings

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# The commands of docs/deploy.md, the Dockerfile, compose.yaml and deploy/systemd/, exactly
# (tests/health/test_deploy_files.py checks that those files run these).
COLLECTSTATIC = ["python", "manage.py", "collectstatic", "--noinput"]
MIGRATE = ["python", "manage.py", "migrate", "--noinput"]
WEB = ["gunicorn"]
WORKER = ["celery", "-A", "jitportal", "worker", "--loglevel", "INFO"]
BEAT = ["celery", "-A", "jitportal", "beat", "--loglevel", "INFO"]
ADMIN_URL = "backoffice/"
PASSWORD = "stack-test-pass-7f3a"


def resolve(command: list[str]) -> list[str]:
    """The command with its program taken from this virtual environment."""
    return [str(BIN / command[0]), *command[1:]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the database of the stack --------------------------------------------------------------


def _admin_dsn() -> tuple[dict, str]:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jitportal")
    config = environ.Env.db_url_config(url)
    return config, url


def _connect(config: dict, name: str) -> psycopg.Connection:
    return psycopg.connect(
        dbname=name,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
    )


@pytest.fixture(scope="module")
def stack_db():
    config, url = _admin_dsn()
    name = f"{config['NAME']}_stack_{os.getpid()}"
    with _connect(config, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(url)
    yield {
        "url": urllib.parse.urlunsplit(parts._replace(path=f"/{name}")),
        "config": config,
        "name": name,
    }
    with _connect(config, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(stack_db, sql: str, *params):
    with _connect(stack_db["config"], stack_db["name"]) as conn:
        return conn.execute(sql, params).fetchall()


# --- the operator's environment and commands ------------------------------------------------


@pytest.fixture(scope="module")
def operator_env(stack_db, tmp_path_factory):
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "jitportal.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": stack_db["url"],
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.REDIS_URL,
            "STATIC_ROOT": str(tmp_path_factory.mktemp("static")),
            "ADMIN_URL": ADMIN_URL,
            # Sign-in with a password alone: the second factor is tested in tests/signin.
            "MFA_REQUIRED": "false",
            # Plain HTTP on the loopback: no TLS proxy in front (docs/deploy.md).
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            # Beat's reconcile every 5 seconds, so a grant's expiry is seen quickly.
            "JITPORTAL_RECONCILE_EVERY_SECONDS": "5",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "2",
            "CELERY_WORKER_CONCURRENCY": "1",
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run(command: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(
        resolve(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, **kwargs
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


SET_UP = """
import json
from django.contrib.auth.models import Group
from tests.access.factories import AccessRoleFactory
from tests.factories import DataAssetFactory, ProcessingActivityFactory, UserFactory
password = {password!r}
staff = UserFactory(username="stack-staff", groups=["Staff"])
staff.set_password(password); staff.save()
boss = UserFactory(username="stack-approver", groups=["Approvers"], is_staff=True)
boss.set_password(password); boss.save()
asset = DataAssetFactory(name="Stack customer records")
role = AccessRoleFactory(
    name="Stack support read", assets=[asset], approver_groups=[Group.objects.get(name="Approvers")],
    approve_by_asset_owner=False, approve_by_steward_group=False, require_justification=True,
)
activity = ProcessingActivityFactory(name="Stack customer support")
print(json.dumps({{"role": role.pk, "activity": activity.pk}}))
"""


@pytest.fixture(scope="module")
def prepared(operator_env):
    """What an operator runs once per release: static files, migrations; then the
    organisation's set-up (groups, two people, a role), as the DPO would make it."""
    run(COLLECTSTATIC, operator_env)
    run(MIGRATE, operator_env)
    run(["python", "manage.py", "setup_groups"], operator_env)
    out = run(
        ["python", "manage.py", "shell", "-c", SET_UP.format(password=PASSWORD)], operator_env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.running[name] = subprocess.Popen(
            resolve(command),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tails(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.logs / f'{name}.log').read_text()[-3000:]}"
            for name in self.running
        )

    def stop(self) -> None:
        for proc in self.running.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.running.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def answers(base: str) -> bool:
    try:
        return Client(base).request("/health/live/").status == 200
    except urllib.error.URLError:
        return False


def wait_until(check, timeout: float, what: str, processes: Processes) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        for name, proc in processes.running.items():
            assert proc.poll() is None, f"{name} exited\n{processes.tails()}"
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{processes.tails()}")


# --- a client that keeps cookies and does not follow redirects ------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode()


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.jar),
            _NoRedirect(),
        )

    def request(self, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        # Always http://127.0.0.1:<port> (self.base), never a scheme from outside.
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=30) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, err.headers, err.read())

    def submit(self, path: str, form: dict, **changes) -> Response:
        return self.request(path, {**form, **changes})

    def log_in(self, username: str) -> None:
        form = Forms.parse(self.request("/accounts/login/").text)[0]
        done = self.submit("/accounts/login/", form, username=username, password=PASSWORD)
        assert done.status == 302, done.text[:2000]


class Forms(HTMLParser):
    """The fields of each form on a page with the values a browser would send untouched
    (the first submit button's name counts as pressed)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._pressed = False

    @classmethod
    def parse(cls, html: str) -> list[dict]:
        parser = cls()
        parser.feed(html)
        return parser.forms

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({})
            self._pressed = False
        elif not self.forms:
            return
        form = self.forms[-1] if self.forms else {}
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button"):
                if not self._pressed:
                    form[name] = a.get("value", "")
                    self._pressed = True
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form[name] = a.get("value", "on")
            else:
                form[name] = a.get("value", "")
        elif tag == "button" and a.get("type", "submit") == "submit" and name:
            if not self._pressed:
                form[name] = a.get("value", "")
                self._pressed = True
        elif tag == "select" and name:
            self._select = name
            form.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            form[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            form[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1][self._textarea] += data


def form_with(html: str, field: str) -> dict:
    found = [form for form in Forms.parse(html) if field in form]
    assert found, f"no form with {field!r}"
    return found[0]


# --- the stack ------------------------------------------------------------------------------


@pytest.fixture
def stack(prepared, operator_env, tmp_path):
    port = free_port()
    env = {**operator_env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    processes = Processes(tmp_path)
    processes.start("web", WEB, env)
    processes.start("worker", WORKER, env)
    processes.start("beat", BEAT, env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(base), 60, "gunicorn", processes)
        yield {"base": base, "processes": processes, **prepared}
    finally:
        processes.stop()


def test_ask_approve_styled_admin_expiry_and_health(stack, stack_db):
    base, processes = stack["base"], stack["processes"]
    staff, boss = Client(base), Client(base)

    # given a staff member signed in, asking for the role for an hour
    staff.log_in("stack-staff")
    form = form_with(staff.request("/request/").text, "justification")
    asked = staff.submit(
        "/request/",
        form,
        target=f"role-{stack['role']}",
        start="now",
        duration="1",
        processing_activity=str(stack["activity"]),
        justification="Customer called about a wrong invoice",
    )
    assert asked.status == 302, asked.text[:3000]
    request_pk = int(re.search(r"/requests/(\d+)/$", asked.headers["Location"]).group(1))

    # when an approver opens the admin at ADMIN_URL: the page is styled by hashed, compressed,
    # long-cached static files served by gunicorn itself (whitenoise)
    boss.log_in("stack-approver")
    index = boss.request(f"/{ADMIN_URL}")
    assert index.status == 200, index.text[:2000]
    assert boss.request("/admin/").status == 404
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', index.text)
    assert css, "the admin links its stylesheet by its hashed name"
    sheet = boss.request(css.group(1), headers={"Accept-Encoding": "gzip"})
    assert sheet.status == 200
    assert "max-age=315360000" in sheet.headers["Cache-Control"]
    assert "immutable" in sheet.headers["Cache-Control"]
    assert sheet.headers["Content-Encoding"] == "gzip"
    assert b"body" in gzip.decompress(sheet.body)

    # and approves the request from the queue, the window ending in 50 seconds (to the
    # second: a form post, not a browser's minute-precision field)
    queue = boss.request(f"/{ADMIN_URL}access/accessrequest/queue/")
    assert queue.status == 200
    decide = re.search(rf'href="([^"]*/{request_pk}/decide/approve/[^"]*)"', queue.text)
    assert decide, queue.text[:3000]
    decide_path = decide.group(1).replace("&amp;", "&")
    page = boss.request(decide_path)
    assert page.status == 200, page.text[:2000]
    soon = (datetime.now(UTC) + timedelta(seconds=50)).replace(microsecond=0)
    approved = boss.submit(
        decide_path,
        form_with(page.text, "comment"),
        comment="Fine, for this call only",
        ends_at=soon.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    assert approved.status == 302, approved.text[:3000]
    [(grant_pk, ends_at)] = query(
        stack_db, "SELECT id, ends_at FROM access_grant WHERE request_id = %s", request_pk
    )
    assert ends_at == soon

    # then the worker activates the grant (a task after the approval), and the staff member
    # sees it live
    wait_until(
        lambda: (
            query(stack_db, "SELECT status FROM access_grant WHERE id = %s", grant_pk)[0][0]
            == "active"
        ),
        60,
        "the grant's activation",
        processes,
    )
    home = staff.request("/")
    assert home.status == 200 and f"#{grant_pk}" in home.text

    # and both health endpoints answer 200 while everything is up
    assert staff.request("/health/live/").status == 200
    ready = Client(base).request("/health/ready/", headers={"Accept": "application/json"})
    assert ready.status == 200, ready.text
    assert set(json.loads(ready.body).values()) == {"OK"}

    # when the window closes, beat's reconcile runs on the worker and expires the grant
    wait_until(
        lambda: (
            query(stack_db, "SELECT status FROM access_grant WHERE id = %s", grant_pk)[0][0]
            == "expired"
        ),
        (soon - datetime.now(UTC)).total_seconds() + 60,
        "the grant's expiry",
        processes,
    )
    assert query(
        stack_db,
        "SELECT count(*) FROM audit_auditevent WHERE action = 'access.grant.expired' "
        "AND actor_label = 'system:beat' AND target_id = %s",
        str(grant_pk),
    ) == [(1,)]
    # and the web process logs JSON lines, its access log without query strings
    assert staff.request("/?q=Ada+Lovelace").status == 200
    time.sleep(1)
    log = (processes.logs / "web.log").read_text()
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any(record["logger"] == "gunicorn.access" for record in records)
    assert "Lovelace" not in log
    worker_log = (processes.logs / "worker.log").read_text().splitlines()
    worker_records = [json.loads(line) for line in worker_log if line.startswith("{")]
    assert any(r["logger"].startswith("celery") for r in worker_records), worker_log[-20:]


def test_readiness_names_the_broker_when_its_port_is_closed(prepared, operator_env, tmp_path):
    # given the web process with the broker URL pointing at a closed port
    port = free_port()
    broker = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {
        **operator_env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "CELERY_BROKER_URL": broker,
        "REDIS_URL": broker,
    }
    processes = Processes(tmp_path)
    processes.start("web", WEB, env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(base), 60, "gunicorn", processes)
        # when the probes ask
        live = Client(base).request("/health/live/")
        ready = Client(base).request("/health/ready/", headers={"Accept": "application/json"})
    finally:
        processes.stop()
    # then the process is alive, but not ready, and the failing check is named
    assert live.status == 200
    assert ready.status in (500, 503), ready.text
    body = json.loads(ready.body)
    assert body["Broker()"].startswith("Unavailable: The broker does not answer"), body
    assert body["Database(alias='default')"] == "OK"
