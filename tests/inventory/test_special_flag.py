import pytest

from apps.inventory.gdpr import CategoryKind
from apps.inventory.models import DataAsset
from tests.factories import DataAssetFactory, DataCategoryFactory
from tests.inventory.factories import category

pytestmark = pytest.mark.django_db


def _flag(asset) -> bool:
    return DataAsset.objects.get(pk=asset.pk).is_special


def test_adding_and_removing_a_special_category_flips_the_asset():
    # given an asset with ordinary data only
    asset = DataAssetFactory(categories=[category("contact-email")])
    assert not _flag(asset)
    # when health data is added
    asset.categories.add(category("health"))
    # then it is special
    assert _flag(asset)
    # and when it is removed again, it is not
    asset.categories.remove(category("health"))
    assert not _flag(asset)


def test_criminal_data_makes_an_asset_special_too():
    asset = DataAssetFactory()
    asset.categories.set([category("criminal-record-checks")])
    assert _flag(asset)
    asset.categories.clear()
    assert not _flag(asset)


def test_adding_the_asset_from_the_category_side_flips_it():
    asset = DataAssetFactory()
    category("genetic-data").assets.add(asset)
    assert _flag(asset)
    category("genetic-data").assets.clear()
    assert not _flag(asset)


def test_changing_a_categorys_kind_flips_its_assets():
    # given a DPO-made ordinary category used by two assets, and an unrelated asset
    own = DataCategoryFactory(name="Wellbeing survey answers", slug="wellbeing")
    first = DataAssetFactory(categories=[own])
    second = DataAssetFactory(categories=[own, category("contact-email")])
    other = DataAssetFactory(categories=[category("contact-email")])
    # when the DPO decides it is health data
    own.kind = CategoryKind.SPECIAL
    own.save()
    # then both its assets are special and the other is not
    assert _flag(first) and _flag(second) and not _flag(other)
    # and back
    own.kind = CategoryKind.ORDINARY
    own.save()
    assert not _flag(first) and not _flag(second)


def test_deleting_a_special_category_unflags_its_assets():
    own = DataCategoryFactory(name="Blood type", slug="blood-type", kind=CategoryKind.SPECIAL)
    asset = DataAssetFactory(categories=[own, category("contact-email")])
    assert _flag(asset)
    own.delete()
    assert not _flag(asset)
