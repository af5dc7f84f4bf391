"""Factories for the retention tests: governed CRM rows and rules made through the service."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.crm.models import Customer, CustomerStatus, SupportTicket, TicketStatus
from apps.inventory.models import DataAsset, System
from apps.retention.models import RetentionRule
from apps.retention.services import retention_rule_save


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_ref = factory.Sequence(lambda n: f"RT-{n:06d}")
    full_name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.org")
    phone = "+44 20 7946 0000"
    address = "1 Example Street"
    country = "GB"
    status = CustomerStatus.CLOSED
    health_notes = "Wheelchair user"
    created_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyAttribute(lambda c: c.created_at)


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportTicket

    customer = factory.SubFactory(CustomerFactory)
    subject = "Invoice question"
    body = "Please call me back."
    status = TicketStatus.CLOSED
    created_at = factory.LazyFunction(timezone.now)
    closed_at = factory.LazyAttribute(lambda t: t.created_at)


def crm_asset(name: str, model) -> DataAsset:
    system, _ = System.objects.get_or_create(name="CRM")
    asset, _ = DataAsset.objects.get_or_create(
        system=system,
        name=name,
        defaults={"governed_model": ContentType.objects.get_for_model(model)},
    )
    return asset


def make_rule(
    *,
    model=Customer,
    asset: DataAsset | None = None,
    fields: list[dict[str, str]] | None = None,
    actor=None,
    **values: Any,
) -> RetentionRule:
    """A valid rule (through retention_rule_save): customers closed 6 years after last
    activity, deleted, unless ``values`` say otherwise."""
    defaults: dict[str, Any] = {
        "name": f"rule {RetentionRule.objects.count() + 1}",
        "content_type": ContentType.objects.get_for_model(model),
        "date_field": "last_activity_at",
        "filter": {"status": "closed"},
        "period_amount": 6,
        "period_unit": "years",
        "action": "delete",
        "legal_reason": "Limitation period for contract claims.",
        "legal_citation": "Limitation Act 1980 s.5",
    }
    defaults.update(values)
    if asset is None:
        asset = crm_asset("Customers" if model is Customer else model._meta.verbose_name, model)
    rule = RetentionRule(asset=asset, **defaults)
    return retention_rule_save(rule=rule, actor=actor, actor_label="system:test", fields=fields)
