"""Categories of personal data and of data subjects."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from ..models import DataCategory, DataSubjectCategory
from .base import InventoryModelAdmin
from .filters import TopLevelCategoryFilter


class UsageCountsMixin:
    """Columns counting the data assets and processing activities that use a category."""

    def get_queryset(self, request):
        return (
            super()  # type: ignore[misc]
            .get_queryset(request)
            .annotate(
                _assets=Count("assets", distinct=True),
                _activities=Count("activities", distinct=True),
            )
        )

    @admin.display(description=_("data assets"), ordering="_assets")
    def asset_count(self, obj: DataCategory | DataSubjectCategory) -> int:
        return obj._assets  # type: ignore[union-attr]

    @admin.display(description=_("activities"), ordering="_activities")
    def activity_count(self, obj: DataCategory | DataSubjectCategory) -> int:
        return obj._activities  # type: ignore[union-attr]


@admin.register(DataCategory)
class DataCategoryAdmin(UsageCountsMixin, InventoryModelAdmin):
    list_display = ("name", "kind", "parent", "is_builtin", "asset_count", "activity_count")
    list_filter = ("kind", "is_builtin", TopLevelCategoryFilter)
    list_select_related = ("parent",)
    search_fields = ("name", "slug", "description", "examples")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    readonly_fields = ("is_builtin", "created_at", "updated_at")
    fields = (
        "name",
        "slug",
        "parent",
        "kind",
        "description",
        "examples",
        "is_builtin",
        "created_at",
        "updated_at",
    )
    empty_message = _(
        "No data categories. The default GDPR taxonomy is created by `manage.py migrate`; "
        "add your own categories here."
    )


@admin.register(DataSubjectCategory)
class DataSubjectCategoryAdmin(UsageCountsMixin, InventoryModelAdmin):
    list_display = ("name", "is_vulnerable", "is_builtin", "asset_count", "activity_count")
    list_filter = ("is_vulnerable", "is_builtin")
    search_fields = ("name", "description")
    readonly_fields = ("is_builtin", "created_at", "updated_at")
    empty_message = _("No categories of data subjects yet (customers, employees, …).")
