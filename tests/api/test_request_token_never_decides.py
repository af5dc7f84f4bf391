"""A token with the ``request`` scope never decides, through any endpoint of the API: every
route the URL resolver mounts under /api/ is called with every method, every id we hold and
a body any decision would take, by an approver who may decide everything (so only the
token's scope stands in the way)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from apps.access.models import AccessRequest, Approval, Grant, RequestStatus
from apps.api.authentication import view_token_scopes
from apps.audit.models import AuditEvent

from .conftest import make_token

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DECISION_ACTIONS = (
    "access.approval.given",
    "access.request.approved",
    "access.request.denied",
    "access.grant.revoked",
    "access.grant.break_glass",
)


def api_routes() -> list[tuple[str, object]]:
    """(route, view class) of every URL mounted under api/, from the resolver."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and route.startswith("api/"):
                found.append((route, getattr(entry.callback, "view_class", None)))

    walk(get_resolver().url_patterns, "")
    return found


def test_the_walk_finds_every_api_route():
    routes = [r for r, _v in api_routes()]
    assert len(routes) >= 25
    assert "api/queue/<str:pk>/approve/" in routes and "api/grants/<str:pk>/revoke/" in routes


def test_a_request_token_cannot_decide_through_any_endpoint(
    api, approver, pending, pending_special, live_grant
):
    # given an approver (who may decide every pending request and revoke any grant) holding
    # a token with only the request scope
    client = api(token=make_token(approver, "request"))
    ids = {str(pending.pk), str(pending_special.pk), str(live_grant.pk)}
    body = {
        "comment": "ok",
        "reason": "because",
        "ends_at": (pending.ends_at - timedelta(minutes=30)).isoformat(),
    }
    events_before = AuditEvent.objects.filter(action__in=DECISION_ACTIONS).count()
    answered = 0
    # when every route is called with every method and every id
    for route, view in api_routes():
        paths = {
            "/" + re.sub(r"<(?:\w+:)?pk>", pk, route) for pk in (ids if "<" in route else {""})
        }
        for path in paths:
            for method in METHODS:
                response = client.call(method, path, body)
                answered += 1
                scopes = view_token_scopes(view, method) if view else ()
                if response.status_code < 300:
                    # then only endpoints open to the request scope (or to anyone) answer
                    assert method == "GET" or "request" in scopes, (method, path)
                    assert "decide" not in scopes or "request" in scopes, (method, path)
                elif "decide" in scopes and "request" not in scopes:
                    assert response.status_code == 403, (method, path, response.content)
    assert answered > 100
    # and nothing was decided: no approval, no new grant, no decision event, nothing revoked
    assert not Approval.objects.filter(approver=approver).exists()
    assert set(
        AccessRequest.objects.filter(pk__in=[pending.pk, pending_special.pk]).values_list(
            "status", flat=True
        )
    ) == {RequestStatus.PENDING}
    assert Grant.objects.count() == 1 and Grant.objects.get().is_live()
    assert AuditEvent.objects.filter(action__in=DECISION_ACTIONS).count() == events_before


def test_no_decision_endpoint_takes_the_request_scope():
    for route, view in api_routes():
        for method in METHODS:
            scopes = view_token_scopes(view, method) if view else ()
            if any(word in route for word in ("approve", "deny", "shorten", "revoke", "break")):
                assert "request" not in scopes, (route, method)
