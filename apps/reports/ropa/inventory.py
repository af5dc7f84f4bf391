"""Reading the inventory for the record: which activities it lists, what their rows refer to
(each read once as plain values, in a fixed number of queries), and what each one misses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django_countries import countries

from apps.inventory.completeness import REQUIREMENTS
from apps.inventory.gdpr import EEA_COUNTRIES, RecipientKind, TransferMechanism
from apps.inventory.models import (
    DataAsset,
    DataCategory,
    DataSubjectCategory,
    ProcessingActivity,
    Recipient,
    System,
    Transfer,
)

from .columns import ORGANISATION_REQUIREMENTS, PROCESSOR


@dataclass(slots=True)
class Category:
    name: str
    kind: str


@dataclass(slots=True)
class Subject:
    name: str
    is_vulnerable: bool


@dataclass(slots=True)
class RecipientFacts:
    name: str
    kind: str
    kind_label: str
    country: str
    country_name: str
    is_international_organisation: bool
    contract_link: str


@dataclass(slots=True)
class SystemFacts:
    name: str
    hosting_location: str
    country: str
    country_name: str


@dataclass(slots=True)
class Asset:
    pk: int
    name: str
    system_id: int
    system: SystemFacts
    is_special: bool
    categories: list[int]
    subjects: list[int]

    def __str__(self) -> str:
        return f"{self.system.name} / {self.name}"


@dataclass(slots=True)
class TransferFacts:
    country: str
    country_name: str
    international_organisation: str
    recipient: str | None
    mechanism: str
    mechanism_label: str
    safeguard_link: str
    description: str

    @property
    def outside_eea(self) -> bool:
        return bool(self.international_organisation) or (
            bool(self.country) and self.country not in EEA_COUNTRIES
        )

    @property
    def where(self) -> str:
        return self.international_organisation or self.country_name


@dataclass
class Inventory:
    """What the rows refer to, each read once as plain values, keyed by id."""

    categories: dict[int, Category]
    subjects: dict[int, Subject]
    recipients: dict[int, RecipientFacts]
    assets: dict[int, Asset]
    activity_assets: dict[int, list[int]]
    activity_categories: dict[int, list[int]]
    activity_subjects: dict[int, list[int]]
    activity_recipients: dict[int, list[int]]
    transfers: dict[int, list[TransferFacts]]
    # activity id -> keys of the inventory's requirements it misses
    missing: dict[int, set[str]] = field(default_factory=dict)


def _links(through, left: str, right: str, activities) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for a, b in through.objects.filter(**{f"{left}__in": activities}).values_list(
        f"{left}_id", f"{right}_id"
    ):
        out.setdefault(a, []).append(b)
    return out


def read_inventory(qs) -> Inventory:
    """Everything the rows of ``qs`` show, in a fixed number of queries.

    Plain values rather than model instances: an asset shared by many activities is read
    once, and nothing pays for datetime columns or descriptors the report never shows.
    """
    names = {c.code: str(c.name) for c in countries}
    kind_labels = {k: str(v) for k, v in RecipientKind.choices}
    mechanisms = {k: str(v) for k, v in TransferMechanism.choices}
    pa = ProcessingActivity
    activity_assets = _links(pa.assets.through, "processingactivity", "dataasset", qs)
    activity_categories = _links(
        pa.data_categories.through, "processingactivity", "datacategory", qs
    )
    activity_subjects = _links(
        pa.data_subjects.through, "processingactivity", "datasubjectcategory", qs
    )
    activity_recipients = _links(pa.recipients.through, "processingactivity", "recipient", qs)
    # The record of processing says what is processed now: archived assets are left out.
    asset_ids = pa.assets.through.objects.filter(
        processingactivity__in=qs, dataasset__archived_at__isnull=True
    ).values("dataasset_id")
    asset_categories = _links(DataAsset.categories.through, "dataasset", "datacategory", asset_ids)
    asset_subjects = _links(
        DataAsset.subjects.through, "dataasset", "datasubjectcategory", asset_ids
    )
    systems = {
        pk: SystemFacts(name, location, code, names.get(code, code))
        for pk, name, location, code in System.objects.filter(assets__in=asset_ids)
        .distinct()
        .values_list("pk", "name", "hosting_location", "hosting_country")
    }
    assets = {
        pk: Asset(
            pk,
            name,
            system_id,
            systems[system_id],
            special,
            asset_categories.get(pk, []),
            asset_subjects.get(pk, []),
        )
        for pk, name, system_id, special in DataAsset.objects.filter(pk__in=asset_ids).values_list(
            "pk", "name", "system_id", "is_special"
        )
    }
    recipients = {
        pk: RecipientFacts(
            name, kind, kind_labels.get(kind, kind), code, names.get(code, code), io, link
        )
        for pk, name, kind, code, io, link in Recipient.objects.filter(activities__in=qs)
        .distinct()
        .values_list(
            "pk", "name", "kind", "country", "is_international_organisation", "contract_link"
        )
    }
    transfers: dict[int, list[TransferFacts]] = {}
    for activity_id, code, org, recipient, mechanism, link, description in (
        Transfer.objects.filter(activity__in=qs)
        .order_by("activity_id", "country", "pk")
        .values_list(
            "activity_id",
            "country",
            "international_organisation",
            "recipient__name",
            "mechanism",
            "safeguard_link",
            "description",
        )
    ):
        transfers.setdefault(activity_id, []).append(
            TransferFacts(
                code,
                names.get(code, code),
                org,
                recipient,
                mechanism,
                mechanisms.get(mechanism, mechanism),
                link,
                description,
            )
        )
    return Inventory(
        categories={
            pk: Category(name, kind)
            for pk, name, kind in DataCategory.objects.values_list("pk", "name", "kind")
        },
        subjects={
            pk: Subject(name, vulnerable)
            for pk, name, vulnerable in DataSubjectCategory.objects.values_list(
                "pk", "name", "is_vulnerable"
            )
        },
        recipients=recipients,
        assets=assets,
        activity_assets=activity_assets,
        activity_categories=activity_categories,
        activity_subjects=activity_subjects,
        activity_recipients=activity_recipients,
        transfers=transfers,
    )


def record_inventory(
    record: str, activity_ids: Iterable[int] | None
) -> tuple[list[ProcessingActivity], Inventory]:
    """The activities of the record, what their rows refer to, and what each misses."""
    qs = record_activities(record)
    if activity_ids is not None:
        qs = qs.filter(pk__in=list(activity_ids))
    activities = list(qs.select_related("owner").order_by("reference", "name"))
    inventory = read_inventory(qs.values("pk"))
    inventory.missing = missing_requirements_by_activity(qs)
    return activities, inventory


def record_activities(record: str) -> QuerySet[ProcessingActivity]:
    """The activities a record of processing lists: the active ones in which the organisation
    acts as controller or joint controller (Art. 30(1)), or as processor (Art. 30(2)).

    The one definition of which activities count, for the record and every count of its
    completeness (the dashboard included).
    """
    qs = ProcessingActivity.objects.filter(is_active=True)
    return qs.as_processor() if record == PROCESSOR else qs.as_controller()


def record_completeness(record: str) -> tuple[int, int]:
    """``(complete, total)`` activities of ``record``: complete means no required value is
    missing (the same requirements the record flags as gaps)."""
    qs = record_activities(record)
    total = qs.count()
    return total - len(missing_requirements_by_activity(qs)), total


def missing_requirements_by_activity(qs) -> dict[int, set[str]]:
    """Activity id -> keys of the inventory's requirements it misses.

    One query per requirement, each the inventory's own condition in a WHERE clause:
    PostgreSQL runs those EXISTS as semi-joins over the whole table, where the same
    conditions as per-row SELECT annotations (one subplan per row and requirement) take
    seconds for a few thousand activities.
    """
    missing: dict[int, set[str]] = {}
    for requirement in REQUIREMENTS:
        if requirement.key in ORGANISATION_REQUIREMENTS:
            continue
        for pk in qs.filter(requirement.condition()).values_list("pk", flat=True):
            missing.setdefault(pk, set()).add(requirement.key)
    return missing
