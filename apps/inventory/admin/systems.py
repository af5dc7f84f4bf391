"""Systems and the data assets each holds."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter

from ..models import DataAsset, System
from .base import InventoryModelAdmin
from .filters import OutsideEeaFilter


class AssetSummaryInline(admin.TabularInline):
    """The system's data assets, read-only: they are edited on their own pages."""

    model = DataAsset
    fields = ("name", "sensitivity", "is_special", "owner", "steward_group", "category_list")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("data assets in this system")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "steward_group", "system")
            .prefetch_related("categories")
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("categories"))
    def category_list(self, obj: DataAsset) -> str:
        return ", ".join(c.name for c in obj.categories.all()) or "—"


@admin.register(System)
class SystemAdmin(InventoryModelAdmin):
    list_display = (
        "name",
        "vendor",
        "hosting_location",
        "hosting_country",
        "outside_eea_display",
        "owner",
        "owner_team",
        "asset_count",
    )
    list_filter = (("hosting_country", CountryFilter), OutsideEeaFilter, "vendor")
    list_select_related = ("owner",)
    search_fields = ("name", "vendor", "description", "owner_team", "hosting_location")
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (AssetSummaryInline,)
    empty_message = _(
        "No systems yet. Add the applications, databases and SaaS tenants that hold "
        "personal data, then the data assets in each."
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_assets=Count("assets"))

    @admin.display(description=_("data assets"), ordering="_assets")
    def asset_count(self, obj: System) -> int:
        return obj._assets  # type: ignore[attr-defined]

    @admin.display(description=_("outside the EEA"), boolean=True)
    def outside_eea_display(self, obj: System) -> bool | None:
        return obj.outside_eea if obj.hosting_country else None
