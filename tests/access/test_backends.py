"""GrantBackend: object permissions from live grants, one query per user object."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.access.backends import GrantBackend
from apps.access.models import GrantStatus
from apps.access.selectors import live_grant_for, live_grant_for_object
from apps.crm.models import Customer, SupportTicket
from tests.access.factories import GrantFactory
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db


def fresh(user):
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def customers_asset(db):
    return DataAssetFactory(
        name="Customers", governed_model=ContentType.objects.get_for_model(Customer)
    )


@pytest.fixture
def customer(db):
    return Customer.objects.create(external_ref="C-1", full_name="Ada Lovelace")


def test_rights_of_the_grant_only(asset, staff_user):
    now = timezone.now()
    GrantFactory(user=staff_user, assets=[asset], can_view=True, can_export=True, starts_at=now)
    user = fresh(staff_user)
    assert user.has_perm("inventory.view_data", asset)
    assert user.has_perm("inventory.export_data", asset)
    assert not user.has_perm("inventory.change_data", asset)
    # Perms that grants never give
    assert not user.has_perm("inventory.delete_data", asset)
    assert not user.has_perm("inventory.view_dataasset", asset)
    assert not user.has_perm("inventory.view_data")  # no object: not a grant question
    assert user.get_all_permissions(asset) == {"inventory.view_data", "inventory.export_data"}


def test_other_assets_and_users_get_nothing(asset, staff_user, staff2):
    GrantFactory(user=staff_user, assets=[asset])
    other = DataAssetFactory(name="Other")
    assert not fresh(staff_user).has_perm("inventory.view_data", other)
    assert not fresh(staff2).has_perm("inventory.view_data", asset)


def test_one_query_per_user_object_however_many_checks(
    asset, staff_user, django_assert_num_queries
):
    assets = [asset, *(DataAssetFactory() for _ in range(5))]
    for a in assets[:3]:
        GrantFactory(user=staff_user, assets=[a])
    user = fresh(staff_user)
    with django_assert_num_queries(1):
        results = [user.has_perm("inventory.view_data", a) for a in assets * 20]
    assert results[:6] == [True, True, True, False, False, False]


def test_time_is_checked_at_each_call_on_a_cached_user(asset, staff_user):
    start = timezone.now() + timedelta(hours=1)
    GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        status=GrantStatus.SCHEDULED,
    )
    user = fresh(staff_user)
    assert not user.has_perm("inventory.view_data", asset)  # loads the cache: not started yet
    with time_machine.travel(start, tick=False):
        assert user.has_perm("inventory.view_data", asset)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert not user.has_perm("inventory.view_data", asset)


def test_revoked_grants_give_nothing(asset, staff_user):
    GrantFactory(
        user=staff_user, assets=[asset], revoked_at=timezone.now(), status=GrantStatus.REVOKED
    )
    assert not fresh(staff_user).has_perm("inventory.view_data", asset)


def test_inactive_and_anonymous_users_get_nothing(asset, staff_user):
    GrantFactory(user=staff_user, assets=[asset])
    staff_user.is_active = False
    staff_user.save()
    assert not fresh(staff_user).has_perm("inventory.view_data", asset)
    assert not GrantBackend().has_perm(AnonymousUser(), "inventory.view_data", asset)


def test_governed_rows_map_to_the_asset_grant(customers_asset, customer, staff_user):
    # Given a view+export grant on the asset that governs crm.Customer
    now = timezone.now()
    grant = GrantFactory(
        user=staff_user,
        assets=[customers_asset],
        can_export=True,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )
    user = fresh(staff_user)
    # Then the row-level perms follow the grant's rights
    assert user.has_perm("crm.view_customer", customer)
    assert user.has_perm("crm.export_customer", customer)
    assert not user.has_perm("crm.change_customer", customer)
    assert not user.has_perm("crm.delete_customer", customer)
    # a perm naming another model is refused even for this row
    assert not user.has_perm("crm.view_supportticket", customer)
    # rows of a model no asset of the grant governs are refused
    ticket = SupportTicket.objects.create(customer=customer, subject="s", body="b")
    assert not user.has_perm("crm.view_supportticket", ticket)
    # The selectors agree
    assert live_grant_for_object(user=staff_user, obj=customer) == (customers_asset, grant)
    assert live_grant_for_object(user=staff_user, obj=customer, action="change") is None
    assert live_grant_for(user=staff_user, asset=customers_asset, action="export") == grant
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        assert not user.has_perm("crm.view_customer", customer)
        assert live_grant_for_object(user=staff_user, obj=customer) is None


def test_live_grant_for_prefers_the_one_running_longest(asset, staff_user):
    now = timezone.now()
    GrantFactory(user=staff_user, assets=[asset], starts_at=now, ends_at=now + timedelta(hours=1))
    longer = GrantFactory(
        user=staff_user, assets=[asset], starts_at=now, ends_at=now + timedelta(hours=3)
    )
    assert live_grant_for(user=staff_user, asset=asset) == longer
    assert live_grant_for(user=UserFactory(), asset=asset) is None
