"""Keeps ``DataAsset.is_special`` equal to what its categories say, whoever changes them.

A derived column, not business logic: it is recomputed from the categories every time
they or an asset's links to them change, so it can never be set by hand.
"""

from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from .models import DataAsset, DataCategory
from .services import data_asset_sync_special


@receiver(m2m_changed, sender=DataAsset.categories.through)
def _asset_categories_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if reverse:
        # instance is a DataCategory; pk_set the assets (None on clear: all of its former ones).
        asset_ids = pk_set if pk_set is not None else None
        data_asset_sync_special(asset_ids=asset_ids)
    else:
        data_asset_sync_special(asset_ids=[instance.pk])


@receiver(post_save, sender=DataCategory)
def _category_saved(sender, instance, created, **kwargs):
    if not created:
        data_asset_sync_special(asset_ids=list(instance.assets.values_list("pk", flat=True)))
