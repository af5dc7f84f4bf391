"""A value of the wrong JSON type is a 400 problem naming its field, never a 500 nor a value
taken for another: every field of every body the API takes (walked from the write views the
URL resolver mounts) is sent, in an otherwise good body, a list, an object, a boolean,
numbers beyond a 64-bit integer, text where a number is expected and dates out of range,
and nothing changes (docs/api.md, "Errors")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework import serializers

from .test_unknown_fields import _snapshot, _write_endpoints

pytestmark = pytest.mark.django_db

BIG = (2**63, 2**64, -(2**63) - 1, 10**30)
TEXT_IN_NUMBERS = ("abc", "1e5", "0x10", "١٢", "NaN", "Infinity", "12 hours")
DATES = (
    "not a date",
    "2026-13-45T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-06-01T12:00:00+99:00",
)


def _wrong(field: serializers.Field) -> list[object]:
    """Values of a wrong JSON type (or beyond range) for a body field of this kind."""
    common: list[object] = [["a"], {"id": 1}, True, False]
    if isinstance(field, serializers.IntegerField):
        return [*common, *BIG, *TEXT_IN_NUMBERS, 1.5, -1, 0]
    if isinstance(field, serializers.DecimalField):
        return [*common, *BIG, *TEXT_IN_NUMBERS, 1e308, -1e308]
    if isinstance(field, serializers.DateTimeField):
        return [*common, *BIG, 12345, 1.5, *DATES]
    return [*common, *BIG]


def test_every_field_of_every_body_refuses_values_of_the_wrong_type(
    api, requester, approver, dpo, role, pending, live_grant
):
    # given, for every write endpoint that takes a body, a caller who may use it and a body
    # it would accept
    callers = {
        "api/me/requests/": (requester, ""),
        "api/me/grants/": (live_grant.user, live_grant.pk),
        "api/queue/": (approver, pending.pk),
        "api/grants/": (dpo, live_grant.pk),
    }
    good = {
        "role": role.pk,
        "duration_hours": 1,
        "extend_by_hours": 1,
        "comment": "ok",
        "ends_at": (pending.ends_at - timedelta(minutes=30)).isoformat(),
        "reason": "Left the team",
    }
    # what a field stands instead of (giving both is refused for that reason)
    instead = {"asset": ("role",), "ends_at": ("duration_hours", "extend_by_hours")}
    endpoints = [e for e in _write_endpoints() if e[2].body_serializer is not None]
    assert len(endpoints) >= 6
    before = _snapshot()
    sent = 0
    for route, method, view in endpoints:
        user, pk = next(v for prefix, v in callers.items() if route.startswith(prefix))
        path = "/" + route.replace("<str:pk>", str(pk))
        client = api(user=user)
        client.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
        fields = view.body_serializer().fields
        base = {k: v for k, v in good.items() if k in fields}
        if "duration_hours" in base or "extend_by_hours" in base:
            base.pop("ends_at", None)
        for name, field in fields.items():
            for value in _wrong(field):
                # when one field holds a value of the wrong type
                body = {k: v for k, v in base.items() if k not in instead.get(name, ())}
                body[name] = value
                response = client.call(method.upper(), path, body)
                sent += 1
                what = (path, name, value, response.status_code, response.content[:300])
                # then it is a 400 problem naming that field
                assert response.status_code == 400, what
                assert response["Content-Type"] == "application/problem+json", what
                pointers = {e.get("pointer") for e in response.json().get("errors", [])}
                assert f"#/{name}" in pointers, what
    assert sent > 200
    # and nothing was done anywhere
    assert _snapshot() == before
