"""Which live grant lets a user see the governed CRM rows, and what it lets them see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from apps.access import selectors as access_selectors
from apps.access.models import Grant
from apps.inventory.models import DataAsset

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class RecordAccess:
    """The asset and live grant a page is shown under."""

    asset: DataAsset
    grant: Grant


def governing_assets(model: type[models.Model]) -> QuerySet[DataAsset]:
    """The data assets whose rows are ``model``'s (usually one)."""
    content_type = ContentType.objects.get_for_model(model)
    return DataAsset.objects.filter(governed_model=content_type).select_related("system")


def record_access_for_model(
    *,
    user: User,
    model: type[models.Model],
    action: str = "view",
    at: datetime | None = None,
    special_only: bool = False,
) -> RecordAccess | None:
    """A live grant of ``user`` on an asset governing ``model``, or None.

    Decided now from the grants' times, like every access check (docs/architecture.md, invariant 1).
    """
    assets = governing_assets(model)
    if special_only:
        assets = assets.filter(is_special=True)
    for asset in assets:
        grant = access_selectors.live_grant_for(user=user, asset=asset, action=action, at=at)
        if grant is not None:
            return RecordAccess(asset=asset, grant=grant)
    return None


def record_access_for_object(
    *, user: User, obj: models.Model, action: str = "view", at: datetime | None = None
) -> RecordAccess | None:
    found = access_selectors.live_grant_for_object(user=user, obj=obj, action=action, at=at)
    if found is None:
        return None
    asset, grant = found
    return RecordAccess(asset=asset, grant=grant)


def upcoming_grants_for_model(*, user: User, model: type[models.Model]) -> QuerySet[Grant]:
    """The user's grants on the model's assets that have not started yet."""
    return (
        access_selectors.grants_for_user(user)
        .filter(
            assets__in=governing_assets(model),
            starts_at__gt=timezone.now(),
            revoked_at__isnull=True,
        )
        .distinct()
        .order_by("starts_at")
    )


def requestable_governing_assets(
    *, user: User, model: type[models.Model]
) -> list[tuple[DataAsset, bool]]:
    """Each asset governing ``model`` with whether ``user`` may ask for it."""
    eligible = set(access_selectors.requestable_assets_for(user).values_list("pk", flat=True))
    return [(asset, asset.pk in eligible) for asset in governing_assets(model)]
