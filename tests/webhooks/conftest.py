"""A real HTTP receiver the webhook tests send to (http.server on a thread), and a
subscription pointing at it. Loopback over http is allowed only inside these tests."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from apps.webhooks.services import webhook_subscription_create


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next of ``statuses`` (200 once they run out) and keeps
    what it got, in order."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    #: Seconds between the bytes of a body sent a byte at a time (0: all at once).
    drip: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1, over TLS with ``tls``; its URL names
    ``host``."""
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            box = state["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with box.lock:
                box.received.append(Received(self.path, dict(self.headers.items()), body))
                status = box.statuses.pop(0) if box.statuses else 200
            if box.delay:
                threading.Event().wait(box.delay)
            payload = b'{"ok": %s}' % (b"true" if status < 300 else b"false")
            if box.drip:
                payload = b"x" * 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if not box.drip:
                self.wfile.write(payload)
                return
            try:
                for byte in payload:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    threading.Event().wait(box.drip)
            except (BrokenPipeError, ConnectionResetError):
                return  # the portal stopped reading, as it should

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True  # a dripping handler does not hold the teardown
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    port = server.server_address[1]
    state["receiver"] = Receiver(url=f"{scheme}://{host}:{port}/hooks/jit")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as box:
        yield box


LOCAL = {
    "SECRET_KEYS": [],
    "ALLOW_HTTP": True,
    "ALLOW_PRIVATE_TARGETS": True,
    "MAX_TRIES": 4,
    "RETRY_SECONDS": 30,
    "RETRY_MAX_SECONDS": 3600,
    "SWEEP_EVERY_SECONDS": 30,
    "CA_FILE": "",
    "GIVEN_UP_ALERT_HOURS": 24,
    "DELIVERY_RETENTION_DAYS": 90,
    "DELIVERY_PRUNE_BATCH": 1000,
}


@pytest.fixture
def local_targets() -> Iterator[None]:
    with override_settings(WEBHOOKS=LOCAL):
        yield


@pytest.fixture
def subscription(dpo, receiver, local_targets):
    """(subscription, secret) for every event type, sending to the receiver."""
    from apps.webhooks.models import EventType

    return webhook_subscription_create(
        name="SIEM", url=receiver.url, event_types=list(EventType.values), actor=dpo
    )


# The access tests' fixtures: an asset, a role over it decided by the Approvers group.
from tests.access.conftest import approvers_group, asset, role  # noqa: E402, F401


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what services queue after commit (eager Celery tasks in tests)."""

    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    run.capture = lambda: django_capture_on_commit_callbacks(execute=True)  # type: ignore[attr-defined]
    return run


def subscription_set(sub, actor, **changes):
    """Change some of a subscription's values through the service, keeping the others."""
    from apps.webhooks.services import webhook_subscription_update

    values = {
        "name": sub.name,
        "url": sub.url,
        "event_types": sub.event_types,
        "timeout_seconds": sub.timeout_seconds,
        "active": sub.active,
        **changes,
    }
    return webhook_subscription_update(subscription_id=sub.pk, actor=actor, **values)
