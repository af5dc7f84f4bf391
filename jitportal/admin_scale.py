"""Changelists that stay fast with millions of rows (bench/bench_admin_at_scale.py).

Django's changelist does work proportional to the table in four places; each has its
replacement here, and ``LargeTableAdminMixin`` puts them on a ModelAdmin:

* the paginator counts every matching row (``COUNT(*)``, even with
  ``show_full_result_count = False``): :class:`EstimatedCountPaginator` counts exactly up to
  :data:`EXACT_COUNT_LIMIT` rows and beyond that takes PostgreSQL's own estimate;
* ``date_hierarchy`` lists the years, months or days that have rows with
  ``SELECT DISTINCT date_trunc(…)`` over every row: :class:`RangeDateHierarchyChangeList`
  lists every period between the first and the last row instead (two index lookups; a
  period may be empty);
* a plain field's list filter lists its values with ``SELECT DISTINCT`` over every row:
  :class:`DistinctValuesFilter` reads them with a loose index scan on PostgreSQL
  (one index probe a value: https://wiki.postgresql.org/wiki/Loose_indexscan);
* the page's query joins every row before it sorts when the sort is not an index's:
  :class:`DeferredJoinPaginator` reads the page's keys first, then loads that page;
* a related-only filter lists every related row (10,000 users, 10,000 assets, each asset's
  label one more query): :class:`BoundedRelatedOnlyFilter` lists at most
  :data:`FILTER_CHOICES_LIMIT` of them, in one query, and the one chosen.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, ClassVar

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Exists, Max, Min, OuterRef, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext

from jitportal.inputs import parse_id

#: Up to this many matching rows the paginator counts exactly; beyond, it estimates.
EXACT_COUNT_LIMIT = 10_000
#: A related filter lists at most this many choices (and the one chosen).
FILTER_CHOICES_LIMIT = 100


# --- counting -------------------------------------------------------------------------------


def estimated_count(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of how many rows ``queryset`` matches, without reading them:
    the table's row estimate (``pg_class.reltuples``, kept by autovacuum and ANALYZE) when
    nothing filters it, otherwise the planner's row estimate of the query."""
    connection = connections[queryset.db]
    if not queryset.query.where:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        if row is not None and row[0] >= 0:  # -1: never analysed
            return int(row[0])
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """A paginator whose count reads at most ``EXACT_COUNT_LIMIT + 1`` rows.

    Up to :data:`EXACT_COUNT_LIMIT` matching rows the count is exact (one ``COUNT`` over a
    ``LIMIT``ed subquery); beyond that it is PostgreSQL's estimate (never less than the
    limit), and ``count_is_exact`` is False. A page past the real end is empty, not an error.
    Other databases count exactly.
    """

    count_is_exact = True

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        qs = self.object_list
        if not isinstance(qs, QuerySet) or connections[qs.db].vendor != "postgresql":
            return super().count
        bounded = qs.order_by().values("pk")[: EXACT_COUNT_LIMIT + 1].count()
        if bounded <= EXACT_COUNT_LIMIT:
            return bounded
        self.count_is_exact = False
        return max(estimated_count(qs), EXACT_COUNT_LIMIT + 1)


class DeferredJoinPaginator(EstimatedCountPaginator):
    """An estimated-count paginator that picks a page's rows by key first, then loads them.

    The changelist's query joins every related row it shows (``select_related``) and sorts;
    when the sort is not an index's, PostgreSQL joins the whole table before it keeps a page
    of it. Here the page's primary keys are read first (the table and the sort alone, no
    join it does not sort by), then the page is loaded by those keys with its joins and
    prefetches, in the same order."""

    def page(self, number: Any) -> Any:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        qs = self.object_list
        if not isinstance(qs, QuerySet):
            return super().page(number)
        keys = list(qs.values_list("pk", flat=True)[bottom:top])
        rows = {obj.pk: obj for obj in qs.order_by().filter(pk__in=keys)}
        return Page([rows[k] for k in keys if k in rows], number, self)


# --- the date hierarchy ----------------------------------------------------------------------


