"""A field an endpoint does not take is refused, never ignored: every write endpoint the URL
resolver mounts under /api/ is sent its own body plus a misspelt field (``end_at`` for
``ends_at``) and a read-only one, in English, German and French, and answers a 400 problem
naming each, with nothing changed. The OpenAPI schema lists the same write endpoints and, for
each, exactly the fields the endpoint takes (docs/api.md, "Errors")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.access.models import AccessRequest, Approval, Grant
from apps.api.views.base import ApiView
from apps.audit.models import AuditEvent
from tests.factories import UserFactory

from .conftest import ask
from .test_request_token_never_decides import api_routes

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
LANGUAGES = ("en", "de", "fr")


def _write_endpoints() -> list[tuple[str, str, type[ApiView]]]:
    """(route, method, view class) of every unsafe method a view under /api/ offers."""
    found = []
    for route, view in api_routes():
        if view is None or not issubclass(view, ApiView):
            continue
        found += [(route, m, view) for m in WRITE_METHODS if hasattr(view, m)]
    return found


def _shape(route: str) -> str:
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", route.lstrip("/"))


def _fields(view: type[ApiView]) -> dict[str, bool]:
    """The body's field names -> read-only, from the view's body serializer."""
    if view.body_serializer is None:
        return {}
    return {name: f.read_only for name, f in view.body_serializer().fields.items()}


def _snapshot() -> tuple:
    return (
        sorted(AccessRequest.objects.values_list("pk", "status", "ends_at")),
        sorted(Grant.objects.values_list("pk", "status", "ends_at", "revoked_at")),
        Approval.objects.count(),
        AuditEvent.objects.count(),
    )


def test_every_write_endpoint_refuses_fields_it_does_not_take(
    api, role, special_role, pending, live_grant
):
    # given a superuser (every permission) with a pending request and a live grant of their
    # own, and rows for every id an address takes
    root = UserFactory(username="root", is_staff=True, is_superuser=True, groups=["Staff"])
    held = ask(root, role, hours=3)
    services_approve(held)
    mine = ask(root, special_role)
    ids = {
        "api/me/requests/": mine.pk,
        "api/me/grants/": Grant.objects.get(request=held).pk,
        "api/queue/": pending.pk,
        "api/grants/": live_grant.pk,
    }
    endpoints = _write_endpoints()
    assert len(endpoints) >= 10
    before = _snapshot()
    for route, method, view in endpoints:
        pk = next((v for prefix, v in ids.items() if route.startswith(prefix)), 1)
        path = "/" + re.sub(r"<(?:\w+:)?pk>", str(pk), route).replace("<str:account>", "1")
        fields = _fields(view)
        body = {name: _value(name) for name, read_only in fields.items() if not read_only}
        body["end_at"] = (live_grant.ends_at + timedelta(hours=1)).isoformat()
        body["status"] = "approved"
        details = set()
        for language in LANGUAGES:
            # when the endpoint is sent its own fields plus a misspelt and a read-only one
            client = api(user=root)
            client.client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
            response = client.call(method.upper(), path, body)
            # then it is a 400 problem naming each of them, in the reader's language
            what = (method, path, language, response.content[:300])
            assert response.status_code == 400, what
            problem = response.json()
            assert problem["type"] == "urn:jitportal:problem:invalid-input", what
            pointers = {e.get("pointer") for e in problem["errors"]}
            assert pointers == {"#/end_at", "#/status"}, what
            assert "end_at" in problem["detail"] and "status" in problem["detail"], what
            if view.serializer_class is not None and "status" in view.serializer_class().fields:
                # a field of the answer is told that it cannot be set, not that it is unknown
                said = {e["pointer"]: e["detail"] for e in problem["errors"]}
                assert said["#/status"] != said["#/end_at"].replace("end_at", "status"), what
            details.add(problem["detail"])
        assert len(details) == len(LANGUAGES), (path, details)
    # and nothing was done anywhere
    assert _snapshot() == before


def test_the_schema_lists_every_write_endpoint_with_the_fields_it_takes():
    # given the OpenAPI schema as the API serves it
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    documented = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in WRITE_METHODS:
                documented[(_shape(path), method)] = operation.get("requestBody")
    walked = {(_shape("/" + route), method): view for route, method, view in _write_endpoints()}
    # then it documents exactly the write endpoints the resolver mounts
    assert set(documented) == set(walked)
    for key, view in walked.items():
        body = documented[key]
        if view.body_serializer is None:
            # and no body where the endpoint takes none
            assert body is None, key
            continue
        ref = body["content"]["application/json"]["schema"]["$ref"].rpartition("/")[2]
        component = components[ref]
        # and, where it takes one, the fields it takes and no other
        writable = {name for name, read_only in _fields(view).items() if not read_only}
        assert set(component["properties"]) == writable, key
        assert component["additionalProperties"] is False, key


def _value(name: str) -> object:
    """A plausible value for a body field (the extra fields are refused before it is read)."""
    return {"role": 1, "asset": 1, "processing_activity": 1}.get(name, "2")


def services_approve(request) -> None:
    from apps.access import services

    decider = UserFactory(username="decider2", groups=["Approvers"], is_staff=True)
    services.access_request_approve(request_id=request.pk, approver=decider)
