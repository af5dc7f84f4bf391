"""Governed records are reached only through the grant check, and every read is logged once.

The kind: every admin read of a governed model (change list, search, related lookup, change,
history, delete and add pages, actions, the autocomplete of every relation pointing at it),
and the pages of every model related to one, walked as a user without a grant, with a grant
on another asset, with the right grant, with grants on everything, and as a superuser.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.db import models
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.audit.services import audit_search_term_digest
from apps.crm.models import Customer, SupportTicket
from apps.inventory.models import DataAsset
from tests.access.factories import GrantFactory
from tests.crm.governed import (
    Endpoint,
    admin_endpoints,
    gated_admins_are_the_governed,
    governed_models,
    marked_rows_make,
    portal_urls,
    related_models,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _grant(user: User, assets: list[DataAsset]) -> None:
    if assets:
        GrantFactory(user=user, assets=assets)


def _assets_of(model: type[models.Model]) -> list[DataAsset]:
    return list(DataAsset.objects.filter(governed_model__model=model._meta.model_name))


def _access_events_since(last_id: int) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(pk__gt=last_id, action__startswith="access.record").order_by("pk")
    )


def _call(client, endpoint: Endpoint):
    if endpoint.method == "post":
        return client.post(endpoint.url, endpoint.data)
    return client.get(endpoint.url)


def test_every_admin_read_of_a_governed_model_is_gated_and_logged_once(client, crm_assets):
    # given rows of every governed model with markers in their personal fields
    governed = governed_models()
    assert set(governed) >= {Customer, SupportTicket}
    gated_admins_are_the_governed(governed)
    marked = marked_rows_make()
    walked = set(governed) | set(related_models(governed))
    everything = [a for m in governed for a in _assets_of(m)]
    checked = 0
    for model in walked:
        own = _assets_of(model) if model in governed else []
        # and the five kinds of viewer
        viewers: dict[str, tuple[User, set[type[models.Model]]]] = {}
        for kind, assets in (
            ("no grant", []),
            ("another asset", [a for a in everything if a not in own]),
            ("the right grant", own),
            ("every governed asset", everything),
        ):
            user = UserFactory(username=f"{kind.replace(' ', '-')}-{model._meta.model_name}")
            user.is_staff = True
            user.save()
            _grant(user, assets)
            opened = {m for m in governed if any(a in assets for a in _assets_of(m))}
            viewers[kind] = (user, opened)
        root = UserFactory(username=f"root-{model._meta.model_name}", is_superuser=True)
        root.is_staff = True
        root.save()
        viewers["superuser"] = (root, set(governed))
        row = marked.rows[model][0] if model in marked.rows else model.objects.first()
        search = marked.markers[model][0] if model in marked.markers else "x"
        for kind, (user, opened) in viewers.items():
            client.force_login(user)
            for endpoint in admin_endpoints(model, row, user=user, search=search):
                before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
                # when the viewer calls it
                response = _call(client, endpoint)
                where = f"{kind}: {endpoint.name} {endpoint.url}"
                # then it never fails, and no governed row it holds no grant on shows through
                assert response.status_code < 500, where
                body = response.content.decode()
                for other, markers in marked.markers.items():
                    if other not in opened:
                        leaked = [m for m in markers if m in body]
                        assert not leaked, f"{where} shows {other._meta.label} {leaked}"
                # and every read is logged once per model read, a refusal not at all
                events = _access_events_since(before or 0)
                per_model: dict[str, int] = {}
                for event in events:
                    per_model[event.data["model"]] = per_model.get(event.data["model"], 0) + 1
                assert all(count == 1 for count in per_model.values()), (where, per_model)
                label = model._meta.label_lower
                if (
                    response.status_code == 200
                    and model in governed
                    and model in opened
                    and endpoint.name != "add"
                ):
                    assert per_model.get(label) == 1, (where, per_model)
                if response.status_code in (302, 403, 404):
                    assert not events, (where, [e.action for e in events])
                if model not in opened:
                    assert label not in per_model, where
                checked += 1
            client.logout()
    assert checked > 60


def test_every_portal_records_page_is_gated_and_logged_once(client, crm_assets):
    # given rows of every governed model with markers in their personal fields
    governed = governed_models()
    marked = marked_rows_make()
    everything = [a for m in governed for a in _assets_of(m)]
    viewers = {}
    for model in governed:
        own = _assets_of(model)
        viewers[f"only {model._meta.model_name}"] = own
        viewers[f"all but {model._meta.model_name}"] = [a for a in everything if a not in own]
    viewers["no grant"] = []
    viewers["every governed asset"] = everything
    root = UserFactory(username="root-portal", is_superuser=True)
    checked = 0
    for kind, assets in viewers.items():
        user = UserFactory(username=kind.replace(" ", "-"))
        _grant(user, assets)
        opened = {m for m in governed if any(a in assets for a in _assets_of(m))}
        # (a superuser holds no grant on the portal: the same as no grant)
        for viewer in (user, root) if kind == "no grant" else (user,):
            client.force_login(viewer)
            for url in portal_urls(marked.rows):
                for query in ({}, {"q": marked.all_markers()[0]}):
                    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
                    # when the viewer opens every records page
                    response = client.get(url, query)
                    where = f"{kind} ({viewer.username}): {url} {query}"
                    # then nothing of a model they hold no grant on shows
                    assert response.status_code < 500, where
                    body = response.content.decode()
                    # (the search box shows back what the viewer typed: not a record's value)
                    typed = query.get("q")
                    for other, markers in marked.markers.items():
                        if other not in opened:
                            leaked = [m for m in markers if m in body and m != typed]
                            assert not leaked, f"{where} shows {other._meta.label} {leaked}"
                    # and each model read is logged once, a refusal not at all
                    events = _access_events_since(before or 0)
                    models_logged = [e.data["model"] for e in events]
                    assert len(models_logged) == len(set(models_logged)), (where, models_logged)
                    assert {m.split(".")[1] for m in models_logged} <= {
                        m._meta.model_name for m in opened
                    }, where
                    if response.status_code == 200:
                        assert events, where
                    else:
                        assert not events, where
                    checked += 1
    assert checked > 50


@pytest.fixture
def staff_admin(db):
    def make(username: str) -> User:
        user = UserFactory(username=username)
        user.is_staff = True
        user.save()
        return user

    return make


def test_a_tickets_grant_shows_the_customer_by_reference_only(
    client, staff_admin, tickets_asset, ada
):
    # given a user holding only a Support-tickets grant
    user = staff_admin("ticket-desk")
    GrantFactory(user=user, assets=[tickets_asset])
    client.force_login(user)
    ticket = ada.tickets.first()
    # when they open the ticket's change page
    response = client.get(reverse("admin:crm_supportticket_change", args=[ticket.pk]))
    # then the customer is shown by its reference, not by name, email or phone
    assert response.status_code == 200
    html = response.content.decode()
    assert ada.external_ref in html
    for personal in ("Ada Lovelace", "ada@example.org", "+44 20 0000 0000", "Hearing"):
        assert personal not in html
    # while the customer pages refuse them
    customer = client.get(reverse("admin:crm_customer_change", args=[ada.pk]))
    assert customer.status_code in (302, 403)
    assert "Ada Lovelace" not in customer.content.decode()


AUTOCOMPLETE = "/admin/autocomplete/?app_label=crm&model_name=supportticket&field_name=customer"


def test_autocomplete_goes_through_the_grant_check_and_is_logged(
    client, staff_admin, customers_asset, tickets_asset, ada, grace
):
    # given a user with grants on the customers and their tickets
    user = staff_admin("desk")
    grant = GrantFactory(user=user, assets=[customers_asset, tickets_asset])
    client.force_login(user)
    # when they use the customer autocomplete of the ticket form, searching by phone
    response = client.get(f"{AUTOCOMPLETE}&term=%2B44")
    # then it answers under the grant and writes the same event as the change list
    assert response.status_code == 200
    results = json.loads(response.content)["results"]
    assert [r["id"] for r in results] == [str(ada.pk)]
    listed = AuditEvent.objects.get(action="access.records.listed")
    assert listed.data["grant"] == grant.pk
    assert listed.data["model"] == "crm.customer"
    assert listed.data["ids"] == [ada.pk]
    # and the term is stored only as its keyed digest
    assert listed.data["query_digest"] == audit_search_term_digest("+44")
    assert "+44" not in json.dumps(listed.data)


def test_autocomplete_refused_without_the_grant(client, staff_admin, tickets_asset, ada):
    # given a user holding only a tickets grant (the customers are another asset)
    user = staff_admin("tickets-only")
    GrantFactory(user=user, assets=[tickets_asset])
    client.force_login(user)
    # when they ask the autocomplete for customers
    response = client.get(f"{AUTOCOMPLETE}&term=")
    # then it refuses, shows nobody and logs nothing
    assert response.status_code == 403
    assert "Lovelace" not in response.content.decode()
    assert not AuditEvent.objects.filter(action__startswith="access.record").exists()


def test_autocomplete_refused_for_a_form_the_user_cannot_open(
    client, staff_admin, customers_asset, ada
):
    # given a customers grant but none on the tickets, whose form the widget sits on
    user = staff_admin("customers-only")
    GrantFactory(user=user, assets=[customers_asset])
    client.force_login(user)
    # when they call the ticket form's customer autocomplete
    response = client.get(f"{AUTOCOMPLETE}&term=")
    # then it is refused: Django alone would serve it
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="access.record").exists()


def test_customer_page_logs_the_tickets_it_shows_inline(
    client, staff_admin, customers_asset, tickets_asset, ada
):
    # given grants on customers and tickets
    user = staff_admin("both")
    GrantFactory(user=user, assets=[customers_asset, tickets_asset])
    client.force_login(user)
    # when the customer's change page shows its tickets inline
    response = client.get(reverse("admin:crm_customer_change", args=[ada.pk]))
    assert response.status_code == 200
    # then the customer is logged as viewed and the tickets as listed, once each
    viewed = AuditEvent.objects.get(action="access.record.viewed")
    assert viewed.target_id == str(ada.pk)
    listed = AuditEvent.objects.get(action="access.records.listed")
    assert listed.data["model"] == "crm.supportticket"
    assert sorted(listed.data["ids"]) == sorted(ada.tickets.values_list("pk", flat=True))


def test_history_page_is_gated_and_logged(client, staff_admin, customers_asset, ada):
    user = staff_admin("historian")
    client.force_login(user)
    url = reverse("admin:crm_customer_history", args=[ada.pk])
    assert client.get(url).status_code in (302, 403)
    GrantFactory(user=user, assets=[customers_asset])
    assert client.get(url).status_code == 200
    viewed = AuditEvent.objects.get(action="access.record.viewed")
    assert viewed.target_id == str(ada.pk) and viewed.target_repr == ada.external_ref
