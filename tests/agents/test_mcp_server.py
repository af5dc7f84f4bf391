"""The MCP server as an agent meets it: ``manage.py mcp_serve`` started as a real stdio
subprocess and driven by the official SDK's client, on the test database (committed rows:
the server is another process). Each server is a real Django process started by the SDK's
stdio client, a few seconds each: the file starts eight (about half a minute on a quiet
machine), which is the cost of testing the protocol end to end rather than in-process."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from django.db import connection
from django.test import Client as WebClient
from django.utils import timezone
from mcp import Client, StdioServerParameters

from apps.access.models import AccessRequest, Approval, Grant, RequestStatus
from apps.agents.server import TOOL_NAMES
from apps.integrations.models import IntegrationToken
from apps.integrations.services import integration_token_create, integration_token_revoke
from tests.access.factories import AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
#: Words a tool that decides would carry in its name.
DECIDING = ("approve", "deny", "decide", "revoke", "cancel", "extend", "shorten", "break")


def server_env(raw_token: str) -> dict[str, str]:
    """The environment of a server on this test database, as the owner of ``raw_token``."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        "DJANGO_SETTINGS_MODULE": "jitportal.settings.test",
        "DATABASE_URL": url,
        "JITPORTAL_MCP_TOKEN": raw_token,
        "PYTHONPATH": str(ROOT),
        # The second factor on, as in production: a role that asks its requester for a fresh
        # one is then sent to the portal (apps/access/requester_factor.py).
        "MFA_REQUIRED": "true",
    }
    if "REDIS_URL" in os.environ:
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def server_params(raw_token: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=[str(ROOT / "manage.py"), "mcp_serve"],
        env=server_env(raw_token),
        cwd=str(ROOT),
    )


def token_for(user, *, scopes=("request",)) -> tuple[IntegrationToken, str]:
    return integration_token_create(
        owner=user,
        name="Agent",
        scopes=list(scopes),
        expires_at=timezone.now() + timedelta(days=7),
    )


