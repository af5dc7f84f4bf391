"""A local stand-in for Slack's Web API: a real HTTP server on 127.0.0.1 that records every
call and answers the methods the portal uses the way Slack documents them
(https://api.slack.com/methods), including Slack's errors (``invalid_auth``,
``channel_not_found``, ``message_not_found``, ``user_not_found``, ``users_not_found``).

Slack itself is not reachable from CI. The portal's client (``slack_sdk.WebClient``) is
pointed here through ``SLACK_API_URL``; ``response_url`` replies go to ``/respond/…``.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "xoxb-standin-token"


@dataclass
class Call:
    method: str  # "chat.postMessage", or "respond" for a response_url
    args: dict[str, Any]
    path: str = ""


@dataclass
class SlackStandIn:
    """Users Slack knows, messages posted, calls made; ``down`` answers every call 503."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    down: bool = False
    #: method -> the answer given instead of the usual one (a reply of another shape).
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    server: ThreadingHTTPServer | None = None

    # --- what the tests set up and read -------------------------------------------------

    def add_user(self, slack_id: str, email: str = "", *, confirmed: bool = True) -> None:
        self.users[slack_id] = {
            "id": slack_id,
            "name": slack_id.lower(),
            "deleted": False,
            "is_bot": False,
            "is_email_confirmed": confirmed,
            "profile": {"email": email},
        }

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def response_url(self, name: str = "r1") -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/respond/{name}"

    def called(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()

    # --- Slack's answers --------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        if token != TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        if method in self.answers:
            return self.answers[method]
        if method == "chat.postMessage":
            target = str(args.get("channel", ""))
            if target.startswith(("U", "W")):
                if target not in self.users:
                    return {"ok": False, "error": "channel_not_found"}
                target = "D" + target[1:]  # the app's direct message with that user
            ts = f"1700000000.{next(self._ts):06d}"
            message = {"text": args.get("text"), "blocks": args.get("blocks"), "ts": ts}
            self.messages[(target, ts)] = message
            return {"ok": True, "channel": target, "ts": ts, "message": message}
        if method == "chat.update":
            key = (str(args.get("channel")), str(args.get("ts")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key].update(text=args.get("text"), blocks=args.get("blocks"))
            return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text")}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            email = str(args.get("email", "")).casefold()
            for user in self.users.values():
                if user["profile"]["email"].casefold() == email:
                    return {"ok": True, "user": user}
            return {"ok": False, "error": "users_not_found"}
        if method == "views.open":
            if not args.get("trigger_id") or not isinstance(args.get("view"), dict):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "view": {"id": "V0001", **args["view"]}}
        if method == "chat.postEphemeral":
            if not args.get("channel") or not args.get("user"):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "message_ts": f"1700000001.{next(self._ts):06d}"}
        return {"ok": False, "error": "unknown_method"}


def _handler(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, args: dict[str, Any]) -> None:
            path = urlsplit(self.path).path
            if path.startswith("/respond/"):
                with standin.lock:
                    standin.calls.append(Call("respond", args, path))
                self._send(200, b"ok", "text/plain")
                return
            method = path.removeprefix("/api/")
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            with standin.lock:
                standin.calls.append(Call(method, args, path))
                if standin.down:
                    self._send(503, b"upstream connect error", "text/plain")
                    return
                answer = standin.answer(method, args, token)
            self._send(200, json.dumps(answer).encode())

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            self._handle({k: v[0] for k, v in query.items()})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Type", "").startswith("application/json"):
                args = json.loads(raw or b"{}")
            else:
                args = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            self._handle(args)

    return Handler


def standin_start() -> SlackStandIn:
    standin = SlackStandIn()
    standin.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    threading.Thread(target=standin.server.serve_forever, daemon=True).start()
    return standin


def standin_stop(standin: SlackStandIn) -> None:
    assert standin.server is not None
    standin.server.shutdown()
    standin.server.server_close()
