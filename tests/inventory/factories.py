"""Inventory test data beyond tests/factories.py: transfers and complete activities."""

from __future__ import annotations

from datetime import date

import factory

from apps.inventory import models as inv
from apps.inventory.gdpr import DpiaRequired, LawfulBasis, TransferMechanism
from tests.factories import (
    DataAssetFactory,
    DataCategoryFactory,
    DataSubjectCategoryFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)


class TransferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.Transfer

    activity = factory.SubFactory(ProcessingActivityFactory)
    country = "US"
    mechanism = TransferMechanism.SCCS
    safeguard_link = "https://example.org/sccs.pdf"


def category(slug: str) -> inv.DataCategory:
    """A category of the seeded default taxonomy."""
    return inv.DataCategory.objects.get(slug=slug)


def complete_activity(**overrides) -> inv.ProcessingActivity:
    """An ordinary controller activity with every Art. 30 field filled in.

    Needs the organisation row (``OrganisationFactory``) for the controller contact.
    """
    if not inv.Organisation.objects.exists():
        OrganisationFactory()
    fields = {
        "purposes": "Running customer accounts",
        "lawful_basis": LawfulBasis.CONTRACT,
        "retention_description": "6 years after the contract ends",
        "security_measures": "MFA, encryption at rest, access logging",
        "next_review_on": date(2030, 1, 1),
        "dpia_required": DpiaRequired.NO,
        **overrides,
    }
    activity = ProcessingActivityFactory(**fields)
    activity.data_subjects.add(DataSubjectCategoryFactory(name="Customers"))
    activity.data_categories.add(DataCategoryFactory(slug="contact-email"))
    activity.recipients.add(RecipientFactory(contract_link="https://example.org/dpa.pdf"))
    return activity


def special_asset(slug: str = "health", **kwargs) -> inv.DataAsset:
    return DataAssetFactory(categories=[category(slug)], **kwargs)
