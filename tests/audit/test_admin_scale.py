"""The audit trail's list does no work proportional to the trail: the same queries for 10
events as for 200, no full COUNT(*) or DISTINCT over the table, counts estimated past the
limit (bench/bench_admin_at_scale.py measures it with 1,000,000 events)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from jitportal import admin_scale
from jitportal.admin_scale import distinct_values
from tests.audit.conftest import make_events

pytestmark = pytest.mark.django_db

LIST = "admin:audit_auditevent_changelist"
ACTIONS = ["access.request.approved", "access.grant.expired", "retention.purge.finished"]


def add_events(count: int, *, days_back: int = 800) -> None:
    """``count`` chained events of three actions and two target types, spread from
    ``days_back`` days ago to now (the times moved by SQL, as old events would be)."""
    for i, action in enumerate(ACTIONS):
        make_events(count // len(ACTIONS) + (i < count % len(ACTIONS)), action=action)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE audit_auditevent e
            SET occurred_at = now() - interval '1 day' * %s * (s.total - s.rn) / s.total,
                target_type = CASE WHEN s.rn %% 2 = 0 THEN 'access.grant' ELSE 'x.y' END
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn, count(*) OVER () AS total
                  FROM audit_auditevent) s
            WHERE s.id = e.id
            """,
            [days_back],
        )


def page_queries(client, url: str) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in ctx.captured_queries], response


URLS = [
    "",
    "?action=access.grant.expired",
    "?occurred_at__year={year}",
    "?occurred_at__year={year}&occurred_at__month=1",
    "?q=reason",
]


def test_the_list_costs_the_same_queries_for_10_events_as_for_200(client, auditor):
    # given 10 events over two years and more, and an auditor on the list
    add_events(10)
    client.force_login(auditor)
    year = timezone.localdate().year
    urls = [reverse(LIST) + u.format(year=year) for u in URLS]
    client.get(urls[0])  # warm caches (content types, session)
    few = {u: len(page_queries(client, u)[0]) for u in urls}
    # when there are 200
    add_events(190)
    many = {u: len(page_queries(client, u)[0]) for u in urls}
    # then every page, plain, filtered, by period or searched, costs the same queries
    assert many == few


def test_no_query_reads_the_whole_trail(client, auditor):
    # given a trail and an auditor on every kind of list page
    add_events(30)
    client.force_login(auditor)
    year = timezone.localdate().year
    for url in [reverse(LIST) + u.format(year=year) for u in URLS]:
        queries, response = page_queries(client, url)
        # then a count reads at most the exact-count limit, and nothing lists distinct
        # values or periods over every row (Django's filter and date hierarchy would)
        for sql in queries:
            if "COUNT(" in sql:
                assert re.search(r"LIMIT \d+\) subquery", sql), sql
            assert "SELECT DISTINCT" not in sql, sql
        assert response.context["cl"].result_count == (response.context["cl"].queryset.count())


def test_past_the_limit_the_count_is_the_databases_estimate(client, auditor, monkeypatch):
    # given more events than the exact-count limit
    add_events(30)
    monkeypatch.setattr(admin_scale, "EXACT_COUNT_LIMIT", 10)
    client.force_login(auditor)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")
    # when the list is shown
    queries, response = page_queries(client, reverse(LIST))
    cl = response.context["cl"]
    # then its count is PostgreSQL's estimate (at least past the limit), said to be one
    assert cl.paginator.count_is_exact is False
    assert cl.result_count >= 11
    assert any("reltuples" in sql for sql in queries)
    # and a page past the real end is an empty page, not an error
    last = client.get(reverse(LIST) + f"?p={cl.paginator.num_pages}")
    assert last.status_code == 200


def test_filters_and_periods_list_what_the_trail_has(client, auditor):
    # given events of three actions, two target types, over three calendar years
    add_events(12, days_back=800)
    client.force_login(auditor)
    # when the list is shown
    _, response = page_queries(client, reverse(LIST))
    # then the action filter lists exactly the actions present (read from the index)
    assert distinct_values(AuditEvent.objects.all(), "action") == sorted(ACTIONS)
    assert distinct_values(AuditEvent.objects.all(), "target_type") == sorted(
        set(AuditEvent.objects.values_list("target_type", flat=True))
    )
    body = response.content.decode()
    for action in ACTIONS:
        assert f"?action={action}" in body
    # and the date hierarchy every year from the first event to the last
    first = timezone.localtime(AuditEvent.objects.order_by("occurred_at").first().occurred_at)
    for year in range(first.year, timezone.localdate().year + 1):
        assert f"?occurred_at__year={year}" in body
    # newest first
    shown = [e.pk for e in response.context["cl"].result_list]
    assert shown == list(
        AuditEvent.objects.order_by("-occurred_at", "-id")[:100].values_list("pk", flat=True)
    )
