"""The grant list does no work proportional to the grants: the same queries for 6 grants as
for 40, filters that list a bounded number of holders and assets, the page's order kept
(bench/bench_admin_at_scale.py measures it with 100,000 grants)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin import site
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.access.models import Grant
from jitportal import admin_scale
from tests.access.factories import GrantFactory
from tests.factories import DataAssetFactory, SystemFactory, UserFactory

pytestmark = pytest.mark.django_db

GRANTS = "admin:access_grant_changelist"


def add_grants(count: int, start: int = 0) -> list[Grant]:
    """``count`` grants of their own holders and assets (each in its own system): a third
    ended, a sixth revoked, the rest live or scheduled, ending at different times."""
    now = timezone.now()
    made = []
    for i in range(start, start + count):
        asset = DataAssetFactory(
            name=f"Scale asset {i}", system=SystemFactory(name=f"Scale system {i}")
        )
        if i % 3 == 0:
            starts = now - timedelta(days=2, hours=i)
        else:
            starts = now + timedelta(minutes=i) if i % 3 == 2 else now - timedelta(minutes=i)
        grant = GrantFactory(
            user=UserFactory(username=f"holder{i:03d}"),
            assets=[asset],
            starts_at=starts,
            ends_at=starts + timedelta(hours=4, minutes=2 * i),  # no two alike
        )
        if i % 6 == 1:
            Grant.objects.filter(pk=grant.pk).update(revoked_at=now, status="revoked")
        made.append(grant)
    return made


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_the_grant_list_costs_the_same_queries_for_6_grants_as_for_40(client, dpo):
    # given 6 grants (one of each kind: ended, revoked, scheduled, live) of 6 holders over
    # 6 assets in 6 systems
    grants = add_grants(6)
    client.force_login(dpo)
    urls = [
        reverse(GRANTS),
        reverse(GRANTS) + "?live=yes",
        reverse(GRANTS) + f"?user__id__exact={grants[0].user_id}",
        reverse(GRANTS) + "?o=2",  # by holder
        reverse(GRANTS) + "?q=holder",
    ]
    client.get(urls[0])  # warm caches (content types, session)
    few = {u: queries(client, u) for u in urls}
    # when there are 40, each with its own holder, asset and system
    add_grants(34, start=6)
    many = {u: queries(client, u) for u in urls}
    # then each page costs the same queries (no query per asset, holder or system)
    assert many == few


def test_the_page_keeps_the_lists_order_page_after_page(client, dpo):
    # given 60 grants, ended, revoked, live and scheduled, and 50 a page
    add_grants(60)
    client.force_login(dpo)
    request = RequestFactory().get("/")
    request.user = dpo
    expected = list(site.get_model_admin(Grant).get_queryset(request).values_list("pk", flat=True))
    # when both pages are read
    shown = []
    for page in (1, 2):
        response = client.get(reverse(GRANTS) + f"?p={page}")
        shown += [g.pk for g in response.context["cl"].result_list]
    # then they are the list's order (grants not ended first, soonest end first), whole
    assert shown == expected
    assert len(shown) == 60
    first = Grant.objects.get(pk=shown[0])
    assert first.revoked_at is None and first.ends_at > timezone.now()


def test_holder_and_asset_filters_list_a_bounded_number_and_the_one_chosen(
    client, dpo, monkeypatch
):
    # given more holders and assets than the filters list
    grants = add_grants(6)
    monkeypatch.setattr(admin_scale, "FILTER_CHOICES_LIMIT", 3)
    client.force_login(dpo)
    last = grants[-1]
    # when the list is filtered by the last holder (not among the first three)
    response = client.get(reverse(GRANTS) + f"?user__id__exact={last.user_id}")
    specs = {
        str(f.lookup_title): f
        for f in response.context["cl"].filter_specs
        if hasattr(f, "lookup_title")
    }
    holder, assets = specs["user"], specs["assets"]
    # then each filter lists three and the one chosen, and says that it is cut short
    assert len(holder.lookup_choices) == 4
    assert last.user_id in {pk for pk, _ in holder.lookup_choices}
    assert "the first 3" in str(holder.title)
    assert len(assets.lookup_choices) == 3
    # assets are labelled with their system, read in the same query
    assert all(" / Scale asset " in label for _, label in assets.lookup_choices)
    # and the list shows the chosen holder's grant only
    assert [g.pk for g in response.context["cl"].result_list] == [last.pk]
