"""Access roles: the policies people ask under."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.inventory.admin.widgets import ValidAutocompleteMixin
from jitportal.evidence import EvidenceDeleteRefusalMixin

from .. import services
from ..models import AccessRole
from .display import rights_text


@admin.register(AccessRole)
class AccessRoleAdmin(EvidenceDeleteRefusalMixin, ValidAutocompleteMixin, admin.ModelAdmin):
    evidence_instead = _(  # type: ignore[assignment]  # a lazy translation
        "Untick “is active” instead: it is then no longer offered."
    )
    list_display = (
        "name",
        "rights",
        "approvals_required",
        "dpo_needed",
        "max_duration",
        "pending_timeout",
        "asset_count",
        "is_active",
    )
    list_filter = (
        "is_active",
        "approvals_required",
        "require_dpo",
        "require_ticket",
        "can_change",
        "can_export",
        ("assets__system", admin.RelatedOnlyFieldListFilter),
        ("approver_groups", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("name", "description", "assets__name", "assets__system__name")
    filter_horizontal = ("requestable_by_groups", "approver_groups")
    autocomplete_fields = ("assets", "requestable_by_users")
    readonly_fields = ("created_at", "updated_at")
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("name", "description", "is_active", "assets")}),
        (_("Rights"), {"fields": ("can_view", "can_change", "can_export")}),
        (
            _("Who may ask"),
            {
                "fields": ("requestable_by_groups", "requestable_by_users"),
                "description": _("Nobody listed: any active user may ask."),
            },
        ),
        (
            _("Window"),
            {
                "fields": (
                    "default_duration",
                    "max_duration",
                    "max_total_duration",
                    "allow_future_start",
                    "max_start_ahead",
                    "pending_timeout",
                    "remind_approvers_after",
                )
            },
        ),
        (
            _("Who decides"),
            {
                "fields": (
                    "approvals_required",
                    "approve_by_asset_owner",
                    "approve_by_steward_group",
                    "approver_groups",
                    "require_dpo",
                ),
                "description": _(
                    "The DPO's approval is always needed when an asset holds "
                    "Art. 9/10 data, in addition to the approvals counted here."
                ),
            },
        ),
        (
            _("Asking"),
            {
                "fields": (
                    "require_justification",
                    "require_ticket",
                    "ticket_pattern",
                    "ticket_hint",
                    "requester_mfa_required",
                )
            },
        ),
        (_("History"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessRole]:
        special = AccessRole.assets.through.objects.filter(
            accessrole_id=OuterRef("pk"), dataasset__is_special=True
        )
        return (
            super()
            .get_queryset(request)
            .annotate(n_assets=Count("assets", distinct=True), holds_special=Exists(special))
        )

    @admin.display(description=_("rights"))
    def rights(self, obj: AccessRole) -> str:
        return rights_text(obj) or "—"

    @admin.display(description=_("DPO"), boolean=True)
    def dpo_needed(self, obj: AccessRole) -> bool:
        return obj.require_dpo or getattr(obj, "holds_special", False)

    @admin.display(description=_("assets"), ordering="n_assets")
    def asset_count(self, obj: AccessRole) -> int:
        return getattr(obj, "n_assets", 0)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # The settings are complete only once the many-to-many fields are saved.
        services.access_role_record_change(
            role=form.instance, actor=request.user, created=not change
        )

    def delete_model(self, request, obj) -> None:
        services.access_role_record_deleted(role=obj, actor=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for role in queryset:
            services.access_role_record_deleted(role=role, actor=request.user)
        super().delete_queryset(request, queryset)
