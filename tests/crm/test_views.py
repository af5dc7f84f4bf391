"""Record pages open only inside a live grant's window, and every view is logged."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from apps.access import services
from apps.audit.models import AuditEvent
from apps.audit.services import audit_search_term_digest
from apps.crm.models import Customer
from tests.factories import UserFactory

from .conftest import make_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_staff(client, staff_user):
    client.force_login(staff_user)
    return client


def urls_for(customer):
    ticket = customer.tickets.order_by("pk").first()
    return {
        "list": reverse("crm-customer-list"),
        "customer": reverse("crm-customer-detail", args=[customer.pk]),
        "ticket": reverse("crm-ticket-detail", args=[ticket.pk]),
        "tickets": reverse("crm-ticket-list"),
    }


@pytest.mark.parametrize("page", ["list", "customer", "ticket", "tickets"])
def test_refused_without_a_grant(client_staff, crm_role, ada, customers_asset, tickets_asset, page):
    # given a staff member with no grant
    response = client_staff.get(urls_for(ada)[page])
    # then a 403 page explains why and links to the request form for the asset
    assert response.status_code == 403
    html = response.content.decode()
    assert "No live grant — request access" in html
    asset = tickets_asset if page.startswith("ticket") else customers_asset
    assert f"{reverse('access-request-create')}?asset={asset.pk}" in html
    assert "Ada Lovelace" not in html
    assert not AuditEvent.objects.filter(action__startswith="access.record").exists()


def test_refusal_does_not_tell_whether_an_id_exists(client_staff, crm_role):
    response = client_staff.get(reverse("crm-customer-detail", args=[987654]))
    assert response.status_code == 403


def test_refusal_for_someone_who_may_not_ask(client_staff, customers_asset, approvers, ada):
    # given the only role over the customers is offered to the DPO group alone
    from django.contrib.auth.models import Group

    make_role(
        name="DPO only",
        assets=[customers_asset],
        approver_groups=[approvers],
        requestable_by_groups=[Group.objects.get(name="DPO")],
    )
    response = client_staff.get(reverse("crm-customer-list"))
    html = response.content.decode()
    assert response.status_code == 403
    assert "no role you may ask for covers it" in html
    assert f"?asset={customers_asset.pk}" not in html


def test_open_inside_the_window_and_logged(
    client_staff, staff_user, crm_role, grant_on, ada, grace
):
    # given a live grant on the customers and their tickets
    grant = grant_on(staff_user, role=crm_role)
    urls = urls_for(ada)
    ticket = ada.tickets.order_by("pk").first()

    # when the staff member opens the list, a customer and a ticket
    listing = client_staff.get(urls["list"])
    detail = client_staff.get(urls["customer"])
    ticket_page = client_staff.get(urls["ticket"])

    # then the pages show the records
    assert listing.status_code == detail.status_code == ticket_page.status_code == 200
    assert "Ada Lovelace" in listing.content.decode()
    assert "Grace Hopper" in listing.content.decode()
    assert "ada@example.org" in detail.content.decode()
    assert "Charged twice." in ticket_page.content.decode()
    assert f"grant <strong>#{grant.pk}</strong>" in detail.content.decode()

    # and each view is in the audit trail with who, what and under which grant
    listed = AuditEvent.objects.get(action="access.records.listed", data__model="crm.customer")
    assert listed.actor == staff_user
    assert listed.data["grant"] == grant.pk
    assert sorted(listed.data["ids"]) == sorted([ada.pk, grace.pk])
    viewed = AuditEvent.objects.get(action="access.record.viewed", target_type="crm.customer")
    assert viewed.actor == staff_user and viewed.target_id == str(ada.pk)
    assert viewed.data["grant"] == grant.pk
    viewed_ticket = AuditEvent.objects.get(
        action="access.record.viewed", target_type="crm.supportticket"
    )
    assert viewed_ticket.target_id == str(ticket.pk)
    assert viewed_ticket.data["grant"] == grant.pk
    # the customer page listed the tickets it showed
    shown = AuditEvent.objects.get(action="access.records.listed", data__model="crm.supportticket")
    assert sorted(shown.data["ids"]) == sorted(ada.tickets.values_list("pk", flat=True))


def test_refused_again_after_the_end(client_staff, staff_user, crm_role, grant_on, ada):
    # given a grant of two hours
    grant = grant_on(staff_user, role=crm_role, hours=2)
    urls = urls_for(ada)
    assert client_staff.get(urls["customer"]).status_code == 200
    # when the window has closed (and no beat has tidied anything up)
    with time_machine.travel(grant.ends_at + timedelta(seconds=1)):
        responses = {name: client_staff.get(url) for name, url in urls.items()}
    # then every page refuses again
    assert {name: r.status_code for name, r in responses.items()} == {
        "list": 403,
        "customer": 403,
        "ticket": 403,
        "tickets": 403,
    }
    # one second before the end it was still open
    with time_machine.travel(grant.ends_at - timedelta(seconds=1)):
        assert client_staff.get(urls["customer"]).status_code == 200


def test_refused_before_a_scheduled_grant_starts(client_staff, staff_user, crm_role, grant_on, ada):
    grant = grant_on(staff_user, role=crm_role, starts_in=timedelta(hours=3))
    response = client_staff.get(urls_for(ada)["customer"])
    assert response.status_code == 403
    assert "Your next grant on this data starts" in response.content.decode()
    with time_machine.travel(grant.starts_at + timedelta(minutes=1)):
        assert client_staff.get(urls_for(ada)["customer"]).status_code == 200


def test_refused_after_a_revoke(client_staff, staff_user, crm_role, grant_on, approver, ada):
    grant = grant_on(staff_user, role=crm_role)
    services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Ticket closed")
    assert client_staff.get(urls_for(ada)["customer"]).status_code == 403


def test_refused_after_giving_it_back(client_staff, staff_user, crm_role, grant_on, ada):
    grant = grant_on(staff_user, role=crm_role)
    client_staff.post(reverse("access-grant-relinquish", args=[grant.pk]))
    assert client_staff.get(urls_for(ada)["customer"]).status_code == 403


def test_someone_elses_grant_opens_nothing(client_staff, crm_role, grant_on, groups, ada):
    colleague = UserFactory(username="colleague", groups=["Staff"])
    grant_on(colleague, role=crm_role)
    assert client_staff.get(urls_for(ada)["customer"]).status_code == 403


def test_health_notes_shown_under_a_special_asset_grant(
    client_staff, staff_user, crm_role, grant_on, ada, customers_asset
):
    assert customers_asset.is_special
    grant_on(staff_user, role=crm_role)
    html = client_staff.get(urls_for(ada)["customer"]).content.decode()
    assert "Hearing impaired: prefers email." in html


def test_health_notes_hidden_under_an_ordinary_asset_grant(
    client_staff, staff_user, contacts_asset, grant_on, ada
):
    # given a grant only on an ordinary asset over the same customers
    assert not contacts_asset.is_special
    grant_on(staff_user, asset=contacts_asset)
    # then the customer is shown without the Art. 9 notes, and without the tickets
    response = client_staff.get(urls_for(ada)["customer"])
    html = response.content.decode()
    assert response.status_code == 200
    assert "ada@example.org" in html
    assert "Hearing impaired" not in html
    assert "Hidden: shown only under a grant on an asset that holds special-category data" in html
    assert "Tickets are another data asset" in html
    assert "Invoice shows the wrong amount" not in html


def test_tickets_only_grant_does_not_open_customers(
    client_staff, staff_user, tickets_role, grant_on, ada
):
    grant = grant_on(staff_user, role=tickets_role)
    urls = urls_for(ada)
    assert client_staff.get(urls["ticket"]).status_code == 200
    tickets = client_staff.get(urls["tickets"], {"q": "invoice", "status": "open"})
    assert tickets.status_code == 200
    assert [t.subject for t in tickets.context["page"].object_list] == [
        "Invoice shows the wrong amount"
    ]
    listed = AuditEvent.objects.get(action="access.records.listed", data__model="crm.supportticket")
    assert listed.data["grant"] == grant.pk
    # the search is stored only as its keyed digest
    assert listed.data["query_digest"] == audit_search_term_digest("invoice")
    assert "invoice" not in json.dumps(listed.data)
    # the customers stay closed, and the refusal points at what the grant does open
    refused = client_staff.get(urls["customer"])
    assert refused.status_code == 403
    assert "Your live grants open" in refused.content.decode()
    assert reverse("crm-ticket-list") in refused.content.decode()


def test_unknown_record_with_a_grant_is_404(client_staff, staff_user, crm_role, grant_on):
    grant_on(staff_user, role=crm_role)
    assert client_staff.get(reverse("crm-customer-detail", args=[987654])).status_code == 404
    assert client_staff.get(reverse("crm-ticket-detail", args=[987654])).status_code == 404


def test_list_search_filter_and_paging(client_staff, staff_user, crm_role, grant_on, ada, grace):
    grant_on(staff_user, role=crm_role)
    Customer.objects.bulk_create(
        [Customer(external_ref=f"B-{n:03d}", full_name=f"Bulk {n:03d}") for n in range(30)]
    )
    url = reverse("crm-customer-list")
    found = client_staff.get(url, {"q": "lovelace"})
    closed = client_staff.get(url, {"status": "closed"})
    second = client_staff.get(url, {"page": "2"})
    assert [c.pk for c in found.context["page"].object_list] == [ada.pk]
    assert [c.pk for c in closed.context["page"].object_list] == [grace.pk]
    assert second.context["page"].number == 2
    # the page logged is the page shown
    last = AuditEvent.objects.filter(action="access.records.listed").order_by("-pk").first()
    assert last.data["page"] == 2
    assert sorted(last.data["ids"]) == sorted(c.pk for c in second.context["page"].object_list)


@pytest.mark.parametrize(
    "query",
    [
        {"q": "%_'\"; drop table"},
        {"page": "-1"},
        {"page": "99999999999999999999"},
        {"status": "<script>"},
    ],
)
def test_list_with_odd_input_does_not_fail(
    client_staff, staff_user, crm_role, grant_on, ada, query
):
    grant_on(staff_user, role=crm_role)
    response = client_staff.get(reverse("crm-customer-list"), query)
    assert response.status_code == 200


@pytest.mark.parametrize("q", ["x" * 5000, "\x1b[2J\u200b"])
def test_a_search_with_control_characters_or_too_long_is_not_run(
    client_staff, staff_user, crm_role, grant_on, ada, q
):
    # given a member of staff who may read customers
    grant_on(staff_user, role=crm_role)
    # when the list is searched for an over-long text or one with a control character
    url = reverse("crm-customer-list")
    response = client_staff.get(url, {"q": q, "status": "active"})
    # then the list is shown again without the search (the filter kept), saying why
    assert response.status_code == 302 and response["Location"] == f"{url}?status=active"
    assert "The search was not run." in client_staff.get(response["Location"]).content.decode()


def test_anonymous_is_sent_to_login(client, ada):
    for url in urls_for(ada).values():
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_no_asset_registered_for_the_model(client_staff, ada):
    # given nobody registered the CRM as a data asset: nobody can be granted access
    response = client_staff.get(reverse("crm-customer-list"))
    assert response.status_code == 403
    assert "not registered as a data asset" in response.content.decode()
