"""Every field the interactive endpoint reads, given each wrong JSON type: a signed payload of
the wrong shape is refused (400) and changes nothing: no decision, no audit event, no
delivery remembered, nothing said in Slack. Then every action id and payload type the
endpoint is sent, with hostile values (unknown ids, huge values, ids that are no ids,
another workspace): each gets a clear answer and changes nothing."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from apps.access.models import Approval, Grant, RequestStatus
from apps.audit.models import AuditEvent
from apps.chat import blocks
from apps.chat.models import SlackAccount, SlackDelivery, SlackMessage
from apps.chat.payloads import payload_shape_check
from apps.chat.services import slack_messages_post
from tests.chat.conftest import URL, body_of, click, deny_submission, link, post, signed, submit

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


#: Slack's interactive payload types (api.slack.com/reference/interaction-payloads) the
#: portal does not handle, and types Slack has none of.
OTHER_TYPES = [
    "shortcut",
    "message_action",
    "view_closed",
    "block_suggestion",
    "interactive_message",
    "dialog_submission",
    "workflow_step_edit",
    "",
    "x" * 5000,
]
#: Request ids that are no request: too big for the database, signs, Unicode digits, empty.
NO_REQUEST = ["9" * 5000, str(2**63), "-1", "0", "1e9", "\u0663", "", " 1"]
HUGE_USER = "U" + "A" * 5000


def _with(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(payload)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        parent = result
        for step in parents:
            parent = parent[int(step)] if step.isdigit() else parent[step]
        parent[last] = value
    return result


def _meta(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(payload)
    result["view"][META] = json.dumps({**json.loads(result["view"][META]), **changes})
    return result


def hostile(slack, request_id: int) -> Iterator[tuple[str, Any, str, str]]:
    """``(label, payload, answer, text)`` for every action id and payload type: ``answer``
    is "told" (200, the clicker alone reads ``text``), "errors" (200, the modal shows
    ``text`` under the field) or "ignored" (200, nothing said: Slack expects only that)."""
    approve = click(slack, user="UAPPROVER1", action=blocks.ACTION_APPROVE, request_id=request_id)
    deny = click(slack, user="UAPPROVER1", action=blocks.ACTION_DENY, request_id=request_id)
    submit_ = deny_submission(user="UAPPROVER1", request_id=request_id, reason="Not needed.")
    foreign = "not the one the access portal serves"
    for name, button in ((blocks.ACTION_APPROVE, approve), (blocks.ACTION_DENY, deny)):
        for value in NO_REQUEST:
            yield (
                f"{name}:value={value[:12]!r}",
                _with(button, actions__0__value=value),
                "told",
                ("no longer exists"),
            )
        for user in ("UNOBODY", HUGE_USER, ""):
            yield f"{name}:user={user[:12]!r}", _with(button, user__id=user), "told", "not linked"
        yield f"{name}:another-team", _with(button, team={"id": "TOTHER1"}), "told", foreign
        yield f"{name}:no-team", _with(button, team=None), "told", foreign
    link_button = _with(approve, actions__0__action_id=blocks.ACTION_OPEN_PORTAL)
    yield f"{blocks.ACTION_OPEN_PORTAL}", link_button, "ignored", ""
    yield (
        f"{blocks.ACTION_OPEN_PORTAL}:another-team",
        _with(link_button, team={"id": "TOTHER1"}),
        "told",
        foreign,
    )
    for action_id in ("jp_delete_everything", "JP_APPROVE", "", "x" * 5000):
        yield (
            f"unknown-action={action_id[:12]!r}",
            _with(approve, actions__0__action_id=action_id),
            "told",
            "does not know this button",
        )
    # Only the first action is read: an approval hidden behind another button does nothing.
    yield (
        "unknown-then-approve",
        _with(approve, actions=[{"action_id": "jp_other", "value": "1"}, approve["actions"][0]]),
        "told",
        "does not know this button",
    )
    for callback_id in ("jp_other", "", "x" * 5000):
        yield (
            f"view={callback_id[:12]!r}",
            _with(submit_, view__callback_id=callback_id),
            "ignored",
            "",
        )
    for number in (10**30, -1, 0):
        yield (
            f"{blocks.VIEW_DENY}:request={number}",
            _meta(submit_, request=number),
            "told",
            ("no longer exists"),
        )
    yield f"{blocks.VIEW_DENY}:user=huge", _with(submit_, user__id=HUGE_USER), "told", "not linked"
    for length in (blocks.REASON_MAX + 1, 100_000):
        reason = _with(submit_, view__state__values__reason__reason_input__value="x" * length)
        yield f"{blocks.VIEW_DENY}:reason={length}", reason, "errors", "Keep the reason"
    yield f"{blocks.VIEW_DENY}:another-team", _with(submit_, team={"id": "T2"}), "told", foreign
    for kind in OTHER_TYPES:
        yield f"type={kind[:12]!r}", _with(approve, type=kind), "ignored", ""


def test_every_action_id_and_payload_type_with_hostile_values_is_answered_and_changes_nothing(
    client, slack, role, staff_user, approver, caplog
):
    # given a pending request shown to a linked approver
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    events = AuditEvent.objects.count()
    seen_actions: set[str] = set()
    seen_views: set[str] = set()
    for label, payload, answer, text in hostile(slack, request.pk):
        slack.clear()
        caplog.clear()
        seen_actions.update(a.get("action_id") for a in payload.get("actions", [])[:1])
        seen_views.add(payload.get("view", {}).get("callback_id"))
        # when it is signed correctly and posted
        with caplog.at_level(logging.INFO, logger="apps.chat"):
            response = post(client, payload)
        # then it gets the answer for it
        assert response.status_code == 200, label
        said = [
            c.args["text"] for c in slack.called("respond") + slack.called("chat.postEphemeral")
        ]
        if answer == "told":
            assert len(said) == 1 and text in said[0], (label, said)
        elif answer == "errors":
            errors = response.json()
            assert errors["response_action"] == "errors", label
            assert text in errors["errors"]["reason"], label
            assert said == [], label
        else:
            assert said == [] and response.content == b"", label
            if label != blocks.ACTION_OPEN_PORTAL:
                assert caplog.records, label  # the log says what was not handled
        assert all(len(r.getMessage()) < 400 for r in caplog.records), label
        # and nothing changed: no decision, no modal, no audit event, nobody linked
        assert slack.called("views.open") == [], label
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING, label
        assert not Approval.objects.filter(request=request).exists(), label
        assert AuditEvent.objects.count() == events, label
        assert SlackAccount.objects.count() == 1, label
    # and the walk went through every action id and view the portal's messages carry
    assert {getattr(blocks, n) for n in dir(blocks) if n.startswith("ACTION_")} <= seen_actions
    assert {getattr(blocks, n) for n in dir(blocks) if n.startswith("VIEW_")} <= seen_views


def test_a_body_beyond_the_upload_limit_is_refused_before_it_is_read(client, slack, settings):
    # given a signed body larger than Django reads into memory
    payload = {"type": "block_actions", "filler": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    body = body_of(payload)
    # when posted
    response = client.post(
        URL, data=body, content_type="application/x-www-form-urlencoded", **signed(body)
    )
    # then it is a bad request, nothing is remembered and nothing said
    assert response.status_code == 400
    assert not SlackDelivery.objects.exists() and slack.calls == []


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
