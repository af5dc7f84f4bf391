"""The DPO's workplace: the data inventory in the Django admin.

Approvers and auditors read it (view permissions only); staff members see no admin at all.
Every changelist runs a constant number of queries whatever the number of rows: related rows
come with ``list_select_related``/``prefetch_related`` and counts and Art. 30 completeness are
SQL annotations (completeness.py), never per-row Python.
"""

from __future__ import annotations

from typing import Any

from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib import messages as admin_messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_countries.filters import CountryFilter

from jitportal.evidence import EvidenceDeleteRefusalMixin
from jitportal.inputs import parse_id

from . import services
from .completeness import REQUIREMENTS, REQUIREMENTS_BY_KEY
from .gdpr import EEA_COUNTRIES, CategoryKind
from .models import (
    DataAsset,
    DataCategory,
    DataSubjectCategory,
    Organisation,
    ProcessingActivity,
    Recipient,
    System,
    Transfer,
)
from .selectors import (
    processing_activity_missing_fields,
    processing_activity_restricted_categories,
)
from .validation import ACTIVITY_FIELDS, processing_activity_m2m_errors

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


class _ValidSelectedMixin:
    """Render only well-formed selected ids, so a tampered POST gets the form back, not a 500.

    Django's autocomplete widgets look the submitted values up in the database to render
    them, before and whatever the form's own validation says; a value that is not a valid
    key (e.g. ``:``) raised there.
    """

    field: Any

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        target = remote.model._meta.get_field(
            getattr(remote, "field_name", None) or remote.model._meta.pk.name
        )
        valid = []
        for item in value:
            try:
                target.get_prep_value(target.to_python(item))
            except (ValidationError, ValueError, TypeError):
                continue
            valid.append(item)
        return super().optgroups(name, valid, attr)  # type: ignore[misc]


class ValidAutocompleteSelect(_ValidSelectedMixin, AutocompleteSelect):
    pass


class ValidAutocompleteSelectMultiple(_ValidSelectedMixin, AutocompleteSelectMultiple):
    pass


