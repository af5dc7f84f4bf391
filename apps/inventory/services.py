"""Writes to the inventory that are more than a plain admin save."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef

from .gdpr import CategoryKind
from .models import DataAsset


def data_asset_sync_special(*, asset_ids: Iterable[int] | None = None) -> int:
    """Recompute ``is_special`` for the given assets (all when None); returns rows changed."""
    special_link = DataAsset.categories.through.objects.filter(dataasset_id=OuterRef("pk")).exclude(
        datacategory__kind=CategoryKind.ORDINARY
    )
    qs = DataAsset.objects.all()
    if asset_ids is not None:
        qs = qs.filter(pk__in=list(asset_ids))
    changed = 0
    # Derived column: a plain update of the flag only, no audited field changes.
    changed += qs.filter(Exists(special_link), is_special=False).update(is_special=True)
    changed += qs.filter(~Exists(special_link), is_special=True).update(is_special=False)
    return changed
