"""Fixtures of the Slack tests: the Web API stand-in, settings pointing at it, linked
approvers, and signed interactive payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest
from apps.chat.models import SlackAccount
from tests.access.conftest import (  # noqa: F401  (the access tests' fixtures, reused)
    approver2,
    approvers_group,
    asset,
    celery_conf,
    role,
    special_asset,
    staff2,
)
from tests.access.factories import AccessRoleFactory
from tests.access.test_worker import worker  # noqa: F401  (a real Celery worker on Redis)
from tests.chat.standin import TOKEN, SlackStandIn, standin_start, standin_stop

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
URL = "/chat/slack/interactions/"
#: The workspace the portal serves (SLACK_TEAM_ID), which the payloads come from.
TEAM = "T0PORTAL1"


@pytest.fixture(scope="session")
def _standin() -> Iterator[SlackStandIn]:
    standin = standin_start()
    yield standin
    standin_stop(standin)


@pytest.fixture
def special_role(special_asset, approvers_group):  # noqa: F811
    """A role over Art. 9 data decided by the approvers (and, for that data, the DPO)."""
    return AccessRoleFactory(
        assets=[special_asset],
        approver_groups=[approvers_group],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )


@pytest.fixture
def slack(_standin, settings) -> SlackStandIn:
    """The stand-in, emptied, with the portal's Slack settings pointing at it."""
    with _standin.lock:
        _standin.users.clear()
        _standin.messages.clear()
        _standin.calls.clear()
        _standin.answers.clear()
        _standin.down = False
    settings.SLACK_API_URL = _standin.api_url
    settings.SLACK_BOT_TOKEN = TOKEN
    settings.SLACK_SIGNING_SECRET = SECRET
    settings.SLACK_MATCH_BY_EMAIL = False
    settings.SLACK_TEAM_ID = TEAM
    return _standin


def link(slack: SlackStandIn, user, slack_id: str) -> SlackAccount:
    slack.add_user(slack_id, user.email)
    return SlackAccount.objects.create(user=user, slack_user_id=slack_id)


def submit(user, access_role, *, hours: int = 2, **extra: Any) -> AccessRequest:
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=access_role,
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
        justification="Complaint follow-up <urgent>",
        **extra,
    )


def signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``: v0 signature over ``v0:{timestamp}:{body}``."""
    timestamp = str(int(time.time()) if at is None else at)
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": f"v0={digest}",
    }


def body_of(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def click(
    slack: SlackStandIn, *, user: str, action: str, request_id: int, nonce: str = "1"
) -> dict[str, Any]:
    """A ``block_actions`` payload as Slack sends it for a button in the app's DM."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "team": {"id": TEAM},
        "trigger_id": f"trigger-{nonce}",
        "response_url": slack.response_url(f"{user}-{nonce}"),
        "container": {"type": "message", "channel_id": "D" + user[1:], "message_ts": "1"},
        "channel": {"id": "D" + user[1:]},
        "actions": [
            {
                "type": "button",
                "action_id": action,
                "block_id": f"decide-{request_id}",
                "value": str(request_id),
                "action_ts": f"1700000000.{nonce}",
            }
        ],
    }


def deny_submission(*, user: str, request_id: int, reason: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": user},
        "team": {"id": TEAM},
        "view": {
            "id": "V0001",
            "callback_id": "jp_deny_reason",
            "private_metadata": json.dumps({"request": request_id, "channel": "D" + user[1:]}),
            "state": {"values": {"reason": {"reason_input": {"type": "x", "value": reason}}}},
        },
    }


def post(client, payload: dict[str, Any], **headers: str):
    body = body_of(payload)
    return client.post(
        URL,
        data=body,
        content_type="application/x-www-form-urlencoded",
        **{**signed(body), **headers},
    )
