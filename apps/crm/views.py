"""Read-only portal pages on the governed CRM rows, open only under a live grant.

Every page first asks for a live grant on an asset whose ``governed_model`` is the page's
model, before looking the row up, so a refusal does not tell whether an id exists. A detail
page logs its record with ``access_record_view_log``; a list page logs one event naming the
ids it showed (apps.crm.services.records_listed_log).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from apps.access import services as access_services
from jitportal.inputs import parse_page

from . import selectors
from .models import Customer, CustomerStatus, SupportTicket, TicketStatus
from .services import records_listed_log

PAGE_SIZE = 25


class AuthedRequest(HttpRequest):
    """What the views below receive: login_required lets only a signed-in user through."""

    user: User


# The list page of each governed model, to point at what a user may open instead.
LIST_PAGES = ((Customer, "crm-customer-list"), (SupportTicket, "crm-ticket-list"))


def _refuse(request: AuthedRequest, model: type[models.Model]) -> HttpResponse:
    """The 'no live grant' page, with a request link per asset that governs ``model``."""
    elsewhere = [
        (other._meta.verbose_name_plural, reverse(url_name))
        for other, url_name in LIST_PAGES
        if other is not model
        and selectors.record_access_for_model(user=request.user, model=other) is not None
    ]
    return render(
        request,
        "crm/no_grant.html",
        {
            "what": model._meta.verbose_name_plural,
            "assets": selectors.requestable_governing_assets(user=request.user, model=model),
            "upcoming": selectors.upcoming_grants_for_model(user=request.user, model=model)[:5],
            "elsewhere": elsewhere,
        },
        status=403,
    )


def _clean_query(request: AuthedRequest) -> str:
    # A search with a control character or over SEARCH_MAX_LENGTH characters never gets
    # here: jitportal.middleware.SearchInputMiddleware sends the page back with the reason.
    return request.GET.get("q", "").strip()


def _record_list(
    request: AuthedRequest,
    *,
    model: type[models.Model],
    rows: models.QuerySet,
    search: Callable[[str], Q],
    statuses: type[models.TextChoices],
    template: str,
) -> HttpResponse:
    """A governed model's list page: searched, filtered by status, paginated, and the ids it
    shows logged as one event under the grant that opened it."""
    access = selectors.record_access_for_model(user=request.user, model=model)
    if access is None:
        return _refuse(request, model)
    query = _clean_query(request)
    status = request.GET.get("status", "")
    if query:
        rows = rows.filter(search(query))
    if status in statuses.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(parse_page(request.GET.get("page")))
    records_listed_log(
        user=request.user,
        model=model,
        ids=[row.pk for row in page.object_list],
        asset=access.asset,
        grant=access.grant,
        query=query,
        page=page.number,
    )
    return render(
        request,
        template,
        {
            "page": page,
            "query": query,
            "status": status,
            "statuses": statuses.choices,
            "access": access,
            "query_string": urlencode({k: v for k, v in (("q", query), ("status", status)) if v}),
        },
    )


@login_required
def customer_list(request: AuthedRequest) -> HttpResponse:
    return _record_list(
        request,
        model=Customer,
        rows=Customer.objects.annotate(ticket_count=Count("tickets")).order_by("full_name", "pk"),
        search=lambda query: (
            Q(full_name__icontains=query)
            | Q(external_ref__icontains=query)
            | Q(email__icontains=query)
        ),
        statuses=CustomerStatus,
        template="crm/customer_list.html",
    )


@login_required
def customer_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    if selectors.record_access_for_model(user=request.user, model=Customer) is None:
        return _refuse(request, Customer)
    customer = get_object_or_404(Customer, pk=pk)
    access = selectors.record_access_for_object(user=request.user, obj=customer)
    if access is None:
        return _refuse(request, Customer)
    access_services.access_record_view_log(user=request.user, obj=customer, grant=access.grant)
    # Art. 9 notes only under a grant on an asset holding special-category data.
    show_health = (
        selectors.record_access_for_model(user=request.user, model=Customer, special_only=True)
        is not None
    )
    # The tickets are another asset's rows: listed only under a grant on that asset too.
    ticket_access = selectors.record_access_for_model(user=request.user, model=SupportTicket)
    tickets: list[SupportTicket] = []
    if ticket_access is not None:
        tickets = list(customer.tickets.all()[:100])
        if tickets:
            records_listed_log(
                user=request.user,
                model=SupportTicket,
                ids=[ticket.pk for ticket in tickets],
                asset=ticket_access.asset,
                grant=ticket_access.grant,
            )
    return render(
        request,
        "crm/customer_detail.html",
        {
            "customer": customer,
            "access": access,
            "show_health": show_health,
            "ticket_access": ticket_access,
            "tickets": tickets,
            "ticket_assets": selectors.requestable_governing_assets(
                user=request.user, model=SupportTicket
            ),
        },
    )


@login_required
def ticket_list(request: AuthedRequest) -> HttpResponse:
    return _record_list(
        request,
        model=SupportTicket,
        rows=SupportTicket.objects.select_related("customer").order_by("-created_at", "-pk"),
        search=lambda query: (
            Q(subject__icontains=query) | Q(customer__external_ref__icontains=query)
        ),
        statuses=TicketStatus,
        template="crm/ticket_list.html",
    )


@login_required
def ticket_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    if selectors.record_access_for_model(user=request.user, model=SupportTicket) is None:
        return _refuse(request, SupportTicket)
    ticket = get_object_or_404(SupportTicket.objects.select_related("customer"), pk=pk)
    access = selectors.record_access_for_object(user=request.user, obj=ticket)
    if access is None:
        return _refuse(request, SupportTicket)
    access_services.access_record_view_log(user=request.user, obj=ticket, grant=access.grant)
    return render(request, "crm/ticket_detail.html", {"ticket": ticket, "access": access})
