"""Demo data for the governed CRM: customers and support tickets, and their data assets.

``load_crm_demo`` is what ``manage.py load_demo`` calls. It is idempotent: the assets are
found or created every time, the rows only on the first run (a run that finds demo
customers leaves the rows alone, so what retention purged is not brought back).
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from faker import Faker

from apps.crm.models import Customer, CustomerStatus, SupportTicket, TicketStatus
from apps.inventory.gdpr import CategoryKind, Sensitivity
from apps.inventory.models import DataAsset, DataCategory, DataSubjectCategory, System

SYSTEM_NAME = "CRM"
CUSTOMERS_ASSET = "Customers"
TICKETS_ASSET = "Support tickets"
REF_PREFIX = "CUST-"
SEED = 20240517
CUSTOMER_COUNT = 200
OLD_CLOSED_SHARE = 0.3

_HEALTH_NOTES = [
    "Wheelchair user: needs step-free access for on-site visits.",
    "Hearing impaired: prefers email or text relay, no phone calls.",
    "Type 1 diabetes: asked that appointments avoid lunchtime.",
    "Partially sighted: large-print letters requested.",
    "Recovering from surgery until spring; home visits only.",
    "Asthma: no visits with scented cleaning products.",
    "Dyslexia: prefers short written summaries after calls.",
    "Epilepsy: avoid flashing content in video calls.",
]
_TICKET_SUBJECTS = [
    "Invoice shows the wrong amount",
    "Cannot log in to the customer area",
    "Change of address",
    "Delivery arrived damaged",
    "Question about contract renewal",
    "Request for a copy of my data",
    "Direct debit failed",
    "Cancel my subscription",
    "Service outage in my area",
    "Update my phone number",
    "Complaint about a late engineer visit",
    "Refund not received",
    "Upgrade to the premium plan",
    "Wrong name on the account",
    "Password reset email never arrives",
]


def _log(stdout: TextIO | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _category(*, slug: str, name: str, kind: str = CategoryKind.ORDINARY) -> DataCategory:
    """The category of the default taxonomy (by slug, else by name), or a new one."""
    found = (
        DataCategory.objects.filter(slug=slug).first()
        or DataCategory.objects.filter(name__iexact=name).first()
    )
    if found is not None:
        return found
    category = DataCategory(name=name, slug=slug, kind=kind)
    category.full_clean()
    category.save()
    return category


# Slugs of the default taxonomy (apps/inventory/taxonomy.py), with names to create them under
# when the taxonomy is not there.
_CUSTOMER_CATEGORIES = (
    ("identity-name", "Name", CategoryKind.ORDINARY),
    ("identity-date-of-birth", "Date of birth", CategoryKind.ORDINARY),
    ("contact-postal-address", "Postal address", CategoryKind.ORDINARY),
    ("contact-email", "Email address", CategoryKind.ORDINARY),
    ("contact-telephone", "Telephone number", CategoryKind.ORDINARY),
    # health_notes: accessibility and medical needs, Art. 9(1).
    ("health", "Data concerning health", CategoryKind.SPECIAL),
)
_TICKET_CATEGORIES = (
    ("contact-email", "Email address", CategoryKind.ORDINARY),
    ("communications-tickets", "Support requests", CategoryKind.ORDINARY),
)


def crm_assets_register() -> dict[str, DataAsset]:
    """Find or create the CRM system and its two governed data assets.

    An asset that exists already (the inventory demo registers them) keeps the categories
    the DPO gave it; only one without any gets the defaults, and ``governed_model`` is set.
    """
    system = System.objects.filter(name=SYSTEM_NAME).first()
    if system is None:
        system = System(
            name=SYSTEM_NAME,
            description="Customer relationship management: customers and their support tickets.",
            owner_team="Customer service",
            hosting_location="eu-west-1",
            hosting_country="IE",
            vendor="In-house",
        )
        system.full_clean()
        system.save()
    subjects, _ = DataSubjectCategory.objects.get_or_create(
        name="Customers", defaults={"description": "People who buy or use our services."}
    )
    specs = [
        (
            CUSTOMERS_ASSET,
            Customer,
            "Customer master records, including accessibility and medical needs (Art. 9).",
            Sensitivity.RESTRICTED,
            _CUSTOMER_CATEGORIES,
        ),
        (
            TICKETS_ASSET,
            SupportTicket,
            "Support tickets raised by customers and the team's replies.",
            Sensitivity.CONFIDENTIAL,
            _TICKET_CATEGORIES,
        ),
    ]
    assets: dict[str, DataAsset] = {}
    for name, model, description, sensitivity, categories in specs:
        content_type = ContentType.objects.get_for_model(model)
        asset = DataAsset.objects.filter(system=system, name=name).first()
        if asset is None:
            asset = DataAsset(
                system=system,
                name=name,
                description=description,
                sensitivity=sensitivity,
                governed_model=content_type,
            )
            asset.full_clean()
            asset.save()
        elif asset.governed_model_id != content_type.pk:
            asset.governed_model = content_type
            asset.save(update_fields=["governed_model", "updated_at"])
        if not asset.categories.exists():
            # The signals recompute is_special from these.
            asset.categories.add(
                *[_category(slug=slug, name=label, kind=kind) for slug, label, kind in categories]
            )
        if not asset.subjects.exists():
            asset.subjects.add(subjects)
        asset.refresh_from_db(fields=["is_special"])
        assets[name] = asset
    return assets


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum()) or "customer"


def _build_rows(now: datetime) -> tuple[list[Customer], list[list[SupportTicket]]]:
    """The same rows every time for a given ``now`` day: Faker and random are seeded."""
    fake = Faker(["en_GB", "en_IE", "de_DE", "fr_FR", "nl_NL"])
    fake.seed_instance(SEED)
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    countries = {"en_GB": "GB", "en_IE": "IE", "de_DE": "DE", "fr_FR": "FR", "nl_NL": "NL"}
    customers: list[Customer] = []
    tickets: list[list[SupportTicket]] = []
    for n in range(1, CUSTOMER_COUNT + 1):
        locale = rng.choice(list(countries))
        local = fake[locale]
        old_closed = rng.random() < OLD_CLOSED_SHARE
        if old_closed:
            # Customers who left years ago: what the retention rules are there to purge.
            created_days = rng.randint(3 * 365, 8 * 365)
            ended_days = rng.randint(max(365, created_days - 3 * 365), created_days - 60)
            created = now - timedelta(days=created_days)
            ended: date | None = (now - timedelta(days=ended_days)).date()
            last_activity = now - timedelta(days=ended_days)
            status = CustomerStatus.CLOSED
        else:
            created = now - timedelta(days=rng.randint(10, 3 * 365))
            ended = None
            last_activity = max(now - timedelta(days=rng.randint(0, 60)), created)
            status = CustomerStatus.ACTIVE
        first, last = local.first_name(), local.last_name()
        customer = Customer(
            external_ref=f"{REF_PREFIX}{n:05d}",
            full_name=f"{first} {last}",
            email=f"{_ascii(first)}.{_ascii(last)}@{local.free_email_domain()}",
            phone=local.phone_number(),
            date_of_birth=local.date_of_birth(minimum_age=18, maximum_age=90),
            address=local.address(),
            country=countries[locale],
            status=status,
            health_notes=rng.choice(_HEALTH_NOTES) if rng.random() < 0.12 else "",
            created_at=created,
            last_activity_at=last_activity,
            contract_ended_on=ended,
        )
        customers.append(customer)
        own: list[SupportTicket] = []
        # 0..5 tickets, 2.5 on average: about 500 for 200 customers.
        for _ in range(rng.choice([0, 1, 2, 2, 3, 3, 3, 4, 4, 5])):
            span_end = last_activity if old_closed else now
            span = max((span_end - created).total_seconds(), 3600)
            opened = created + timedelta(seconds=rng.uniform(0, span))
            closed = old_closed or rng.random() < 0.75
            closed_at = opened + timedelta(hours=rng.randint(1, 240)) if closed else None
            if closed_at is not None and closed_at > now:
                # Would close in the future: still open today.
                closed, closed_at = False, None
            own.append(
                SupportTicket(
                    subject=rng.choice(_TICKET_SUBJECTS),
                    body="\n\n".join(local.paragraphs(nb=rng.randint(1, 3))),
                    status=TicketStatus.CLOSED if closed else TicketStatus.OPEN,
                    created_at=opened,
                    closed_at=closed_at,
                )
            )
        tickets.append(own)
    return customers, tickets


def load_crm_demo(*, stdout: TextIO | None = None) -> dict[str, Any]:
    """Register the CRM assets and, on the first run, create the demo customers and tickets.

    Returns counts: ``customers_created``, ``tickets_created``, ``customers``, ``tickets``
    (totals now) and ``assets`` (name -> DataAsset id).
    """
    assets = crm_assets_register()
    customers_created = tickets_created = 0
    if Customer.objects.filter(external_ref__startswith=REF_PREFIX).exists():
        _log(stdout, "CRM demo rows already present; left as they are")
    else:
        # Midnight today: never in the future, and the same rows all day.
        now = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        customers, tickets = _build_rows(now)
        with transaction.atomic():
            created = Customer.objects.bulk_create(customers, batch_size=500)
            rows: list[SupportTicket] = []
            for customer, own in zip(created, tickets, strict=True):
                for ticket in own:
                    ticket.customer = customer
                    rows.append(ticket)
            SupportTicket.objects.bulk_create(rows, batch_size=500)
        customers_created, tickets_created = len(customers), len(rows)
        _log(stdout, f"CRM demo: {customers_created} customers, {tickets_created} tickets")
    return {
        "customers_created": customers_created,
        "tickets_created": tickets_created,
        "customers": Customer.objects.count(),
        "tickets": SupportTicket.objects.count(),
        "assets": {name: asset.pk for name, asset in assets.items()},
    }
