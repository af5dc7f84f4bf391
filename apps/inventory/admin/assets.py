"""Data assets: what access and retention are decided on."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter

from jitportal.admin_base import bulk_service_action
from jitportal.evidence import EvidenceDeleteRefusalMixin

from .. import services
from ..models import DataAsset
from .base import InventoryModelAdmin
from .filters import ArchivedFilter, AssetCategoryFilter


@admin.register(DataAsset)
class DataAssetAdmin(EvidenceDeleteRefusalMixin, InventoryModelAdmin):
    evidence_instead = _(  # type: ignore[assignment]  # a lazy translation
        "Archive it instead (action “Archive the selected data assets”): it is then no "
        "longer offered for new requests or shown in reports of the current state, and "
        "stays in the registers."
    )
    actions = ["archive_assets", "unarchive_assets"]
    list_display = (
        "name",
        "system",
        "sensitivity",
        "is_special",
        "category_list",
        "owner",
        "steward_group",
        "archived_at",
    )
    list_filter = (
        ArchivedFilter,
        "is_special",
        "sensitivity",
        AssetCategoryFilter,
        ("system", admin.RelatedOnlyFieldListFilter),
        ("system__hosting_country", CountryFilter),
        ("subjects", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("system", "owner", "steward_group")
    search_fields = ("name", "description", "system__name", "categories__name")
    autocomplete_fields = ("system", "owner", "steward_group", "categories", "subjects")
    readonly_fields = ("special_status", "created_at", "updated_at", "archived_at")
    fieldsets = (
        (None, {"fields": ("name", "system", "description", "governed_model", "archived_at")}),
        (_("Accountability"), {"fields": ("owner", "steward_group")}),
        (
            _("What it holds"),
            {
                "fields": (
                    "categories",
                    "special_status",
                    "subjects",
                    "sensitivity",
                    "record_count_estimate",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    empty_message = _(
        "No data assets yet. A data asset is a set of personal data in one system "
        "(e.g. “CRM / Customers”) that access and retention are decided on."
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    @admin.display(description=_("categories"))
    def category_list(self, obj: DataAsset) -> str:
        return ", ".join(c.name for c in obj.categories.all()) or "—"

    @admin.action(description=_("Archive the selected data assets"), permissions=["change"])
    def archive_assets(self, request, queryset):
        bulk_service_action(
            request,
            queryset.order_by("pk"),
            lambda asset: services.data_asset_archive(asset_id=asset.pk, actor=request.user),
            label=lambda asset: f"“{asset}”",
            done_message=lambda n, labels: (
                ngettext("Archived %(count)d: %(labels)s.", "Archived %(count)d: %(labels)s.", n)
                % {"count": n, "labels": labels}
            ),
        )

    @admin.action(description=_("Unarchive the selected data assets"), permissions=["change"])
    def unarchive_assets(self, request, queryset):
        bulk_service_action(
            request,
            queryset.order_by("pk"),
            lambda asset: services.data_asset_unarchive(asset_id=asset.pk, actor=request.user),
            label=lambda asset: f"“{asset}”",
            done_message=lambda n, labels: (
                ngettext(
                    "Back in use %(count)d: %(labels)s.", "Back in use %(count)d: %(labels)s.", n
                )
                % {"count": n, "labels": labels}
            ),
        )

    @admin.display(description=_("special category (Art. 9/10)"))
    def special_status(self, obj: DataAsset | None) -> str:
        explanation = gettext(
            "Derived from the categories, never set by hand: the asset is special when one of "
            "its categories is an Art. 9 special category or Art. 10 criminal data, and it "
            "changes as soon as the categories (or a category's kind) change. Access to "
            "special-category assets needs a DPO approval."
        )
        if obj is None or obj.pk is None:
            return format_html(
                "{} <br><small>{}</small>",
                gettext("Decided from the categories when saved."),
                explanation,
            )
        restricted = [c for c in obj.categories.all() if c.is_special]
        if restricted:
            return format_html(
                "<strong>{}</strong>, {}<br><small>{}</small>",
                gettext("Yes"),
                gettext("because of: %(categories)s")
                % {"categories": ", ".join(c.name for c in restricted)},
                explanation,
            )
        return format_html("{}<br><small>{}</small>", gettext("No"), explanation)
