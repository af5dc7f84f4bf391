"""The shape of Slack's interactive payloads, checked once before anything acts on them.

Every field the handlers (interactions.py) read is checked here for its JSON type, so a
signed payload of the wrong shape is refused (HTTP 400, nothing recorded, nothing decided)
instead of failing half-way. The shapes are those of Slack's reference
(https://api.slack.com/reference/interaction-payloads): ``block_actions`` for a button in
the app's message, ``view_submission`` for the deny modal. Other payload types, other
buttons and other views are not read at all, so only their ``type`` (and the field that
tells them apart) is checked.
"""

from __future__ import annotations

import json
from typing import Any

from .blocks import ACTION_APPROVE, ACTION_DENY, REASON_BLOCK, REASON_INPUT, VIEW_DENY

#: A path into a payload: keys of objects and indexes of arrays.
Path = tuple[str | int, ...]


class PayloadShapeError(ValueError):
    """The payload lacks a field the handler reads, or a field has the wrong JSON type."""

    def __init__(self, path: Path, expected: str) -> None:
        self.path = path
        self.expected = expected
        super().__init__(f"{'.'.join(str(p) for p in path) or '(payload)'}: expected {expected}")


def _get(payload: Any, path: Path, kind: type, *, required: bool = True) -> Any:
    """The value at ``path`` if it is of JSON type ``kind`` (dict, list, str, int); None when
    absent and not ``required``. bool is not taken for int (JSON tells them apart)."""
    value = payload
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or len(value) <= step:
                raise PayloadShapeError(path, kind.__name__)
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                if required or not isinstance(value, dict):
                    raise PayloadShapeError(path, kind.__name__)
                return None
            value = value[step]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PayloadShapeError(path, kind.__name__)
    return value


def _check_block_actions(payload: dict[str, Any]) -> None:
    _get(payload, ("user",), dict)
    _get(payload, ("actions",), list)
    action_id = _get(payload, ("actions", 0, "action_id"), str)
    if action_id not in {ACTION_APPROVE, ACTION_DENY}:
        return  # the portal link button, or a button this app never sent: not read
    _get(payload, ("user", "id"), str)
    _get(payload, ("actions", 0, "value"), str)
    _get(payload, ("response_url",), str)
    _get(payload, ("trigger_id",), str)
    _get(payload, ("container",), dict)
    _get(payload, ("container", "channel_id"), str)


def modal_metadata(payload: dict[str, Any]) -> dict[str, Any]:
    """The deny modal's ``private_metadata`` (``{"request": int, "channel": str}``), decoded;
    PayloadShapeError when it is not that."""
    raw = _get(payload, ("view", "private_metadata"), str)
    try:
        meta = json.loads(raw)
    except ValueError:
        raise PayloadShapeError(("view", "private_metadata"), "JSON object") from None
    _get(meta, ("request",), int)
    _get(meta, ("channel",), str)
    return meta  # type: ignore[no-any-return]


def _check_view_submission(payload: dict[str, Any]) -> None:
    _get(payload, ("view",), dict)
    if _get(payload, ("view", "callback_id"), str) != VIEW_DENY:
        return  # a view this app never opened: not read
    _get(payload, ("user",), dict)
    _get(payload, ("user", "id"), str)
    modal_metadata(payload)
    _get(payload, ("view", "state"), dict)
    _get(payload, ("view", "state", "values"), dict)
    _get(payload, ("view", "state", "values", REASON_BLOCK), dict)
    _get(payload, ("view", "state", "values", REASON_BLOCK, REASON_INPUT), dict)
    # Slack sends null for an input left empty; the service then asks for a reason.
    value = payload["view"]["state"]["values"][REASON_BLOCK][REASON_INPUT].get("value")
    if value is not None and not isinstance(value, str):
        raise PayloadShapeError(
            ("view", "state", "values", REASON_BLOCK, REASON_INPUT, "value"), "str"
        )


def payload_shape_check(payload: Any) -> None:
    """Raise PayloadShapeError unless ``payload`` has every field the handlers read, each of
    its JSON type. Payload types the portal does not handle pass with only ``type`` checked."""
    if not isinstance(payload, dict):
        raise PayloadShapeError((), "dict")
    kind = _get(payload, ("type",), str)
    if kind == "block_actions":
        _check_block_actions(payload)
    elif kind == "view_submission":
        _check_view_submission(payload)
