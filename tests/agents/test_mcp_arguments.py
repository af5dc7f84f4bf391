"""Every argument of every MCP tool, sent with wrong types and values through the real stdio
server: each is answered in the portal's own words (never the validation library's text,
never a control character repeated back), nothing is written; and the JSON types an
integrator naturally sends (numbers as numbers, or as strings of ASCII digits) are accepted.
One server process for the whole walk (a few seconds)."""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest
from mcp import Client

from apps.access.models import AccessRequest, Grant
from apps.agents.server import TOOL_NAMES
from tests.agents import test_mcp_server
from tests.agents.test_mcp_server import server_params, text_of, token_for
from tests.factories import ProcessingActivityFactory

#: The staff member, roles and grant of the server tests.
world = test_mcp_server.world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# What no answer may hold: C0 controls but tab and line feed, DEL, C1; the library's words.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LIBRARY = ("pydantic", "validation error", "input should", "type=", "errors.")

WRONG_WHOLE = ["²", "١", -1, 0, 1.5, True, "abc", "1e3", [1], {"n": 1}, "9" * 40]
WRONG_TEXT = [5, True, ["x"], {"x": 1}, "a\x00b", "a\x1b[2Jb", "x" * 3000]

#: tool -> argument -> wrong values (the other arguments of the call are good ones).
WRONG: dict[str, dict[str, list[Any]]] = {
    "list_requestable": {"page": WRONG_WHOLE},
    "my_requests": {
        "page": WRONG_WHOLE,
        "status": [*WRONG_TEXT, "pending\u0000", "pending\x1b[31m", "unknown"],
    },
    "my_grants": {"page": WRONG_WHOLE, "current": ["maybe", 5, [True], "\x1b", {"a": 1}]},
    "ask_for_access": {
        "target": WRONG_TEXT,
        "justification": [True, ["x"], {"x": 1}, "a\x1bb", "x" * 2001],
        "ticket": [True, ["x"], "T\x00", "T\x1b", "x" * 101],
        "duration_hours": ["١", "²", True, [1], "abc", "1e3", -1, 0, "NaN", {"h": 1}],
        "ends_at": [5, True, ["x"], "2030\x1b", "x" * 3000, "tomorrow"],
        "starts_at": [5, True, ["x"], "2030\x1b", "x" * 3000, "tomorrow"],
        "processing_activity": ["١", 2.5, True, -1, "abc", [1], {"id": 1}],
    },
}


def test_every_tool_argument_answers_wrong_values_in_the_portals_words(world):
    # given a staff member's request token, a role they may ask for, and a purpose
    staff, role = world["staff"], world["role"]
    activity = ProcessingActivityFactory(name="Complaints")
    activity.assets.add(*role.assets.all())
    _, raw = token_for(staff)
    good_ask = {
        "target": f"role-{role.pk}",
        "justification": "Customer case 17",
        "duration_hours": 2,
        "processing_activity": activity.pk,
    }
    assert set(WRONG) == set(TOOL_NAMES)
    requests_before = AccessRequest.objects.count()
    grants_before = Grant.objects.count()
    answers: list[tuple[str, str, Any, Any]] = []
    natural: dict[str, Any] = {}

    async def session() -> None:
        async with Client(server_params(raw)) as client:
            for tool, arguments in WRONG.items():
                base = good_ask if tool == "ask_for_access" else {}
                for argument, values in arguments.items():
                    for value in values:
                        # when one argument is of a wrong type or value
                        result = await client.call_tool(tool, {**base, argument: value})
                        answers.append((tool, argument, value, result))
            # and when the natural types are sent
            natural["page_text"] = await client.call_tool("list_requestable", {"page": "1"})
            natural["current_text"] = await client.call_tool("my_grants", {"current": "true"})
            natural["ask_numbers"] = await client.call_tool("ask_for_access", good_ask)
            natural["hours_text"] = await client.call_tool(
                "ask_for_access",
                {**good_ask, "duration_hours": "1.5", "processing_activity": str(activity.pk)},
            )

    anyio.run(session)

    # then every wrong value is refused with a message of the portal's
    for tool, argument, value, result in answers:
        said = text_of(result)
        where = (tool, argument, value, said[:300])
        assert result.is_error, where
        assert said.strip(), where
        assert not any(word in said.lower() for word in LIBRARY), where
        # and no control character is repeated back
        assert not CONTROL.search(said), where
        # and an over-long value is not repeated back either
        assert len(said) < 1000, where
    # and nothing was written for them
    assert AccessRequest.objects.count() == requests_before + 1  # the natural ask below
    assert Grant.objects.count() == grants_before
    # and the natural types are accepted
    assert not natural["page_text"].is_error, text_of(natural["page_text"])
    assert not natural["current_text"].is_error, text_of(natural["current_text"])
    assert not natural["ask_numbers"].is_error, text_of(natural["ask_numbers"])
    made = AccessRequest.objects.get(pk=natural["ask_numbers"].structured_content["request"]["id"])
    assert made.processing_activity_id == activity.pk
    # the same request again is the portal's duplicate refusal, not a type error
    assert "already have a pending request" in text_of(natural["hours_text"])


def test_the_tools_declare_the_json_types_they_accept(world):
    # given the server's tool list
    _, raw = token_for(world["staff"])
    listed: dict[str, Any] = {}

    async def session() -> None:
        async with Client(server_params(raw)) as client:
            listed.update({t.name: t.input_schema for t in (await client.list_tools()).tools})

    anyio.run(session)
    # then hours and ids are numbers or strings, texts are strings, flags booleans or strings
    ask = listed["ask_for_access"]["properties"]
    assert ask["duration_hours"]["type"] == ["number", "string"]
    assert ask["processing_activity"]["type"] == ["integer", "string"]
    assert ask["justification"]["type"] == "string"
    assert listed["my_grants"]["properties"]["current"]["type"] == ["boolean", "string"]
    for tool in TOOL_NAMES:
        if "page" in listed[tool]["properties"]:
            assert listed[tool]["properties"]["page"]["type"] == ["integer", "string"]