class ValidAutocompleteMixin:
    """Use the widgets above for the ``autocomplete_fields`` of an admin or inline."""

    admin_site: admin.AdminSite

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = ValidAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = ValidAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class InventoryModelAdmin(ValidAutocompleteMixin, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """Shared by every inventory admin: pagination, the audit-log link, an empty state."""

    list_per_page = 50
    auditlog_history_per_page = 25
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https"},
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 80})},
    }
    empty_message = "Nothing recorded yet."

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {"empty_message": self.empty_message, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def auditlog_history_view(self, request, object_id, extra_context=None):
        # auditlog renders the page of a missing object and fails reversing its link.
        if self.get_object(request, unquote(object_id)) is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().auditlog_history_view(request, object_id, extra_context)


# --- Filters ---------------------------------------------------------------------------------


class CompletenessFilter(admin.SimpleListFilter):
    title = "Art. 30 completeness"
    parameter_name = "art30"

    def lookups(self, request, model_admin):
        return [
            ("complete", "Complete"),
            ("missing", "Missing anything"),
            *((f"missing:{r.key}", f"Missing: {r.label}") for r in REQUIREMENTS),
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
    title = "special-category data"
    parameter_name = "special"

    def lookups(self, request, model_admin):
        return [
            ("yes", "Art. 9 or Art. 10 data"),
            ("art9", "Art. 9 special categories"),
            ("art10", "Art. 10 criminal offence data"),
            ("no", "No special-category data"),
        ]

    def queryset(self, request, queryset):
        from .completeness import has_category_kind, has_restricted

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
    title = "review due"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("due", "Due (date passed or not set)"), ("not_due", "Not due yet")]

    def queryset(self, request, queryset):
        if self.value() == "due":
            return queryset.review_due()
        if self.value() == "not_due":
            return queryset.filter(next_review_on__gt=timezone.localdate())
        return queryset


class ActivityCategoryFilter(admin.SimpleListFilter):
    """Activities processing a category (or a sub-category of it), directly or via assets."""

    title = "data category"
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
    title = "data category"
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
    title = "system"
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
    title = "outside the EEA"
    parameter_name = "outside_eea"
    country_field = "hosting_country"

    def lookups(self, request, model_admin):
        return [("yes", "Outside the EEA"), ("no", "In the EEA"), ("unknown", "Not recorded")]

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


# --- Organisation ----------------------------------------------------------------------------


@admin.register(Organisation)
class OrganisationAdmin(InventoryModelAdmin):
    list_display = ("legal_name", "email", "telephone", "dpo_name", "representative_name")
    search_fields = ("legal_name", "email", "dpo_name")
    readonly_fields = ("created_at", "updated_at")
    empty_message = (
        "The controller is not recorded yet: add the organisation so the Art. 30 record "
        "has its name and contact details."
    )
    fieldsets = (
        ("Controller (Art. 30(1)(a))", {"fields": ("legal_name", "address", "email", "telephone")}),
        (
            "Data protection officer (Art. 37(7))",
            {"fields": ("dpo_name", "dpo_address", "dpo_email", "dpo_telephone")},
        ),
        (
            "Representative in the EU/UK (Art. 27)",
            {
                "fields": (
                    "representative_name",
                    "representative_address",
                    "representative_email",
                    "representative_telephone",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One controller per installation: the header of every record of processing.
        return super().has_add_permission(request) and not Organisation.objects.exists()


# --- Categories ------------------------------------------------------------------------------


class TopLevelCategoryFilter(admin.SimpleListFilter):
    title = "group"
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

    @admin.display(description="data assets", ordering="_assets")
    def asset_count(self, obj: DataCategory | DataSubjectCategory) -> int:
        return obj._assets  # type: ignore[union-attr]

    @admin.display(description="activities", ordering="_activities")
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
    empty_message = (
        "No data categories. The default GDPR taxonomy is created by `manage.py migrate`; "
        "add your own categories here."
    )


@admin.register(DataSubjectCategory)
class DataSubjectCategoryAdmin(UsageCountsMixin, InventoryModelAdmin):
    list_display = ("name", "is_vulnerable", "is_builtin", "asset_count", "activity_count")
    list_filter = ("is_vulnerable", "is_builtin")
    search_fields = ("name", "description")
    readonly_fields = ("is_builtin", "created_at", "updated_at")
    empty_message = "No categories of data subjects yet (customers, employees, …)."


# --- Systems and data assets -----------------------------------------------------------------


class AssetSummaryInline(admin.TabularInline):
    """The system's data assets, read-only: they are edited on their own pages."""

    model = DataAsset
    fields = ("name", "sensitivity", "is_special", "owner", "steward_group", "category_list")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "data assets in this system"

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

    @admin.display(description="categories")
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
    empty_message = (
        "No systems yet. Add the applications, databases and SaaS tenants that hold "
        "personal data, then the data assets in each."
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_assets=Count("assets"))

    @admin.display(description="data assets", ordering="_assets")
    def asset_count(self, obj: System) -> int:
        return obj._assets  # type: ignore[attr-defined]

    @admin.display(description="outside the EEA", boolean=True)
    def outside_eea_display(self, obj: System) -> bool | None:
        return obj.outside_eea if obj.hosting_country else None


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "In use"), ("yes", "Archived")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(archived_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(archived_at__isnull=False)
        return queryset


@admin.register(DataAsset)
class DataAssetAdmin(EvidenceDeleteRefusalMixin, InventoryModelAdmin):
    evidence_instead = (
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
        ("Accountability", {"fields": ("owner", "steward_group")}),
        (
            "What it holds",
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
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    empty_message = (
        "No data assets yet. A data asset is a set of personal data in one system "
        "(e.g. “CRM / Customers”) that access and retention are decided on."
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    @admin.display(description="categories")
    def category_list(self, obj: DataAsset) -> str:
        return ", ".join(c.name for c in obj.categories.all()) or "—"

    @admin.action(description="Archive the selected data assets", permissions=["change"])
    def archive_assets(self, request, queryset):
        self._archive(request, queryset, services.data_asset_archive, "archived")

    @admin.action(description="Unarchive the selected data assets", permissions=["change"])
    def unarchive_assets(self, request, queryset):
        self._archive(request, queryset, services.data_asset_unarchive, "back in use")

    def _archive(self, request, queryset, service, done: str) -> None:
        for asset in queryset:
            try:
                service(asset=asset, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), admin_messages.WARNING)
            else:
                self.message_user(request, f"“{asset}” is {done}.")

    @admin.display(description="special category (Art. 9/10)")
    def special_status(self, obj: DataAsset | None) -> str:
        explanation = (
            "Derived from the categories, never set by hand: the asset is special when one of "
            "its categories is an Art. 9 special category or Art. 10 criminal data, and it "
            "changes as soon as the categories (or a category's kind) change. Access to "
            "special-category assets needs a DPO approval."
        )
        if obj is None or obj.pk is None:
            return format_html(
                "Decided from the categories when saved. <br><small>{}</small>", explanation
            )
        restricted = [c for c in obj.categories.all() if c.is_special]
        if restricted:
            return format_html(
                "<strong>Yes</strong>, because of: {}<br><small>{}</small>",
                ", ".join(c.name for c in restricted),
                explanation,
            )
        return format_html("No<br><small>{}</small>", explanation)


# --- Recipients, activities, transfers -------------------------------------------------------


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
    empty_message = (
        "No recipients yet: processors, third parties and authorities the data is disclosed to."
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_activities=Count("activities"))

    @admin.display(description="activities", ordering="_activities")
    def activity_count(self, obj: Recipient) -> int:
        return obj._activities  # type: ignore[attr-defined]

    @admin.display(description="outside the EEA", boolean=True)
    def outside_eea_display(self, obj: Recipient) -> bool | None:
        if obj.is_international_organisation:
            return True
        if not obj.country:
            return None
        return obj.country.code not in EEA_COUNTRIES

    @admin.display(description="contract link", boolean=True)
    def has_contract(self, obj: Recipient) -> bool:
        return bool(obj.contract_link)


def _https_formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    # Links the DPO pastes without a scheme are documents on the web: https.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class TransferInlineForm(forms.ModelForm):
    class Meta:
        model = Transfer
        formfield_callback = _https_formfield
        fields = (
            "recipient",
            "country",
            "international_organisation",
            "mechanism",
            "safeguard_link",
            "description",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 2, "cols": 40})}


class TransferInline(ValidAutocompleteMixin, admin.StackedInline):
    model = Transfer
    form = TransferInlineForm
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    autocomplete_fields = ("recipient",)
    verbose_name = "transfer to a third country or international organisation"
    verbose_name_plural = (
        "transfers to third countries or international organisations (Art. 30(1)(e))"
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recipient", "activity")


class ProcessingActivityAdminForm(forms.ModelForm):
    class Meta:
        model = ProcessingActivity
        formfield_callback = _https_formfield
        # Every editable field; the admin's fieldsets lay them out.
        fields = (
            "name",
            "reference",
            "business_function",
            "owner",
            "is_active",
            "role",
            "joint_controller",
            "controller_on_behalf",
            "purposes",
            "lawful_basis",
            "legitimate_interests",
            "lia_link",
            "art9_condition",
            "art10_authority",
            "dpa2018_schedule1_condition",
            "consent_record_link",
            "data_subjects",
            "data_categories",
            "assets",
            "recipients",
            "no_recipients",
            "processor_contract_link",
            "retention_description",
            "retention_policy_link",
            "security_measures",
            "rights_available",
            "automated_decision_making",
            "automated_decision_details",
            "source_of_data",
            "data_location",
            "dpia_required",
            "dpia_status",
            "dpia_link",
            "breach_occurred",
            "breach_record_link",
            "last_reviewed_on",
            "next_review_on",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        # The plain-field rules run in ProcessingActivity.clean(); these need the
        # many-to-many values the form is about to save.
        values = {name: cleaned.get(name, getattr(self.instance, name)) for name in ACTIVITY_FIELDS}
        errors = processing_activity_m2m_errors(
            values,
            data_categories=cleaned.get("data_categories"),
            assets=cleaned.get("assets"),
            recipients=cleaned.get("recipients"),
        )
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(ProcessingActivity)
class ProcessingActivityAdmin(EvidenceDeleteRefusalMixin, InventoryModelAdmin):
    evidence_instead = (
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
    empty_message = (
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
            "Role and controllers (Art. 30(1)(a), 30(2)(a))",
            {"fields": ("role", "joint_controller", "controller_on_behalf")},
        ),
        (
            "Purposes and lawful basis (Art. 30(1)(b), Art. 6, 9, 10)",
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
            "Data subjects and personal data (Art. 30(1)(c))",
            {"fields": ("data_subjects", "data_categories", "assets", "source_of_data")},
        ),
        (
            "Recipients (Art. 30(1)(d))",
            {"fields": ("recipients", "no_recipients", "processor_contract_link")},
        ),
        (
            "Retention and security (Art. 30(1)(f), (g))",
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
            "Rights, automated decisions and DPIA",
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
        ("Breaches", {"fields": ("breach_occurred", "breach_record_link")}),
        (
            "Review",
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

    @admin.display(description="special data", boolean=True, ordering="processes_special")
    def special_data(self, obj: ProcessingActivity) -> bool:
        return obj.processes_special  # type: ignore[attr-defined]

    @admin.display(description="missing", ordering="missing_count")
    def missing_count_display(self, obj: ProcessingActivity) -> str:
        count = obj.missing_count  # type: ignore[attr-defined]
        if count == 0:
            return "—"
        return format_html('<span title="Art. 30 fields missing">{}</span>', count)

    @admin.display(description="missing for Art. 30")
    def missing_fields(self, obj: ProcessingActivity | None) -> str:
        if obj is None or obj.pk is None:
            return "Checked once the activity is saved."
        missing = processing_activity_missing_fields(obj)
        if not missing:
            return "Nothing: the record of this activity is complete."
        return format_html(
            "<ul class='jp-compact-list'>{}</ul>",
            format_html_join("", "<li>{}</li>", ((label,) for label in missing)),
        )

    @admin.display(description="special-category data processed")
    def special_data_detail(self, obj: ProcessingActivity | None) -> str:
        if obj is None or obj.pk is None:
            return "Derived from the data categories and the data assets when saved."
        restricted = list(processing_activity_restricted_categories(obj))
        if not restricted:
            return "None (from the activity's categories and its data assets' categories)."
        return format_html(
            "{}<br><small>From the activity's categories and its data assets' categories; an "
            "Art. 9(2) condition (and for Art. 10 data, the legal authority) is required."
            "</small>",
            ", ".join(str(c) for c in restricted),
        )


@admin.register(Transfer)
class TransferAdmin(InventoryModelAdmin):
    list_display = ("activity", "recipient", "destination", "mechanism", "outside_eea_display")
    list_filter = ("mechanism", ("country", CountryFilter))
    list_select_related = ("activity", "recipient")
    search_fields = ("activity__name", "recipient__name", "international_organisation")
    autocomplete_fields = ("activity", "recipient")
    readonly_fields = ("created_at", "updated_at")
    empty_message = (
        "No transfers recorded. Record each transfer of personal data outside the EEA "
        "(or to an international organisation) with its safeguard."
    )

    @admin.display(description="destination")
    def destination(self, obj: Transfer) -> str:
        return obj.international_organisation or (obj.country.name if obj.country else "—")

    @admin.display(description="outside the EEA", boolean=True)
    def outside_eea_display(self, obj: Transfer) -> bool:
        return obj.outside_eea
