"""Several workers, two beats, a worker killed: every effect happens exactly once.

Three real `celery worker` processes (prefork, one pool process each) under the test
settings, on this run's PostgreSQL test database, take a backlog of 20,000 grant expiries,
5 purge runs and 2,000 email notices from the broker (Redis, then RabbitMQ), while two
`celery beat` processes (django-celery-beat's DatabaseScheduler, a failover gone wrong)
both send the reconcile and the purge schedule. The pool process executing a purge is
SIGKILLed mid-run (``task_reject_on_worker_lost`` gives its message back at once), and a
whole worker (its main process and pool) in the middle of the reconcile while the expiry
backlog is being worked off (the broker gets its message back: RabbitMQ at once, Redis after
the visibility timeout; beat's next ticks do the work meanwhile).

Then, exactly once: one ``access.grant.expired`` event per grant, guardian rows kept exactly
where a live grant still gives them, one email per notice (the filebased backend, counted
across processes), every doomed customer deleted once and every kept one still there, the
purge runs' totals adding up to the rows deleted (a killed run's committed batches counted
in the run it was closed as), and the audit chain intact.

Fixtures are loaded with set-based SQL (a few seconds) while the workers start; each
broker's run takes 45 to 75 s on two cores (the more they are shared, the longer), most of
it the 2,200 notice messages.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")

USERS = 2_000
ASSETS = 10
EXPIRING = USERS * ASSETS  # 20,000 grants whose window has ended, one (user, asset) each
NOTICES = USERS  # one notice per live grant, one live grant per user
DUPLICATE_MESSAGES = 200  # access.notify messages sent twice
COUNTRIES = ["FR", "DE", "ES", "IT", "NL"]  # one retention rule each: 5 purge runs
DOOMED = 1_000  # closed customers past retention, per rule
KEPT = 200  # per rule: recent or still active
PURGE_BATCH = 20
DEADLINE = 300.0  # seconds for all of it

AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/jitportal_test")


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=0.5
        ):
            return True
    except OSError:
        return False


def _amqp_ready() -> str | None:
    """None when RabbitMQ takes AMQP_URL (its vhost made with rabbitmqctl if missing),
    else why not."""
    from kombu import Connection

    if not _answers(AMQP_URL, 5672):
        return "needs RabbitMQ on 127.0.0.1:5672 (or TEST_AMQP_URL)"
    try:
        with Connection(AMQP_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return None
    except Exception as exc:
        vhost = urlsplit(AMQP_URL).path.lstrip("/") or "/"
        tool = "/usr/sbin/rabbitmqctl" if Path("/usr/sbin/rabbitmqctl").exists() else None
        if tool is None:
            return f"RabbitMQ refused {AMQP_URL} ({exc}); create vhost {vhost!r}"
        user = urlsplit(AMQP_URL).username or "guest"
        subprocess.run([tool, "add_vhost", vhost], capture_output=True, check=False)
        subprocess.run(
            [tool, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
            capture_output=True,
            check=False,
        )
        try:
            with Connection(AMQP_URL, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
        except Exception as again:
            return f"RabbitMQ refused {AMQP_URL}: {again}"
        return None


# --- the fixtures, in set-based SQL ---------------------------------------------------------


def load_backlog() -> dict[str, object]:
    """Users, assets, 20,000 ended grants still active and mirrored, 2,000 live grants on
    the same (user, asset 0) pairs with one pending notice each, and the customers of five
    retention rules. Returns what the assertions need."""
    from apps.crm.models import Customer
    from apps.inventory.models import DataAsset, System
    from tests.retention.factories import make_rule

    system = System.objects.create(name="Backlog system")
    DataAsset.objects.bulk_create(
        [DataAsset(system=system, name=f"Backlog asset {i:02d}") for i in range(ASSETS)]
    )
    ct = ContentType.objects.get_for_model(DataAsset)
    perm = Permission.objects.get(content_type=ct, codename="view_data")
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', false, 'w-' || n, '', '', 'w' || n || '@example.org', false, true, now()
            FROM generate_series(0, %s - 1) AS n
            """,
            [USERS],
        )
        c.execute(
            "CREATE TEMP TABLE bl_users AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS i "
            "FROM auth_user WHERE username LIKE 'w-%%'"
        )
        c.execute(
            "CREATE TEMP TABLE bl_assets AS SELECT id, row_number() OVER (ORDER BY id) - 1 "
            "AS i FROM inventory_dataasset WHERE system_id = %s",
            [system.pk],
        )
        for label, starts, ends, count in (
            ("ended", "now() - interval '3 hours'", "now() - interval '1 hour'", EXPIRING),
            ("live", "now() - interval '1 hour'", "now() + interval '4 hours'", USERS),
        ):
            # Grant n: user n mod USERS, asset n div USERS (the live ones: asset 0).
            c.execute(
                f"""
                INSERT INTO access_accessrequest (requester_id, asset_id, starts_at, ends_at,
                    justification, ticket, is_break_glass, status, approvals_required,
                    dpo_required, policy_snapshot, created_at, decision_comment, decision_code)
                SELECT u.id, a.id, {starts}, {ends}, '{label}', '', false, 'approved', 1,
                       false, '{{}}'::jsonb, now(), '', ''
                FROM generate_series(0, %s - 1) AS n
                JOIN bl_users u ON u.i = n %% %s
                JOIN bl_assets a ON a.i = n / %s
                ORDER BY n
                """,
                [count, USERS, USERS],
            )
        c.execute(
            """
            INSERT INTO access_grant (request_id, user_id, can_view, can_change, can_export,
                starts_at, ends_at, status, revoke_reason, revoke_code, is_break_glass,
                needs_review, mirrored, expiry_warned_at, created_at)
            SELECT r.id, r.requester_id, true, false, false, r.starts_at, r.ends_at, 'active',
                   '', '', false, false, true, now(), now()
            FROM access_accessrequest r ORDER BY r.id
            """
        )
        c.execute(
            "INSERT INTO access_grant_assets (grant_id, dataasset_id) SELECT g.id, r.asset_id "
            "FROM access_grant g JOIN access_accessrequest r ON r.id = g.request_id"
        )
        c.execute(
            """
            INSERT INTO guardian_userobjectpermission (object_pk, content_type_id,
                permission_id, user_id)
            SELECT DISTINCT ga.dataasset_id::text, %s, %s, g.user_id
            FROM access_grant g JOIN access_grant_assets ga ON ga.grant_id = g.id
            """,
            [ct.pk, perm.pk],
        )
        c.execute(
            """
            INSERT INTO access_notice (kind, object_id, status, tries, last_error, created_at,
                next_try_at)
            SELECT 'grant_expiring', g.id, 'pending', 0, '', now(), now() - interval '1 minute'
            FROM access_grant g WHERE g.ends_at > now() ORDER BY g.id
            """
        )
        # Per country: DOOMED closed customers idle for 8 years, KEPT that stay (half
        # recent, half still active).
        c.execute(
            """
            INSERT INTO crm_customer (external_ref, full_name, email, phone, address, country,
                status, health_notes, created_at, last_activity_at)
            SELECT 'BL-' || c.code || '-' || n, 'Customer ' || n, '', '', '', c.code,
                   CASE WHEN n >= %(doomed)s + %(kept)s / 2 THEN 'active' ELSE 'closed' END,
                   '', now() - interval '9 years',
                   CASE WHEN n >= %(doomed)s AND n < %(doomed)s + %(kept)s / 2
                        THEN now() - interval '1 year' ELSE now() - interval '8 years' END
            FROM unnest(%(codes)s::text[]) AS c(code),
                 generate_series(0, %(doomed)s + %(kept)s - 1) AS n
            """,
            {"doomed": DOOMED, "kept": KEPT, "codes": COUNTRIES},
        )
        c.execute("ANALYZE")
    rules = [
        make_rule(
            name=f"Backlog customers {code}",
            filter={"status": "closed", "country": code},
            batch_size=PURGE_BATCH,
        )
        for code in COUNTRIES
    ]
    assert Customer.objects.count() == len(COUNTRIES) * (DOOMED + KEPT)
    return {"asset0": DataAsset.objects.filter(system=system).order_by("pk")[0].pk, "rules": rules}


