"""Inventory reads, the record of processing as JSON, access registers and the audit trail
with a cursor, through the API; the schema validates and its reference is served offline."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.core.management import call_command
from django.test import Client

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from apps.reports.ropa import ropa_build
from tests.factories import ProcessingActivityFactory

from .conftest import make_token

pytestmark = pytest.mark.django_db


def test_inventory_lists_search_and_paginate(api, auditor, asset, special_asset):
    client = api(token=make_token(auditor, "read"))
    assets = client.get("/api/inventory/assets/", {"page_size": 1}).json()
    assert assets["count"] == 2 and len(assets["results"]) == 1 and assets["next"]
    found = client.get("/api/inventory/assets/", {"q": "accessib"}).json()
    assert [a["id"] for a in found["results"]] == [special_asset.pk]
    assert found["results"][0]["is_special"] is True
    assert found["results"][0]["categories"] == ["health"]
    system = client.get(f"/api/inventory/systems/{asset.system_id}/").json()
    assert system["id"] == asset.system_id
    activity = ProcessingActivityFactory(name="Complaints")
    activity.assets.add(asset)
    listed = client.get("/api/inventory/processing-activities/").json()["results"]
    assert [(a["name"], a["assets"]) for a in listed] == [("Complaints", [asset.pk])]
    assert client.get("/api/inventory/assets/", {"page": "99"}).status_code == 404
    assert client.get("/api/inventory/assets/", {"q": "x" * 201}).status_code == 400


def test_the_ropa_is_the_document_the_page_downloads(api, dpo, asset):
    activity = ProcessingActivityFactory(name="Complaints")
    activity.assets.add(asset)
    body = api(token=make_token(dpo, "read")).get("/api/ropa/").json()
    expected = ropa_build()
    assert body["record"] == expected["record"]
    assert [r["id"] for r in body["activities"]] == [activity.pk]
    assert [r["id"] for r in expected["activities"]] == [activity.pk]
    bad = api(user=dpo).get("/api/ropa/", {"record": "mine"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["pointer"] == "#/record"


def test_the_access_register_lists_the_grants_of_the_period(api, auditor, live_grant, asset):
    client = api(token=make_token(auditor, "read"))
    rows = client.get("/api/registers/asset/", {"asset": asset.pk}).json()
    assert rows["count"] == 1
    assert rows["results"][0]["grant"] == live_grant.pk
    assert rows["results"][0]["user"] == "holder"
    by_user = client.get("/api/registers/user/", {"user": live_grant.user_id}).json()
    assert [r["grant"] for r in by_user["results"]] == [live_grant.pk]
    missing = client.get("/api/registers/asset/")
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["pointer"] == "#/asset"


def test_the_audit_trail_pages_with_a_stable_cursor(api, auditor, groups):
    for n in range(5):
        audit_event_record(action="test.event", actor_label="system:test", data={"n": n})
    client = api(token=make_token(auditor, "audit"))
    first = client.get("/api/audit/events/", {"page_size": 3, "action": "test.event"}).json()
    assert [e["data"]["n"] for e in first["results"]] == [0, 1, 2]
    # events appended meanwhile are neither skipped nor repeated
    audit_event_record(action="test.event", actor_label="system:test", data={"n": 5})
    cursor = unquote(re.search(r"cursor=([^&]+)", first["next"]).group(1))
    second = client.get(
        "/api/audit/events/", {"page_size": 3, "action": "test.event", "cursor": cursor}
    ).json()
    assert [e["data"]["n"] for e in second["results"]] == [3, 4, 5]
    assert second["results"][0]["hash"] == AuditEvent.objects.get(data__n=3).hash
    broken = client.get("/api/audit/events/", {"cursor": "garbage"})
    assert broken.status_code == 400
    assert broken["Content-Type"] == "application/problem+json"


def test_the_schema_validates_without_warnings(tmp_path):
    # the command CI runs (.ci/run)
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    text = (tmp_path / "schema.yaml").read_text()
    assert "/api/queue/{id}/approve/" in text and "integrationToken" in text


def test_the_reference_is_served_from_the_portal_with_no_inline_code(groups):
    client = Client()
    schema = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert schema.status_code == 200 and b'"openapi"' in schema.content
    page = client.get("/api/docs/")
    html = page.content.decode()
    assert page.status_code == 200
    # Swagger UI from the sidecar's static files, no CDN; its script from ?script
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "<style" not in html and re.search(r"<script>", html) is None
    script = client.get("/api/docs/?script")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    assert b"/api/schema/" in script.content


def _paginated_routes() -> list[str]:
    """Every GET route under /api/ without a path parameter whose view paginates."""
    from apps.api.urls import urlpatterns

    routes = []
    for pattern in urlpatterns:
        view = getattr(pattern.callback, "cls", None)
        route = str(pattern.pattern)
        if view is None or "<" in route or not getattr(view, "pagination_class", None):
            continue
        if not hasattr(view, "get"):
            continue
        routes.append("/api/" + route.lstrip("^").rstrip("$"))
    return routes


def test_every_paginated_list_is_walked():
    routes = _paginated_routes()
    assert "/api/inventory/assets/" in routes and "/api/audit/events/" in routes


@pytest.mark.parametrize("route", _paginated_routes())
@pytest.mark.parametrize("size", ["0", "abc", "1e3", "-1", "\uff11", "99999999999999999999", ""])
def test_a_page_size_that_is_no_size_is_refused(route, size):
    # given a superuser and a paginated list that answers them
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    first = client.get(route)
    if first.status_code != 200 or "results" not in first.json():
        pytest.skip(f"{route} is one document, or needs more than a page size")
    # when a page size that is not a whole number in range is asked for
    response = client.get(route, {"page_size": size})
    # then it is refused, naming the range, instead of quietly giving another size
    assert response.status_code == 400, (route, response.content[:300])
    maximum = 1000 if route == "/api/audit/events/" else 200
    assert response.json()["errors"] == [
        {"detail": f"Give a page size from 1 to {maximum}.", "pointer": "#/page_size"}
    ]
