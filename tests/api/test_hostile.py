"""Hostile values in every parameter of every API read answer with a problem detail, never
a 500 (architecture.md, invariant 8), whoever asks."""

from __future__ import annotations

import pytest

from .test_request_token_never_decides import api_routes

pytestmark = pytest.mark.django_db

VALUES = ["99999999999999999999", "²", "9999-12-31", "\u200b", "\x1b[2J", "-1", "0", "x" * 300]
PARAMS = (
    "page", "page_size", "q", "status", "live", "asset", "user", "role", "requester",
    "special", "age", "record", "start", "end", "cursor", "action", "target_type",
)  # fmt: skip


def _check(response, path: str) -> None:
    assert response.status_code < 500, path
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json", path


def test_every_read_answers_hostile_parameters_without_a_500(api, dpo, pending, live_grant):
    # given every API route, read by the DPO (who may read them all)
    client = api(user=dpo)
    checked = 0
    for route, _view in api_routes():
        if route.startswith("api/docs") or route.startswith("api/schema"):
            continue
        # when a hostile id is in the path
        for pk in ("99999999999999999999", "²", "0", "1\u200b"):
            if "<str:pk>" in route:
                path = "/" + route.replace("<str:pk>", pk)
                _check(client.get(path), path)
                checked += 1
        path = "/" + route.replace("<str:pk>", str(pending.pk))
        # and hostile values in every parameter, all at once and one at a time
        for value in VALUES:
            _check(client.get(path, dict.fromkeys(PARAMS, value)), path)
            checked += 1
        for name in PARAMS:
            _check(client.get(path, {name: "²"}), f"{path}?{name}")
            checked += 1
    # then every answer is a page or a problem detail
    assert checked > 500