def schedule_beat() -> None:
    """Beat's two entries, every 2 and 3 seconds (a test flush drops the migrations' rows)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    for name, task, every in (
        ("access: reconcile grants and requests", "access.reconcile", 2),
        ("retention: run due purges", "apps.retention.tasks.purge_due_rules", 3),
    ):
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "crontab": None}
        )
    PeriodicTasks.update_changed()


# --- the processes ---------------------------------------------------------------------------


def database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


TASK_LINE = re.compile(r"Task ([\w.]+)\[[0-9a-f-]+\] (received|succeeded|raised|failed)")


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


class Stack:
    """Three workers and two beats, each its own process group with its own log."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.poll: psycopg.Connection | None = None  # the test's one watching connection
        # The task each worker is executing, from its log (``follow``).
        self.current: dict[str, str | None] = {}
        self._read: dict[str, int] = {}

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            [CELERY, "-A", "jitportal", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def follow(self) -> None:
        """Read the workers' new log lines: a worker reserves one message at a time (one
        pool process, prefetch 1), so the last task it received and has not finished is
        the one it is executing."""
        for name in self.workers():
            with (self.logs / f"{name}.log").open("rb") as log:
                log.seek(self._read.get(name, 0))
                text = log.read()
            text = text[: text.rfind(b"\n") + 1]
            self._read[name] = self._read.get(name, 0) + len(text)
            for task, state in TASK_LINE.findall(text.decode(errors="replace")):
                self.current[name] = task if state == "received" else None

    def workers(self) -> list[str]:
        return [name for name in self.procs if name.startswith("worker")]

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        for name in self.workers():
            while "ready." not in self.log(name):
                assert self.procs[name].poll() is None, self.log(name)[-3000:]
                assert time.monotonic() < deadline, f"{name} not ready:\n{self.log(name)[-3000:]}"
                time.sleep(0.2)

    def worker_of(self, pid: int) -> str | None:
        """The worker whose main process is ``pid`` or its parent."""
        for name in self.workers():
            if self.procs[name].pid in (pid, _ppid(pid)):
                return name
        return None

    def stop(self) -> None:
        if self.poll is not None:
            self.poll.close()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()  # the main process only: a warm shutdown
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def broker_app(url: str):
    from celery import Celery

    app = Celery("several-workers-test", broker=url, set_as_current=False)
    app.conf.update(task_serializer="json", accept_content=["json"], broker_connection_timeout=5)
    return app


def broker_clear(app, url: str) -> None:
    """No message of an earlier run (a killed worker's, given back late) stays behind."""
    try:
        app.control.purge()
    except Exception as exc:  # RabbitMQ: no queue yet (the first run on a new vhost)
        if "NOT_FOUND" not in str(exc):
            raise
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url)
        client.delete("unacked", "unacked_index", "unacked_mutex")


