"""Every field the interactive endpoint reads, given each wrong JSON type: a signed payload of
the wrong shape is refused (400) and changes nothing: no decision, no audit event, no
delivery remembered, nothing said in Slack."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from apps.access.models import Approval, Grant, RequestStatus
from apps.audit.models import AuditEvent
from apps.chat.models import SlackAccount, SlackDelivery, SlackMessage
from apps.chat.payloads import payload_shape_check
from apps.chat.services import slack_messages_post
from tests.chat.conftest import click, deny_submission, link, post, submit

pytestmark = pytest.mark.django_db

_MISSING = object()
#: One value of each JSON type, and the field left out.
WRONG = {"str": "x", "int": 5, "list": [], "dict": {}, "null": None, "missing": _MISSING}
_TYPE_OF = {str: "str", int: "int", list: "list", dict: "dict", type(None): "null"}
META = "private_metadata"  # a JSON string inside the payload: its fields are walked too

#: Every field path each handler reads (apps/chat/interactions.py); the metadata's fields
#: are ("view", META, key).
BUTTON_PATHS = [
    ("type",),
    ("user",),
    ("user", "id"),
    ("actions",),
    ("actions", 0),
    ("actions", 0, "action_id"),
    ("actions", 0, "value"),
    ("response_url",),
    ("trigger_id",),
    ("container",),
    ("container", "channel_id"),
]
SUBMISSION_PATHS = [
    ("type",),
    ("user",),
    ("user", "id"),
    ("view",),
    ("view", "callback_id"),
    ("view", META),
    ("view", META, "request"),
    ("view", META, "channel"),
    ("view", "state"),
    ("view", "state", "values"),
    ("view", "state", "values", "reason"),
    ("view", "state", "values", "reason", "reason_input"),
    ("view", "state", "values", "reason", "reason_input", "value"),
]
#: Slack sends null for an empty text input: the portal then asks for a reason (a 200 with
#: the modal's error), still deciding nothing.
ALLOWED_EMPTY = {("view", "state", "values", "reason", "reason_input", "value")}


def _value_at(payload: Any, path: tuple) -> Any:
    for step in path:
        payload = json.loads(payload) if isinstance(payload, str) else payload
        payload = payload[step]
    return payload


def _replaced(payload: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    """``payload`` with the field at ``path`` set to ``value`` (or removed)."""
    result = copy.deepcopy(payload)
    if path[:2] == ("view", META) and len(path) == 3:
        meta = json.loads(result["view"][META])
        if value is _MISSING:
            del meta[path[2]]
        else:
            meta[path[2]] = value
        result["view"][META] = json.dumps(meta)
        return result
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    if value is _MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


def malformed(payload: dict[str, Any], paths: list[tuple]) -> Iterator[tuple[str, Any]]:
    """For every path, the payload with that field of each wrong type (or missing)."""
    for path in paths:
        own = _TYPE_OF[type(_value_at(payload, path))]
        for name, value in WRONG.items():
            if name != own:
                yield f"{'.'.join(map(str, path))}={name}", path, _replaced(payload, path, value)
    yield "payload=list", (), [payload]
    yield (
        "actions-or-view-empty",
        (),
        {**payload, "actions": []}
        if "actions" in payload
        else {
            **payload,
            "view": {**payload["view"], META: "not json"},
        },
    )


def test_every_field_of_every_payload_with_a_wrong_type_is_refused_and_changes_nothing(
    client, slack, role, staff_user, approver
):
    # given a pending request shown to a linked approver, and the three valid payloads the
    # endpoint acts on: Approve, Deny (opens the modal), and the deny modal's submission
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    valid = {
        "approve": (
            click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk),
            BUTTON_PATHS,
        ),
        "deny": (
            click(slack, user="UAPPROVER1", action="jp_deny", request_id=request.pk),
            BUTTON_PATHS,
        ),
        "submission": (
            deny_submission(user="UAPPROVER1", request_id=request.pk, reason="Not needed."),
            SUBMISSION_PATHS,
        ),
    }
    events = AuditEvent.objects.count()
    tried = 0
    for kind, (payload, paths) in valid.items():
        payload_shape_check(payload)  # the generator starts from a payload that is valid
        for label, path, bad in malformed(payload, paths):
            slack.clear()
            # when it is signed correctly and posted with one field of a wrong type
            response = post(client, bad)
            tried += 1
            # then no server error, and nothing changed anywhere
            where = f"{kind}: {label}"
            assert response.status_code < 500, where
            if path in ALLOWED_EMPTY and label.endswith(("null", "missing")):
                assert response.status_code == 200, where
                assert response.json()["response_action"] == "errors", where
            else:
                assert response.status_code == 400, where
                assert slack.calls == [], where
                assert not SlackDelivery.objects.exists(), where
            request.refresh_from_db()
            assert request.status == RequestStatus.PENDING, where
            assert not Approval.objects.filter(request=request).exists(), where
            assert AuditEvent.objects.count() == events, where
            SlackDelivery.objects.all().delete()
    assert tried > 100
    # and the valid payload itself is acted on (the generator's start was a real click)
    response = post(client, valid["approve"][0])
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Grant.objects.filter(request=request).count() == 1


def _person(**fields: Any) -> dict[str, Any]:
    user = {
        "id": "UNEW",
        "deleted": False,
        "is_bot": False,
        "is_email_confirmed": True,
        "profile": {"email": "approver@example.org"},
    }
    user.update(fields)
    return user


@pytest.mark.parametrize(
    "found",
    [
        pytest.param("UNEW", id="user=str"),
        pytest.param(["UNEW"], id="user=list"),
        pytest.param(_person(id=5), id="id=int"),
        pytest.param(_person(id=None), id="id=null"),
        pytest.param(_person(profile="approver@example.org"), id="profile=str"),
        pytest.param(_person(profile=None), id="profile=null"),
        pytest.param(_person(profile={"email": ["approver@example.org"]}), id="email=list"),
        pytest.param(_person(profile={"email": 5}), id="email=int"),
        pytest.param(_person(is_email_confirmed="true"), id="confirmed=str"),
        pytest.param(_person(deleted="false"), id="deleted=str"),
        pytest.param(_person(is_bot=0), id="is_bot=int"),
    ],
)
def test_a_slack_user_object_of_the_wrong_shape_matches_nobody(
    client, slack, settings, role, staff_user, approver, found
):
    # given matching by email, an unlinked approver, and Slack's users.info giving a user
    # object whose fields have another JSON type than Slack's reference
    settings.SLACK_MATCH_BY_EMAIL = True
    approver.email = "approver@example.org"
    approver.save(update_fields=["email"])
    request = submit(staff_user, role)
    slack.users["UNEW"] = found
    events = AuditEvent.objects.count()
    # when that Slack user clicks Approve
    response = post(client, click(slack, user="UNEW", action="jp_approve", request_id=request.pk))
    # then the clicker is an unknown user: told so privately, nothing linked or decided
    assert response.status_code == 200
    (reply,) = slack.called("respond")
    assert "not linked" in reply.args["text"]
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert not SlackAccount.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"ok": True}, id="ts=missing"),
        pytest.param({"ok": True, "channel": "D1", "ts": 5}, id="ts=int"),
        pytest.param({"ok": True, "channel": "D1", "ts": None}, id="ts=null"),
        pytest.param({"ok": True, "channel": ["D1"], "ts": "1.1"}, id="channel=list"),
    ],
)
def test_a_post_answer_of_the_wrong_shape_is_kept_as_not_sent(
    slack, role, staff_user, approver, answer
):
    # given Slack answering chat.postMessage with fields of another JSON type
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    slack.answers["chat.postMessage"] = answer
    # when the message is posted
    posted = slack_messages_post(request_id=request.pk)
    # then nothing counts as posted: the message keeps no ts and says why, for beat to retry
    assert posted == 0
    message = SlackMessage.objects.get(request=request, approver=approver)
    assert message.ts == "" and "without a message ts" in message.last_error
