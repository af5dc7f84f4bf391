"""A real OpenID provider for the tests: panva's ``oidc-provider`` (npm) on this machine's
Node.js, installed from tests/signin/oidc_provider/package-lock.json (``npm ci``, once) and
started on a free port; and a browser-like walk through its authorization-code flow.

The provider's accounts live in a JSON file read at every sign-in (``Provider.accounts``), so
a test can change a user's claims between two sign-ins.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.test import Client

HERE = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "jitportal-tests"
CLIENT_SECRET = "jitportal-tests-client-secret-of-enough-length"
REDIRECT_URI = "http://testserver/oidc/callback/"
NODE_MISSING = "needs Node.js and npm (the OpenID provider is the npm package oidc-provider)"


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def install() -> None:
    """``npm ci`` in tests/signin/oidc_provider when its node_modules is missing."""
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    subprocess.run(
        ["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        check=True,
        timeout=600,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Provider:
    """A running provider; ``accounts`` maps a login name to the claims it releases."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    accounts_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.accounts_file = self.workdir / "accounts.json"
        self.accounts = {}

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.accounts_file.read_text())

    @accounts.setter
    def accounts(self, value: dict[str, dict[str, Any]]) -> None:
        self.accounts_file.write_text(json.dumps(value))

    def start(self) -> None:
        client_file = self.workdir / "client.json"
        client_file.write_text(
            json.dumps(
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [REDIRECT_URI],
                }
            )
        )
        self.process = subprocess.Popen(
            [
                "node",
                str(HERE / "provider.mjs"),
                str(self.port),
                str(self.accounts_file),
                str(client_file),
            ],
            cwd=HERE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the OpenID provider exited with {self.process.returncode}")
            try:
                requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError("the OpenID provider did not answer within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def settings(self) -> dict[str, Any]:
        """The portal's settings for this provider: discovery from the issuer alone."""
        return {
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": "",
            "OIDC_OP_TOKEN_ENDPOINT": "",
            "OIDC_OP_USER_ENDPOINT": "",
            "OIDC_OP_JWKS_ENDPOINT": "",
            "OIDC_PROVIDER_NAME": "Example IdP",
        }


def start_provider(workdir: Path) -> Provider:
    provider = Provider(port=_free_port(), workdir=workdir)
    provider.start()
    return provider


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.S)


def sign_in(client: Client, login: str, *, next_url: str = "/") -> Any:
    """Walk the authorization-code flow as a browser would: the portal's "Sign in with" link,
    the provider's sign-in and consent forms, back to the portal's callback. Returns the
    portal's response to the callback (a redirect)."""
    start = client.get("/oidc/authenticate/", {"next": next_url})
    assert start.status_code == 302, start
    browser = requests.Session()
    url = start["Location"]
    method, data = "GET", None
    for _ in range(20):
        if method == "GET":
            response = browser.get(url, allow_redirects=False, timeout=10)
        else:
            response = browser.post(url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            location = urljoin(url, response.headers["Location"])
            if location.startswith("http://testserver/"):
                parts = urlsplit(location)
                return client.get(f"{parts.path}?{parts.query}")
            url, method, data = location, "GET", None
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        forms = _FORM.findall(response.text)
        assert forms, response.text[:500]
        action, body = forms[0]
        data = {name: unescape(value) for name, value in _HIDDEN.findall(body)}
        if data.get("prompt") == "login":
            data.update(login=login, password="any password")  # the dev pages accept any
        url, method = urljoin(url, unescape(action)), "POST"
    raise AssertionError("the sign-in did not come back to the portal")
