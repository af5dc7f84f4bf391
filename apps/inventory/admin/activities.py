"""Processing activities: the entries of the Art. 30 record."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jitportal.evidence import EvidenceDeleteRefusalMixin

from ..models import ProcessingActivity, Transfer
from ..selectors import (
    processing_activity_missing_fields,
    processing_activity_restricted_categories,
)
from .base import InventoryModelAdmin
from .filters import (
    ActivityCategoryFilter,
    ActivitySystemFilter,
    CompletenessFilter,
    ReviewDueFilter,
    SpecialDataFilter,
)
from .forms import ProcessingActivityAdminForm, TransferInlineForm
from .widgets import ValidAutocompleteMixin


class TransferInline(ValidAutocompleteMixin, admin.StackedInline):
    model = Transfer
    form = TransferInlineForm
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    autocomplete_fields = ("recipient",)
    verbose_name = _("transfer to a third country or international organisation")
    verbose_name_plural = _(
        "transfers to third countries or international organisations (Art. 30(1)(e))"
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recipient", "activity")


@admin.register(ProcessingActivity)
class ProcessingActivityAdmin(EvidenceDeleteRefusalMixin, InventoryModelAdmin):
    evidence_instead = _(  # type: ignore[assignment]  # a lazy translation
        "Untick “is active” instead: it is then no longer offered as a purpose for new "
        "requests, and the requests keep it."
    )
    form = ProcessingActivityAdminForm
    list_display = (
        "name",
        "reference",
        "role",
        "lawful_basis",
        "special_data",
        "missing_count_display",
        "next_review_on",
        "is_active",
    )
    list_display_links = ("name",)
    list_filter = (
        CompletenessFilter,
        SpecialDataFilter,
        "lawful_basis",
        "role",
        ReviewDueFilter,
        ActivityCategoryFilter,
        ActivitySystemFilter,
        "dpia_required",
        "is_active",
    )
    search_fields = ("name", "reference", "business_function", "purposes")
    autocomplete_fields = ("owner", "data_subjects", "data_categories", "assets", "recipients")
    readonly_fields = ("missing_fields", "special_data_detail", "created_at", "updated_at")
    inlines = (TransferInline,)
    # Shown only to UK organisations (JITPORTAL_ROPA_UK).
    uk_fields = ("dpa2018_schedule1_condition",)
    empty_message = _(
        "No processing activities yet. Each one is an entry of the Art. 30 record: "
        "purpose, lawful basis, data subjects, data, recipients, transfers, retention, security."
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "reference",
                    "business_function",
                    "owner",
                    "is_active",
                    "missing_fields",
                )
            },
        ),
        (
            _("Role and controllers (Art. 30(1)(a), 30(2)(a))"),
            {"fields": ("role", "joint_controller", "controller_on_behalf")},
        ),
        (
            _("Purposes and lawful basis (Art. 30(1)(b), Art. 6, 9, 10)"),
            {
                "fields": (
                    "purposes",
                    "lawful_basis",
                    "legitimate_interests",
                    "lia_link",
                    "consent_record_link",
                    "special_data_detail",
                    "art9_condition",
                    "art10_authority",
                    "dpa2018_schedule1_condition",
                )
            },
        ),
        (
            _("Data subjects and personal data (Art. 30(1)(c))"),
            {"fields": ("data_subjects", "data_categories", "assets", "source_of_data")},
        ),
        (
            _("Recipients (Art. 30(1)(d))"),
            {"fields": ("recipients", "no_recipients", "processor_contract_link")},
        ),
        (
            _("Retention and security (Art. 30(1)(f), (g))"),
            {
                "fields": (
                    "retention_description",
                    "retention_policy_link",
                    "security_measures",
                    "data_location",
                )
            },
        ),
        (
            _("Rights, automated decisions and DPIA"),
            {
                "fields": (
                    "rights_available",
                    "automated_decision_making",
                    "automated_decision_details",
                    "dpia_required",
                    "dpia_status",
                    "dpia_link",
                )
            },
        ),
        (_("Breaches"), {"fields": ("breach_occurred", "breach_record_link")}),
        (
            _("Review"),
            {"fields": ("last_reviewed_on", "next_review_on", "created_at", "updated_at")},
        ),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        # The form is built from these fieldsets, so a field left out here is not posted.
        fieldsets = super().get_fieldsets(request, obj)
        if settings.JITPORTAL.get("ROPA_UK", False):
            return fieldsets
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in self.uk_fields]})
            for name, opts in fieldsets
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).with_missing_count().with_special_data()

    @admin.display(description=_("special data"), boolean=True, ordering="processes_special")
    def special_data(self, obj: ProcessingActivity) -> bool:
        return obj.processes_special  # type: ignore[attr-defined]

    @admin.display(description=_("missing"), ordering="missing_count")
    def missing_count_display(self, obj: ProcessingActivity) -> str:
        count = obj.missing_count  # type: ignore[attr-defined]
        if count == 0:
            return "—"
        return format_html('<span title="{}">{}</span>', gettext("Art. 30 fields missing"), count)

    @admin.display(description=_("missing for Art. 30"))
    def missing_fields(self, obj: ProcessingActivity | None) -> str:
        if obj is None or obj.pk is None:
            return gettext("Checked once the activity is saved.")
        missing = processing_activity_missing_fields(obj)
        if not missing:
            return gettext("Nothing: the record of this activity is complete.")
        return format_html(
            "<ul class='jp-compact-list'>{}</ul>",
            format_html_join("", "<li>{}</li>", ((label,) for label in missing)),
        )

    @admin.display(description=_("special-category data processed"))
    def special_data_detail(self, obj: ProcessingActivity | None) -> str:
        if obj is None or obj.pk is None:
            return gettext("Derived from the data categories and the data assets when saved.")
        restricted = list(processing_activity_restricted_categories(obj))
        if not restricted:
            return gettext("None (from the activity's categories and its data assets' categories).")
        return format_html(
            "{}<br><small>{}</small>",
            ", ".join(str(c) for c in restricted),
            gettext(
                "From the activity's categories and its data assets' categories; an "
                "Art. 9(2) condition (and for Art. 10 data, the legal authority) is required."
            ),
        )