def _periods(first: date, last: date, kind: str) -> list[date]:
    """The first day of every year, month or day from ``first`` to ``last``."""
    if kind == "year":
        return [date(y, 1, 1) for y in range(first.year, last.year + 1)]
    if kind == "month":
        start, end = first.year * 12 + first.month - 1, last.year * 12 + last.month - 1
        return [date(m // 12, m % 12 + 1, 1) for m in range(start, end + 1)]
    return [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)]


class _PeriodsFromRange:
    """Answers ``dates()``/``datetimes()`` (what Django's date_hierarchy tag asks) with every
    period between the queryset's first and last value: a MIN and a MAX, which an index on
    the field answers at once, instead of a DISTINCT over every row."""

    def _range_periods(self, field_name: str, kind: str) -> list[date]:
        qs: Any = self
        bounds = QuerySet.aggregate(qs, first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None or bounds["last"] is None:
            return []
        first, last = bounds["first"], bounds["last"]
        if timezone.is_aware(first):
            first, last = timezone.localdate(first), timezone.localdate(last)
        return _periods(first, last, kind)

    def dates(self, field_name: str, kind: str, order: str = "ASC") -> list[date]:
        return self._range_periods(field_name, kind)

    def datetimes(self, field_name: str, kind: str, order: str = "ASC", tzinfo: Any = None) -> Any:
        return self._range_periods(field_name, kind)


class RangeDateHierarchyChangeList(ChangeList):
    """A changelist whose date hierarchy lists periods from the first row to the last."""

    def get_results(self, request: Any) -> None:
        super().get_results(request)
        qs = self.queryset
        if self.date_hierarchy and not isinstance(qs, _PeriodsFromRange):
            qs = qs._chain()
            qs.__class__ = type(
                f"PeriodsFromRange{type(qs).__name__}", (_PeriodsFromRange, type(qs)), {}
            )
            self.queryset = qs


# --- list filters ----------------------------------------------------------------------------


def distinct_values(queryset: QuerySet, field_name: str) -> list[Any]:
    """The distinct non-null values of a column of the whole table, sorted.

    On PostgreSQL a recursive query reads them from the column's index one probe per value
    (a loose index scan, which PostgreSQL 15 does not do by itself); elsewhere a DISTINCT."""
    model = queryset.model
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or queryset.query.where:
        return list(queryset.order_by(field_name).values_list(field_name, flat=True).distinct())
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field_name).column)
    sql = (
        f"WITH RECURSIVE v(val) AS ("  # noqa: S608 - quoted names of a model's own table
        f" (SELECT min({column}) FROM {table})"
        f" UNION ALL"
        f" SELECT (SELECT min({column}) FROM {table} WHERE {column} > v.val)"
        f" FROM v WHERE v.val IS NOT NULL"
        f") SELECT val FROM v WHERE val IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class DistinctValuesFilter(admin.AllValuesFieldListFilter):
    """Django's filter of a field's values, read by :func:`distinct_values` (the field
    needs an index for that to be fast)."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = distinct_values(self.lookup_choices, field.name)


class BoundedRelatedOnlyFilter(admin.RelatedFieldListFilter):
    """The related rows some row of the list refers to, at most ``FILTER_CHOICES_LIMIT``
    of them (in the related admin's order) and the one chosen; one query however many
    there are. With more, the title says so and the search box finds the others.
    ``label_related``: the relations the related row's label reads (``select_related``)."""

    label_related: tuple[str, ...] = ()

    def field_choices(self, field, request, model_admin):
        related = field.remote_field.model
        used = (
            model_admin.get_queryset(request).order_by().filter(**{self.field_path: OuterRef("pk")})
        )
        ordering = self.field_admin_ordering(field, request, model_admin) or ("pk",)
        rows = related._default_manager.filter(Exists(used)).order_by(*ordering)
        rows = rows.select_related(*self.label_related)
        choices = [(obj.pk, str(obj)) for obj in rows[: FILTER_CHOICES_LIMIT + 1]]
        self.truncated = len(choices) > FILTER_CHOICES_LIMIT
        choices = choices[:FILTER_CHOICES_LIMIT]
        chosen = self.lookup_val[-1] if self.lookup_val else None
        if chosen and parse_id(chosen) is not None and chosen not in {str(pk) for pk, _ in choices}:
            obj = related._default_manager.select_related(*self.label_related)
            picked = obj.filter(pk=chosen).first()
            if picked is not None:
                choices.append((picked.pk, str(picked)))
        return choices

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        if self.truncated:
            self.title = gettext("%(title)s (the first %(count)d; search for others)") % {
                "title": self.lookup_title,
                "count": FILTER_CHOICES_LIMIT,
            }


class LargeTableAdminMixin:
    """A ModelAdmin whose changelist does no work proportional to its table: the estimated
    count, the date hierarchy from the first and last row, no second full count."""

    paginator: ClassVar[type] = EstimatedCountPaginator
    show_full_result_count: ClassVar[bool] = False

    def get_changelist(self, request: Any, **kwargs: Any) -> type[ChangeList]:
        return RangeDateHierarchyChangeList
