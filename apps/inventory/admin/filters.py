"""The inventory admin's list filters."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jitportal.inputs import parse_id

from ..completeness import REQUIREMENTS, REQUIREMENTS_BY_KEY
from ..gdpr import EEA_COUNTRIES, CategoryKind
from ..models import DataAsset, DataCategory, ProcessingActivity, System

_PA_CATEGORIES = ProcessingActivity.data_categories.through
_PA_ASSETS = ProcessingActivity.assets.through
_ASSET_CATEGORIES = DataAsset.categories.through


def _category_and_descendants(category_id: int) -> list[int]:
    """The category and every sub-category below it (one query for the whole tree)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in DataCategory.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, todo = [], [category_id]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _int_or_none(value: Any) -> int | None:
    """An id from a filter parameter (ASCII digits within bigint), or None."""
    return parse_id(value)


class CompletenessFilter(admin.SimpleListFilter):
    title = _("Art. 30 completeness")
    parameter_name = "art30"

    def lookups(self, request, model_admin):
        return [
            ("complete", _("Complete")),
            ("missing", _("Missing anything")),
            *(
                (f"missing:{r.key}", gettext("Missing: %(what)s") % {"what": r.label})
                for r in REQUIREMENTS
            ),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "complete":
            return queryset.complete()
        if value == "missing":
            return queryset.missing_any()
        if value and value.startswith("missing:") and value[8:] in REQUIREMENTS_BY_KEY:
            return queryset.missing(value[8:])
        return queryset


class SpecialDataFilter(admin.SimpleListFilter):
    title = _("special-category data")
    parameter_name = "special"

    def lookups(self, request, model_admin):
        return [
            ("yes", _("Art. 9 or Art. 10 data")),
            ("art9", _("Art. 9 special categories")),
            ("art10", _("Art. 10 criminal offence data")),
            ("no", _("No special-category data")),
        ]

    def queryset(self, request, queryset):
        from ..completeness import has_category_kind, has_restricted

        value = self.value()
        if value == "yes":
            return queryset.filter(has_restricted())
        if value == "art9":
            return queryset.filter(has_category_kind(CategoryKind.SPECIAL))
        if value == "art10":
            return queryset.filter(has_category_kind(CategoryKind.CRIMINAL))
        if value == "no":
            return queryset.exclude(has_restricted())
        return queryset


class ReviewDueFilter(admin.SimpleListFilter):
    title = _("review due")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("due", _("Due (date passed or not set)")), ("not_due", _("Not due yet"))]

    def queryset(self, request, queryset):
        if self.value() == "due":
            return queryset.review_due()
        if self.value() == "not_due":
            return queryset.filter(next_review_on__gt=timezone.localdate())
        return queryset


class ActivityCategoryFilter(admin.SimpleListFilter):
    """Activities processing a category (or a sub-category of it), directly or via assets."""

    title = _("data category")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        used = DataCategory.objects.filter(
            Q(Exists(_PA_CATEGORIES.objects.filter(datacategory_id=OuterRef("pk"))))
            | Q(
                Exists(
                    _ASSET_CATEGORIES.objects.filter(
                        datacategory_id=OuterRef("pk"), dataasset__activities__isnull=False
                    )
                )
            )
        ).select_related("parent")
        return _category_lookups(used)

    def queryset(self, request, queryset):
        category_id = _int_or_none(self.value())
        if category_id is None:
            return queryset
        ids = _category_and_descendants(category_id)
        return queryset.filter(
            Q(
                Exists(
                    _PA_CATEGORIES.objects.filter(
                        processingactivity_id=OuterRef("pk"), datacategory_id__in=ids
                    )
                )
            )
            | Q(
                Exists(
                    _ASSET_CATEGORIES.objects.filter(
                        dataasset__activities=OuterRef("pk"), datacategory_id__in=ids
                    )
                )
            )
        )


class AssetCategoryFilter(admin.SimpleListFilter):
    title = _("data category")
    parameter_name = "category"

    def lookups(self, request, model_admin):
        used = DataCategory.objects.filter(
            Exists(_ASSET_CATEGORIES.objects.filter(datacategory_id=OuterRef("pk")))
        ).select_related("parent")
        return _category_lookups(used)

    def queryset(self, request, queryset):
        category_id = _int_or_none(self.value())
        if category_id is None:
            return queryset
        ids = _category_and_descendants(category_id)
        return queryset.filter(
            Exists(
                _ASSET_CATEGORIES.objects.filter(
                    dataasset_id=OuterRef("pk"), datacategory_id__in=ids
                )
            )
        )


def _category_lookups(used: QuerySet[DataCategory]) -> list[tuple[str, str]]:
    """Used categories under their parents (choosing a parent includes its children)."""
    rows = list(used)
    by_id = {c.pk: c for c in rows}
    for c in rows:
        if c.parent_id and c.parent_id not in by_id and c.parent is not None:
            by_id[c.parent_id] = c.parent

    def sort_key(c: DataCategory) -> tuple[str, int, str]:
        group = by_id[c.parent_id].name if c.parent_id in by_id else c.name
        return (group.lower(), 0 if c.parent_id not in by_id else 1, c.name.lower())

    return [
        (str(c.pk), f"– {c.name}" if c.parent_id in by_id else c.name)
        for c in sorted(by_id.values(), key=sort_key)
    ]


class ActivitySystemFilter(admin.SimpleListFilter):
    title = _("system")
    parameter_name = "system"

    def lookups(self, request, model_admin):
        return [
            (str(pk), name)
            for pk, name in System.objects.filter(assets__activities__isnull=False)
            .distinct()
            .values_list("pk", "name")
        ]

    def queryset(self, request, queryset):
        system_id = _int_or_none(self.value())
        if system_id is None:
            return queryset
        return queryset.filter(
            Exists(
                _PA_ASSETS.objects.filter(
                    processingactivity_id=OuterRef("pk"), dataasset__system_id=system_id
                )
            )
        )


class OutsideEeaFilter(admin.SimpleListFilter):
    title = _("outside the EEA")
    parameter_name = "outside_eea"
    country_field = "hosting_country"

    def lookups(self, request, model_admin):
        return [
            ("yes", _("Outside the EEA")),
            ("no", _("In the EEA")),
            ("unknown", _("Not recorded")),
        ]

    def queryset(self, request, queryset):
        field = self.country_field
        if self.value() == "yes":
            return queryset.exclude(**{field: ""}).exclude(**{f"{field}__in": EEA_COUNTRIES})
        if self.value() == "no":
            return queryset.filter(**{f"{field}__in": EEA_COUNTRIES})
        if self.value() == "unknown":
            return queryset.filter(**{field: ""})
        return queryset


class RecipientOutsideEeaFilter(OutsideEeaFilter):
    country_field = "country"


class TopLevelCategoryFilter(admin.SimpleListFilter):
    title = _("group")
    parameter_name = "group"

    def lookups(self, request, model_admin):
        return [
            (str(pk), name)
            for pk, name in DataCategory.objects.filter(parent__isnull=True).values_list(
                "pk", "name"
            )
        ]

    def queryset(self, request, queryset):
        category_id = _int_or_none(self.value())
        if category_id is None:
            return queryset
        return queryset.filter(pk__in=_category_and_descendants(category_id))


class ArchivedFilter(admin.SimpleListFilter):
    title = _("archived")
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", _("In use")), ("yes", _("Archived"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(archived_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(archived_at__isnull=False)
        return queryset
