"""The controller: the header of every record of processing."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import Organisation
from .base import InventoryModelAdmin


@admin.register(Organisation)
class OrganisationAdmin(InventoryModelAdmin):
    list_display = ("legal_name", "email", "telephone", "dpo_name", "representative_name")
    search_fields = ("legal_name", "email", "dpo_name")
    readonly_fields = ("created_at", "updated_at")
    empty_message = _(
        "The controller is not recorded yet: add the organisation so the Art. 30 record "
        "has its name and contact details."
    )
    fieldsets = (
        (
            _("Controller (Art. 30(1)(a))"),
            {"fields": ("legal_name", "address", "email", "telephone")},
        ),
        (
            _("Data protection officer (Art. 37(7))"),
            {"fields": ("dpo_name", "dpo_address", "dpo_email", "dpo_telephone")},
        ),
        (
            _("Representative in the EU/UK (Art. 27)"),
            {
                "fields": (
                    "representative_name",
                    "representative_address",
                    "representative_email",
                    "representative_telephone",
                )
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One controller per installation: the header of every record of processing.
        return super().has_add_permission(request) and not Organisation.objects.exists()
