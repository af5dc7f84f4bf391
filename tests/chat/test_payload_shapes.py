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
from apps.chat.models import SlackDelivery
from apps.chat.payloads import payload_shape_check
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
