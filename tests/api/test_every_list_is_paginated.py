"""Every list of the API is paginated, and every ``*_label`` is a label, not its code.

The endpoints come from the OpenAPI schema drf-spectacular builds from the URL resolver at run
time, so an endpoint added later is walked without changing this test: no answer is a bare
JSON list (in the schema or on the wire), every list answers the page envelope (docs/api.md),
and every field ``x_label`` beside a field ``x`` in any answer reads differently from the code
``x`` in German (the label is translated, not the code repeated).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from apps.access import services
from apps.access.models import RequestStatus
from apps.connectors.models import Provisioning, ProvisioningState, Target
from tests.access.factories import AccessRoleFactory
from tests.factories import ProcessingActivityFactory, SystemFactory, UserFactory

from .conftest import Api, ask

pytestmark = pytest.mark.django_db

PAGE = {"count", "next", "previous", "results"}
CURSOR = {"next", "previous", "results"}


def _schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _ok_schema(operation: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    for code, response in operation.get("responses", {}).items():
        if code.startswith("2"):
            body = response.get("content", {}).get("application/json", {}).get("schema")
            if body is None:
                return None
            ref = body.get("$ref")
            return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else body
    return None


def _like(role, name: str):
    return AccessRoleFactory(
        name=name,
        assets=list(role.assets.all()),
        approver_groups=list(role.approver_groups.all()),
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )


@pytest.fixture
def world(groups, role, asset, approvers_group):
    """A holder who may read everything, with requests in every state, a grant with an account
    in every holder state, and others' requests waiting; the register's own rows."""
    me = UserFactory(
        username="reader", is_staff=True, is_superuser=True, groups=["Staff", "Approvers"]
    )
    other = UserFactory(username="other", groups=["Staff"])
    decider = UserFactory(username="decider", groups=["Approvers"], is_staff=True)
    SystemFactory()
    granted = ask(me, role)
    services.access_request_approve(request_id=granted.pk, approver=decider)
    granted.refresh_from_db()
    grant = granted.grant
    second = _like(role, "Second")
    services.access_request_cancel(request_id=ask(me, second).pk, actor=me)
    third = _like(role, "Third")
    services.access_request_deny(request_id=ask(me, third).pk, approver=decider, reason="No")
    ask(me, _like(role, "Fourth"))
    waiting = ask(other, role)
    ProcessingActivityFactory().assets.add(asset)
    now = timezone.now()
    states = {
        "setting_up": {},
        "ready": {"state": ProvisioningState.PROVISIONED},
        "failed": {"state": ProvisioningState.FAILED, "alerted_at": now},
        "removing": {"state": ProvisioningState.PROVISIONED, "remove_requested_at": now},
        "removed": {"state": ProvisioningState.DEPROVISIONED, "remove_requested_at": now},
    }
    for index, (name, fields) in enumerate(states.items()):
        target = Target.objects.create(
            name=f"Target {name}",
            kind="postgresql",
            account_prefix=f"jp{index}_",
            options={"host": "db.example", "port": 5432 + index, "database": "crm"},
        )
        Provisioning.objects.create(grant=grant, target=target, account=f"jp{index}_a", **fields)
    return {"me": me, "grant": grant, "waiting": waiting, "asset": asset}


def _fill(path: str, world: dict[str, Any]) -> str:
    """The path with its ``{id}`` filled from the world, by the resource it names."""
    from apps.inventory.models import DataAsset, ProcessingActivity, System

    by_prefix = {
        "/api/me/requests/": world["grant"].request_id,
        "/api/me/grants/": world["grant"].pk,
        "/api/queue/": world["waiting"].pk,
        "/api/grants/": world["grant"].pk,
        "/api/inventory/systems/": System.objects.values_list("pk", flat=True).first(),
        "/api/inventory/assets/": DataAsset.objects.values_list("pk", flat=True).first(),
        "/api/inventory/processing-activities/": ProcessingActivity.objects.values_list(
            "pk", flat=True
        ).first(),
    }
    if "{" not in path:
        return path
    for prefix, pk in by_prefix.items():
        if path.startswith(prefix):
            return re.sub(r"\{\w+\}", str(pk), path, count=1)
    raise AssertionError(f"{path}: no sample id; name one here")


def _query(operation: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    values = {"asset": world["asset"].pk, "user": world["me"].pk}
    query = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query" and parameter.get("required"):
            assert parameter["name"] in values, f"no sample value for ?{parameter['name']}="
            query[parameter["name"]] = values[parameter["name"]]
    return query


def _labels(value: Any, where: str) -> list[tuple[str, Any, Any]]:
    """Every (place, code, label) of a ``x_label`` beside an ``x``, anywhere in an answer."""
    found: list[tuple[str, Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            code_key = key.removesuffix("_label")
            if key.endswith("_label") and code_key in value:
                found.append((f"{where}.{key}", value[code_key], item))
            found += _labels(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _labels(item, f"{where}[{index}]")
    return found


def test_every_list_is_paginated_and_every_label_is_translated(world):
    # given every GET endpoint of the schema, called in German by someone who may read it all
    schema = _schema()
    client = Api(user=world["me"])
    client.headers["Accept-Language"] = "de"
    lists, labels, bare = [], [], []
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if operation is None or path == "/api/schema/":
            continue
        body = _ok_schema(operation, schema)
        if body is None:
            continue
        if body.get("type") == "array":
            bare.append(path)
            continue
        url = _fill(path, world)
        response = client.get(url, _query(operation, world))
        assert response.status_code == 200, (url, response.content[:300])
        answer = response.json()
        # when the schema says it is a list, the answer is the page envelope
        if set(body.get("properties", {})) >= CURSOR:
            lists.append(path)
            assert isinstance(answer, dict) and set(answer) >= CURSOR, url
            assert set(answer) in (PAGE, CURSOR), (url, set(answer))
            assert isinstance(answer["results"], list), url
        assert not isinstance(answer, list), f"{url} answers a bare list"
        labels += _labels(answer, url)
    # then no endpoint is a bare list, and the lists are the ones docs/api.md names
    assert bare == []
    assert "/api/me/grants/{id}/accounts/" in lists
    assert len(lists) >= 11
    # and no label repeats its code (every kind of label met, each holder state among them)
    assert [(where, code) for where, code, label in labels if str(label) == str(code)] == []
    kinds = {where.rsplit(".", 1)[1] for where, _code, _label in labels}
    assert {"status_label", "state_label"} <= kinds
    states = {code for where, code, _label in labels if where.endswith("state_label")}
    assert states == {"setting_up", "ready", "failed", "removing", "removed"}
    statuses = {code for where, code, _label in labels if where.endswith("status_label")}
    assert {RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.DENIED} <= statuses


def test_an_accounts_answer_has_an_integer_port_and_the_readers_label(world):
    # given the grant's accounts, read in each language
    url = f"/api/me/grants/{world['grant'].pk}/accounts/"
    said = {}
    for language in ("en", "de", "fr"):
        client = Api(user=world["me"])
        client.headers["Accept-Language"] = language
        answer = client.get(url).json()
        said[language] = {row["state"]: row["state_label"] for row in answer["results"]}
        # then each row's port is a whole number, as the schema says
        assert all(isinstance(row["port"], int) for row in answer["results"])
    # and the label is the reader's own word for the state
    assert said["en"]["removed"] == "removed"
    assert said["de"]["removed"] == "entfernt"
    assert said["fr"]["removed"] == "supprimé"
    assert said["de"]["ready"] == "bereit"
    # and a page of one says how many there are
    client = Api(user=world["me"])
    page = client.get(url, {"page_size": 1}).json()
    assert page["count"] == 5 and len(page["results"]) == 1 and page["next"]
