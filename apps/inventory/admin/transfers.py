"""Transfers to third countries or international organisations (Art. 30(1)(e))."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter

from ..models import Transfer
from .base import InventoryModelAdmin


@admin.register(Transfer)
class TransferAdmin(InventoryModelAdmin):
    list_display = ("activity", "recipient", "destination", "mechanism", "outside_eea_display")
    list_filter = ("mechanism", ("country", CountryFilter))
    list_select_related = ("activity", "recipient")
    search_fields = ("activity__name", "recipient__name", "international_organisation")
    autocomplete_fields = ("activity", "recipient")
    readonly_fields = ("created_at", "updated_at")
    empty_message = _(
        "No transfers recorded. Record each transfer of personal data outside the EEA "
        "(or to an international organisation) with its safeguard."
    )

    @admin.display(description=_("destination"))
    def destination(self, obj: Transfer) -> str:
        return obj.international_organisation or (obj.country.name if obj.country else "—")

    @admin.display(description=_("outside the EEA"), boolean=True)
    def outside_eea_display(self, obj: Transfer) -> bool:
        return obj.outside_eea
