"""Keeps ``DataAsset.is_special`` equal to what its categories say, whoever changes them.

A derived column, not business logic: it is recomputed from the categories every time
they or an asset's links to them change, so it can never be set by hand.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
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


@receiver(pre_delete, sender=DataCategory)
def _category_deleting(sender, instance, **kwargs):
    # Deleting a category drops its links without m2m_changed: remember whose flag to redo.
    instance._asset_ids_before_delete = list(instance.assets.values_list("pk", flat=True))


@receiver(post_delete, sender=DataCategory)
def _category_deleted(sender, instance, **kwargs):
    asset_ids = getattr(instance, "_asset_ids_before_delete", None)
    if asset_ids:
        data_asset_sync_special(asset_ids=asset_ids)