# --- the test ------------------------------------------------------------------------------


def _running_purges(conn: psycopg.Connection) -> list[tuple[int, int]]:
    return conn.execute(
        # Early in the run: still running a moment later, when the signal arrives.
        "SELECT id, pid FROM retention_purgerun "
        "WHERE status = 'running' AND NOT dry_run AND batches < %s",
        [DOOMED // PURGE_BATCH // 3],
    ).fetchall()


def _expired(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM access_grant WHERE status = 'expired'").fetchone()[0]


def _outstanding(conn: psycopg.Connection) -> dict[str, int]:
    row = conn.execute(
        """
        SELECT
          (SELECT count(*) FROM access_grant
            WHERE status IN ('active', 'scheduled') AND ends_at <= now()),
          (SELECT count(*) FROM access_notice WHERE status = 'pending'),
          (SELECT count(*) FROM crm_customer WHERE status = 'closed'
            AND last_activity_at < now() - interval '7 years'),
          (SELECT count(*) FROM retention_purgerun
            WHERE NOT dry_run AND status IN ('planned', 'running'))
        """
    ).fetchone()
    return dict(zip(("grants", "notices", "customers", "runs"), row, strict=True))


def _emails(folder: Path) -> Counter[str]:
    """Recipients of every message the filebased backend wrote, however many processes."""
    found: Counter[str] = Counter()
    for path in folder.iterdir():
        found.update(re.findall(r"^To: (\S+)$", path.read_text(errors="replace"), re.M))
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_three_workers_two_beats_a_killed_worker_every_effect_exactly_once(broker, tmp_path):
    from apps.access.models import Grant, GrantStatus, Notice, NoticeStatus
    from apps.audit.models import AuditEvent
    from apps.audit.selectors import audit_chain_verify
    from apps.crm.models import Customer
    from apps.retention.models import PurgeRun, PurgeRunStatus

    if broker == "rabbitmq" and (why := _amqp_ready()):
        pytest.skip(why)
    url = settings.REDIS_URL if broker == "redis" else AMQP_URL
    app = broker_app(url)
    broker_clear(app, url)
    mail = tmp_path / "mail"
    mail.mkdir()
    dsn = database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jitportal.settings.test",
        "DATABASE_URL": dsn,
        "TEST_CELERY_BROKER_URL": url,
        "TEST_CELERY_TASK_ALWAYS_EAGER": "false",
        "TEST_EMAIL_FILE_PATH": str(mail),
        "CELERY_WORKER_CONCURRENCY": "1",
        "CELERY_TASK_TIME_LIMIT": "120",
        "CELERY_TASK_SOFT_TIME_LIMIT": "110",
        "CELERY_BROKER_VISIBILITY_TIMEOUT": "150",
        "JITPORTAL_RECONCILE_BATCH_SIZE": "500",
        "JITPORTAL_RECONCILE_HELPERS": "2",
        "JITPORTAL_PURGE_FOUR_EYES_THRESHOLD": "1000000",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    stack = Stack(env, tmp_path)
    try:
        # Given three workers (started first: they take a few seconds), the backlog and
        # beat's schedule every few seconds
        for n in (1, 2, 3):
            stack.start(
                f"worker{n}",
                "worker",
                "--loglevel",
                "INFO",
                "-n",
                f"w{n}@%h",
                "--without-gossip",
                "--without-mingle",
            )
        loaded = load_backlog()
        schedule_beat()
        stack.wait_ready()
        # When every notice is queued at once, some of them twice (before beat's first
        # tick: a worker killed below is never mid-email, the one effect no transaction
        # covers; see docs/deploy.md) ...
        notice_ids = list(Notice.objects.order_by("pk").values_list("pk", flat=True))
        with app.producer_or_acquire() as producer:
            for notice_id in notice_ids + notice_ids[:DUPLICATE_MESSAGES]:
                app.send_task("access.notify", args=[notice_id], producer=producer)
        # ... two beats start (both send everything) ...
        stack.start("beat1", "beat", "--loglevel", "INFO")
        stack.start("beat2", "beat", "--loglevel", "INFO")
        # ... the pool process executing a purge is SIGKILLed mid-run, and a whole worker
        # (main process and pool) mid-reconcile while the expiry backlog is being worked off
        poll = stack.poll = psycopg.connect(dsn, autocommit=True)
        killed_run = lost_worker = None
        deadline = time.monotonic() + DEADLINE
        while killed_run is None or lost_worker is None:
            assert time.monotonic() < deadline, f"not caught mid-task: {killed_run, lost_worker}"
            stack.follow()
            if killed_run is None:
                for run_id, pid in _running_purges(poll):
                    if pid and stack.worker_of(pid):
                        os.kill(pid, signal.SIGKILL)
                        killed_run = run_id
                        break
            if lost_worker is None and 0 < _expired(poll) < EXPIRING * 3 // 4:
                for name, task in stack.current.items():
                    if task == "access.reconcile" and stack.procs[name].poll() is None:
                        os.killpg(stack.procs[name].pid, signal.SIGKILL)
                        lost_worker = name
                        break
            time.sleep(0.01)
        # ... and the others finish the work
        while (left := _outstanding(poll)) != {
            "grants": 0,
            "notices": 0,
            "customers": 0,
            "runs": 0,
        }:
            assert time.monotonic() < deadline, f"not done in {DEADLINE} s: {left}"
            time.sleep(0.5)
        time.sleep(2)  # a duplicate message still in a worker's hands ends
    finally:
        stack.stop()
        broker_clear(app, url)

    # Then both beats sent the schedule, and the killed pool process's message came back
    for beat in ("beat1", "beat2"):
        assert "Sending due task" in stack.log(beat), stack.log(beat)[-2000:]
    logs = {name: stack.log(name) for name in stack.workers()}
    assert "WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL)" in "".join(
        logs.values()
    )
    for name, text in logs.items():
        assert "raised unexpected" not in text, f"{name}:\n{text[-5000:]}"

    # Every ended grant expired once: one event each, its mirror rows gone where no live
    # grant still gives the right, kept where one does (invariant 5)
    expired = Grant.objects.filter(status=GrantStatus.EXPIRED, mirrored=False)
    assert expired.count() == EXPIRING
    events = Counter(
        AuditEvent.objects.filter(action="access.grant.expired").values_list("target_id", flat=True)
    )
    assert len(events) == EXPIRING and set(events.values()) == {1}
    assert set(events) == {str(pk) for pk in expired.values_list("pk", flat=True)}
    live = Grant.objects.filter(status=GrantStatus.ACTIVE)
    assert live.count() == NOTICES
    from guardian.models import UserObjectPermission

    mirror = set(UserObjectPermission.objects.values_list("user_id", "object_pk"))
    assert mirror == {(uid, str(loaded["asset0"])) for uid in live.values_list("user", flat=True)}

    # One email per notice, each to its grant's holder, each notice sent on its first try
    assert Notice.objects.filter(status=NoticeStatus.SENT, tries=1, recipients=1).count() == (
        NOTICES
    )
    sent = _emails(mail)
    assert sum(sent.values()) == NOTICES, sent.most_common(3)
    assert set(sent.values()) == {1}
    assert set(sent) == set(live.values_list("user__email", flat=True))

    # Every doomed customer deleted, every kept one there; the runs' totals add up, the
    # killed runs closed as interrupted with what their committed batches did
    assert Customer.objects.filter(status="closed").count() == len(COUNTRIES) * KEPT // 2
    assert Customer.objects.filter(status="active").count() == len(COUNTRIES) * KEPT // 2
    for rule in loaded["rules"]:
        runs = PurgeRun.objects.filter(rule=rule, dry_run=False)
        assert sum(run.affected for run in runs) == DOOMED, [
            (r.pk, r.status, r.affected) for r in runs
        ]
        assert runs.filter(status=PurgeRunStatus.SUCCEEDED).count() == 1
        for run in runs:
            events = Counter(
                AuditEvent.objects.filter(
                    action__in=["retention.purge.started", "retention.purge.finished"],
                    target_id=str(run.pk),
                ).values_list("action", flat=True)
            )
            assert events == {"retention.purge.started": 1, "retention.purge.finished": 1}
    interrupted = PurgeRun.objects.get(pk=killed_run)
    assert interrupted.interrupted_at is not None, (interrupted.status, interrupted.error_code)
    assert audit_chain_verify().ok
