"""The CRM demo loader: realistic rows, old closed customers for retention, governed assets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from apps.crm.models import Customer, CustomerStatus, SupportTicket, TicketStatus
from apps.demo.crm import CUSTOMER_COUNT, load_crm_demo
from apps.inventory.models import DataAsset, DataCategory, System
from tests.factories import DataAssetFactory, DataCategoryFactory, SystemFactory

pytestmark = pytest.mark.django_db


def test_loads_customers_tickets_and_assets():
    # when the demo is loaded into an empty database
    result = load_crm_demo()
    # then about 200 customers and 500 tickets exist
    assert result["customers_created"] == CUSTOMER_COUNT == Customer.objects.count()
    assert 400 <= SupportTicket.objects.count() <= 600
    assert result["tickets"] == SupportTicket.objects.count()
    # with old closed customers (3-8 years ago, contract ended) for retention to act on
    now = timezone.now()
    old = Customer.objects.filter(
        status=CustomerStatus.CLOSED,
        created_at__lte=now - timedelta(days=3 * 365),
        created_at__gte=now - timedelta(days=8 * 365 + 1),
        contract_ended_on__isnull=False,
    )
    assert old.count() >= 30
    assert all(c.contract_ended_on >= c.created_at.date() for c in old)
    assert SupportTicket.objects.filter(
        customer__in=old, status=TicketStatus.CLOSED, closed_at__lte=now - timedelta(days=365)
    ).exists()
    assert not SupportTicket.objects.filter(customer__in=old, status=TicketStatus.OPEN).exists()
    # some customers have Art. 9 notes, and every email is plain ASCII
    assert Customer.objects.exclude(health_notes="").count() >= 5
    assert all(email.isascii() for email in Customer.objects.values_list("email", flat=True))
    # and the two assets are registered in the CRM system, governing the two models
    customers = DataAsset.objects.get(system__name="CRM", name="Customers")
    tickets = DataAsset.objects.get(system__name="CRM", name="Support tickets")
    assert customers.governed_model == ContentType.objects.get_for_model(Customer)
    assert tickets.governed_model == ContentType.objects.get_for_model(SupportTicket)
    assert customers.is_special and not tickets.is_special
    assert customers.categories.filter(kind="special", slug="health").exists()
    assert result["assets"] == {"Customers": customers.pk, "Support tickets": tickets.pk}


def test_second_run_changes_nothing():
    first = load_crm_demo()
    names = list(Customer.objects.order_by("external_ref").values_list("full_name", flat=True))
    second = load_crm_demo()
    assert second["customers_created"] == second["tickets_created"] == 0
    assert second["customers"] == first["customers"]
    assert second["tickets"] == first["tickets"]
    assert second["assets"] == first["assets"]
    assert DataAsset.objects.filter(system__name="CRM").count() == 2
    assert System.objects.filter(name="CRM").count() == 1
    assert names == list(
        Customer.objects.order_by("external_ref").values_list("full_name", flat=True)
    )


def test_rows_are_the_same_every_time():
    # Faker and random are seeded: two fresh loads give the same people
    load_crm_demo()
    first = list(Customer.objects.order_by("external_ref").values_list("full_name", "email"))
    Customer.objects.all().delete()
    load_crm_demo()
    again = list(Customer.objects.order_by("external_ref").values_list("full_name", "email"))
    assert first == again


def test_purged_rows_are_not_brought_back():
    load_crm_demo()
    Customer.objects.filter(status=CustomerStatus.CLOSED).delete()
    left = Customer.objects.count()
    result = load_crm_demo()
    assert result["customers_created"] == 0
    assert Customer.objects.count() == left


def test_existing_assets_keep_what_the_dpo_gave_them():
    # given the inventory already registered the Customers asset with its own categories
    system = SystemFactory(name="CRM")
    own = DataCategoryFactory(name="Loyalty data", slug="loyalty")
    asset = DataAssetFactory(name="Customers", system=system, categories=[own])
    # when the CRM demo loads
    load_crm_demo()
    asset.refresh_from_db()
    # then the asset is the same row, now governing the Customer rows, categories untouched
    assert DataAsset.objects.filter(system=system, name="Customers").count() == 1
    assert asset.governed_model == ContentType.objects.get_for_model(Customer)
    assert list(asset.categories.all()) == [own]


def test_missing_taxonomy_is_created(db):
    # given a database without the default taxonomy's categories (e.g. after a flush)
    DataCategory.objects.update(
        slug=Concat(F("slug"), Value("-gone")), name=Concat(F("name"), Value(" (gone)"))
    )
    # when the demo loads, it creates the categories it needs
    load_crm_demo()
    customers = DataAsset.objects.get(system__name="CRM", name="Customers")
    health = customers.categories.get(slug="health")
    assert health.kind == "special" and health.name == "Data concerning health"
    assert customers.is_special
