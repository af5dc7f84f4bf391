"""Fixtures for the governed CRM pages: the two assets, a role over them, grants via services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRole, Grant, RequestStatus
from apps.access.selectors import decider_capacity
from apps.crm.models import Customer, CustomerStatus, SupportTicket, TicketStatus
from apps.demo.crm import crm_assets_register
from tests.factories import DataAssetFactory, SystemFactory, UserFactory


def make_role(*, name, assets, approver_groups=(), requestable_by_groups=(), **policy):
    role = AccessRole(
        name=name,
        approvals_required=policy.pop("approvals_required", 1),
        max_duration=policy.pop("max_duration", timedelta(hours=8)),
        require_justification=True,
        **policy,
    )
    role.full_clean()
    role.save()
    role.assets.set(assets)
    role.approver_groups.set(approver_groups)
    role.requestable_by_groups.set(requestable_by_groups)
    return role


@pytest.fixture
def crm_assets(db):
    return crm_assets_register()


@pytest.fixture
def customers_asset(crm_assets):
    return crm_assets["Customers"]


@pytest.fixture
def tickets_asset(crm_assets):
    return crm_assets["Support tickets"]


@pytest.fixture
def approvers(groups):
    return Group.objects.get(name="Approvers")


@pytest.fixture
def crm_role(customers_asset, tickets_asset, approvers):
    """Customers (Art. 9, so the DPO approves too) and their tickets, view only."""
    return make_role(
        name="CRM support", assets=[customers_asset, tickets_asset], approver_groups=[approvers]
    )


@pytest.fixture
def tickets_role(tickets_asset, approvers):
    return make_role(name="Ticket desk", assets=[tickets_asset], approver_groups=[approvers])


@pytest.fixture
def contacts_asset(approvers):
    """A second, ordinary asset over the same Customer rows: no Art. 9 category."""
    asset = DataAssetFactory(
        name="Customer contacts",
        system=SystemFactory(name="Call centre"),
        governed_model=ContentType.objects.get_for_model(Customer),
    )
    make_role(name="Call centre", assets=[asset], approver_groups=[approvers])
    return asset


@pytest.fixture
def second_approver(groups):
    return UserFactory(username="approver2", groups=["Approvers"], is_staff=True)


@pytest.fixture
def grant_on(approver, second_approver, dpo):
    """grant_on(user, role=..., starts_in=..., hours=...) -> a Grant, decided by the services."""

    def make(user, *, role=None, asset=None, starts_in=timedelta(0), hours=2) -> Grant:
        start = timezone.now() + starts_in
        request = services.access_request_submit(
            requester=user,
            role=role,
            asset=asset,
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            justification="Customer called about an invoice",
        )
        # Nobody approves their own request: a second approver stands in when needed.
        deciders = [a for a in (approver, dpo, second_approver) if a.pk != user.pk]
        for decider in deciders:
            request.refresh_from_db()
            if request.status != RequestStatus.PENDING:
                break
            if decider_capacity(request=request, user=decider):
                services.access_request_approve(request_id=request.pk, approver=decider)
        request.refresh_from_db()
        assert request.status == RequestStatus.APPROVED, request.status
        return Grant.objects.get(request=request)

    return make


@pytest.fixture
def ada(db):
    customer = Customer.objects.create(
        external_ref="T-0001",
        full_name="Ada Lovelace",
        email="ada@example.org",
        phone="+44 20 0000 0000",
        country="GB",
        health_notes="Hearing impaired: prefers email.",
    )
    SupportTicket.objects.create(
        customer=customer, subject="Invoice shows the wrong amount", body="Charged twice."
    )
    SupportTicket.objects.create(
        customer=customer,
        subject="Change of address",
        body="Moved to Leeds.",
        status=TicketStatus.CLOSED,
        closed_at=timezone.now(),
    )
    return customer


@pytest.fixture
def grace(db):
    return Customer.objects.create(
        external_ref="T-0002",
        full_name="Grace Hopper",
        email="grace@example.org",
        country="US",
        status=CustomerStatus.CLOSED,
    )
