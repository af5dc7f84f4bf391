"""Recipients the data is disclosed to (Art. 30(1)(d))."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter

from ..gdpr import EEA_COUNTRIES
from ..models import Recipient
from .base import InventoryModelAdmin
from .filters import RecipientOutsideEeaFilter


@admin.register(Recipient)
class RecipientAdmin(InventoryModelAdmin):
    list_display = (
        "name",
        "kind",
        "country",
        "is_international_organisation",
        "outside_eea_display",
        "has_contract",
        "activity_count",
    )
    list_filter = (
        "kind",
        ("country", CountryFilter),
        RecipientOutsideEeaFilter,
        "is_international_organisation",
    )
    search_fields = ("name", "contact")
    readonly_fields = ("created_at", "updated_at")
    empty_message = _(
        "No recipients yet: processors, third parties and authorities the data is disclosed to."
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_activities=Count("activities"))

    @admin.display(description=_("activities"), ordering="_activities")
    def activity_count(self, obj: Recipient) -> int:
        return obj._activities  # type: ignore[attr-defined]

    @admin.display(description=_("outside the EEA"), boolean=True)
    def outside_eea_display(self, obj: Recipient) -> bool | None:
        if obj.is_international_organisation:
            return True
        if not obj.country:
            return None
        return obj.country.code not in EEA_COUNTRIES

    @admin.display(description=_("contract link"), boolean=True)
    def has_contract(self, obj: Recipient) -> bool:
        return bool(obj.contract_link)