def text_of(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


@pytest.fixture
def world(groups):
    """A staff member who may ask for one role (one approval, justification required) and
    holds one grant; a role only others may ask for; a colleague with a request of their own."""
    staff = UserFactory(username="agent-owner", groups=["Staff"])
    other = UserFactory(username="colleague", groups=["Staff"])
    asset = DataAssetFactory(name="Customer records")
    role = AccessRoleFactory(
        name="Support read", assets=[asset], requestable_by_users=[staff, other]
    )
    hidden = AccessRoleFactory(
        name="Payroll", assets=[DataAssetFactory(name="Payroll")], requestable_by_users=[other]
    )
    fresh = AccessRoleFactory(
        name="Break-fix",
        assets=[DataAssetFactory(name="Billing")],
        requestable_by_users=[staff],
        requester_mfa_required=True,
    )
    held = GrantFactory(user=staff, assets=[asset], request__role=role)
    return {
        "staff": staff,
        "other": other,
        "role": role,
        "hidden": hidden,
        "fresh": fresh,
        "held": held,
    }


def test_an_agent_lists_asks_and_reads_its_own_and_nothing_decides(world):
    # given a request-scoped token of a staff member, and the server started with it
    staff, role = world["staff"], world["role"]
    _, raw = token_for(staff)
    results: dict[str, Any] = {}

    asks = {
        "bad": (role, {"duration_hours": "4"}),  # no justification
        "too_long": (role, {"duration_hours": "9", "justification": "Customer case 17"}),
        "hidden": (world["hidden"], {"duration_hours": "1"}),  # not the owner's to ask
        "fresh": (world["fresh"], {"duration_hours": "1", "justification": "Outage 5"}),
        "good": (role, {"duration_hours": "2", "justification": "Customer case 17"}),
        "again": (role, {"duration_hours": "2", "justification": "Customer case 17"}),
    }

    async def session() -> None:
        async with Client(server_params(raw)) as client:
            results["tools"] = (await client.list_tools()).tools
            results["list"] = await client.call_tool("list_requestable", {})
            results["bad_page"] = await client.call_tool("my_requests", {"page": 0})
            for name, (target, args) in asks.items():  # in this order
                results[name] = await client.call_tool(
                    "ask_for_access", {"target": f"role-{target.pk}", **args}
                )
            results["requests"] = await client.call_tool("my_requests", {"status": "pending"})
            results["grants"] = await client.call_tool("my_grants", {"current": True})
            results["approve"] = await client.call_tool("approve", {"request_id": 1})

    anyio.run(session)

    # then the server offers exactly the four request-only tools, none of them deciding
    names = sorted(t.name for t in results["tools"])
    assert names == sorted(TOOL_NAMES)
    assert not [n for n in names if any(word in n for word in DECIDING)]
    assert results["approve"].is_error
    hints = {t.name: t.annotations for t in results["tools"]}
    for name in ("list_requestable", "my_requests", "my_grants"):
        assert hints[name].read_only_hint is True, name
    assert hints["ask_for_access"].destructive_hint is False
    # listing: the role the owner may ask for, with its target and policy; not the other
    listed = results["list"].structured_content
    assert not results["list"].is_error
    assert [r["name"] for r in listed["roles"]] == ["Break-fix", "Support read"]
    support = listed["roles"][1]
    assert support["target"] == f"role-{role.pk}"
    assert support["justification_required"] is True and support["max_hours"] == 8
    assert listed["roles"][0]["second_factor_on_the_portal"] is True
    assert str(role.assets.get()) in [a["name"] for a in listed["assets"]]
    assert "Payroll" not in str(listed)
    # bad input: the portal form's own messages, and nothing was written for them
    assert results["bad"].is_error and results["too_long"].is_error
    assert results["hidden"].is_error
    assert "Select a valid choice." in text_of(results["hidden"])  # the form's own words
    # a role that asks for a fresh second factor is for the portal, which the answer links
    assert results["fresh"].is_error
    assert f"/request/?role={world['fresh'].pk}" in text_of(results["fresh"])
    assert results["bad_page"].is_error
    assert "The page must be a whole number from 1." in text_of(results["bad_page"])
    # the good request is pending, for the owner, and the same again is refused
    assert not results["good"].is_error, text_of(results["good"])
    made = results["good"].structured_content["request"]
    request = AccessRequest.objects.get(pk=made["id"])
    assert (request.requester, request.role, request.status) == (staff, role, "pending")
    # two hours from the form's now (the service starts it at its own now, a moment later)
    assert abs(request.ends_at - request.starts_at - timedelta(hours=2)) < timedelta(seconds=5)
    assert results["again"].is_error
    assert "already have a pending request" in text_of(results["again"])
    assert AccessRequest.objects.filter(requester=staff).count() == 2  # with the held grant's
    # nothing was decided: no approval, no new grant
    assert not Approval.objects.exists()
    assert Grant.objects.filter(user=staff).count() == 1
    # my requests and grants: the owner's own only
    mine = results["requests"].structured_content
    assert [r["id"] for r in mine["requests"]] == [request.pk]
    assert mine["total"] == 1
    grants = results["grants"].structured_content["grants"]
    assert [g["id"] for g in grants] == [world["held"].pk] and grants[0]["live_now"] is True
    # and the portal says exactly the same to a person for each bad input
    web = WebClient()
    web.force_login(staff)
    for name, form in (
        ("bad", {"duration": "4"}),
        ("too_long", {"duration": "9", "justification": "Customer case 17"}),
    ):
        page = web.post(
            "/request/", {"target": f"role-{role.pk}", "start": "now", **form}
        ).content.decode()
        said = text_of(results[name]).removeprefix("Error executing tool ask_for_access: ")
        for line in said.splitlines():
            message = line.split(": ", 1)[-1]
            assert html.escape(message) in page, (name, message)


def test_a_token_revoked_mid_session_is_refused_at_the_next_call(world):
    # given a server running with a valid token
    staff = world["staff"]
    token, raw = token_for(staff)
    results: dict[str, Any] = {}

    async def session() -> None:
        async with Client(server_params(raw)) as client:
            results["before"] = await client.call_tool("my_grants", {})
            # when the token is revoked in the portal while the agent is connected
            await anyio.to_thread.run_sync(
                lambda: integration_token_revoke(token_id=token.pk, actor=None)
            )
            results["after"] = await client.call_tool("my_grants", {})
            results["ask"] = await client.call_tool(
                "ask_for_access",
                {
                    "target": f"role-{world['role'].pk}",
                    "duration_hours": "1",
                    "justification": "x",
                },
            )

    anyio.run(session)
    # then the next calls are refused with the reason, and nothing is asked
    assert not results["before"].is_error
    assert results["after"].is_error and results["ask"].is_error
    assert "invalid_token: The token was revoked." in text_of(results["after"])
    assert not AccessRequest.objects.filter(requester=staff, status=RequestStatus.PENDING).exists()


def run_server(raw_token: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "mcp_serve"],
        env={**os.environ, **server_env(raw_token)},
        cwd=ROOT,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_token_without_the_request_scope_or_expired_or_revoked_never_starts(world, auditor):
    # given an audit-scoped token, an expired request token and a revoked one
    _, audit_only = token_for(auditor, scopes=("audit",))
    expired, expired_raw = token_for(world["staff"])
    IntegrationToken.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    revoked, revoked_raw = token_for(world["staff"])
    integration_token_revoke(token_id=revoked.pk)
    cases = {
        audit_only: "(insufficient_scope): The token lacks the “request” scope.",
        expired_raw: "(invalid_token): The token has expired.",
        revoked_raw: "(invalid_token): The token was revoked.",
        "": "Set JITPORTAL_MCP_TOKEN to an integration token",
    }
    for raw, reason in cases.items():
        # when the server is started with it
        done = run_server(raw)
        # then it refuses to start, says why on stderr, and wrote nothing on the protocol
        assert done.returncode == 1, (raw, done.stderr)
        assert reason in done.stderr, done.stderr
        assert done.stdout == ""

    # and an agent's client cannot open a session with it
    async def connect() -> None:
        async with Client(server_params(expired_raw), read_timeout_seconds=30) as client:
            await client.list_tools()

    with pytest.raises(Exception):
        anyio.run(connect)
    assert not AccessRequest.objects.filter(status=RequestStatus.PENDING).exists()
