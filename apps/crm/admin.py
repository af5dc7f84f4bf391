"""Admin for the governed CRM rows: for anyone but a superuser, open only under a live grant.

Model permissions do not open these pages: a live grant on an asset whose governed_model is
the page's model does (apps.access GrantBackend for rows, the access selectors for lists).
Rows cannot be added or deleted here except by a superuser: retention removes rows.
Every read is logged like the portal pages, once per request and model: change lists,
change, history and delete pages, rows shown inline, actions and the autocomplete
(jitportal/admin_site.py). Related rows are named by their reference (``str()``, see
apps/crm/models.py), so a page of one governed model shows nothing of another's.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from apps.access import services as access_services
from apps.audit.services import audit_event_record

from . import selectors
from .models import Customer, SupportTicket
from .services import records_listed_log


def _user(request: HttpRequest) -> User:
    # The admin's views run for signed-in staff only.
    return cast(User, request.user)


class GrantGatedAdmin(admin.ModelAdmin):
    """has_*_permission answered from the user's live grants, checked at every request."""

    def _access(self, request: HttpRequest, action: str = "view") -> selectors.RecordAccess | None:
        # One lookup per request and action: the change list asks many times.
        cache: dict[tuple[str, str], Any] = request.__dict__.setdefault("_crm_grant_cache", {})
        key = (self.model._meta.label_lower, action)
        if key not in cache:
            cache[key] = selectors.record_access_for_model(
                user=_user(request), model=self.model, action=action
            )
        return cache[key]

    def _gated(self, request: HttpRequest) -> bool:
        user = request.user
        return not (user.is_active and user.is_superuser)

    def _perm(self, action: str) -> str:
        return f"{self.opts.app_label}.{action}_{self.opts.model_name}"

    def has_module_permission(self, request: HttpRequest) -> bool:
        if not self._gated(request):
            return super().has_module_permission(request)
        return request.user.is_active and request.user.is_staff and bool(self._access(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self._gated(request):
            return super().has_view_permission(request, obj)
        if not (request.user.is_active and request.user.is_staff):
            return False
        if obj is None:
            return self._access(request) is not None
        return request.user.has_perm(self._perm("view"), obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self._gated(request):
            return super().has_change_permission(request, obj)
        if not (request.user.is_active and request.user.is_staff):
            return False
        if obj is None:
            return self._access(request, "change") is not None
        return request.user.has_perm(self._perm("change"), obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not self._gated(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._gated(request) and super().has_delete_permission(request, obj)

    # --- the access log: every read of these rows, as on the portal pages ------------------

    def _log_one(self, request: HttpRequest, obj: Any) -> None:
        found = selectors.record_access_for_object(user=_user(request), obj=obj)
        if found is not None:
            access_services.access_record_view_log(user=_user(request), obj=obj, grant=found.grant)
        else:
            # A superuser reads without a grant: still on the record, marked as such.
            audit_event_record(
                action="access.record.viewed_as_superuser",
                actor=_user(request),
                target=obj,
                data={"model": obj._meta.label_lower},
            )

    def records_shown_log(
        self, request: HttpRequest, ids: list[Any], *, query: str = "", page: int = 1
    ) -> None:
        """One ``access.records.listed`` event (``..._as_superuser`` without a grant) for the
        rows ``ids`` a page showed; nothing when it showed none and nothing was searched."""
        if not ids and not query:
            return
        access = self._access(request)
        records_listed_log(
            user=_user(request),
            model=self.model,
            ids=ids,
            asset=access.asset if access is not None else None,
            grant=access.grant if access is not None else None,
            query=query,
            page=page,
        )

    def _log_object_page(self, request: HttpRequest, response: HttpResponse) -> None:
        context = getattr(response, "context_data", None) or {}
        obj = context.get("original") or context.get("object")
        if request.method == "GET" and response.status_code == 200 and obj is not None:
            self._log_one(request, obj)

    def _log_inlines(self, request: HttpRequest, response: HttpResponse) -> None:
        """Rows of another governed model shown inline: logged by that model's admin."""
        context = getattr(response, "context_data", None) or {}
        if response.status_code != 200:
            return
        for inline in context.get("inline_admin_formsets") or ():
            other = self.admin_site._registry.get(inline.formset.model)
            if isinstance(other, GrantGatedAdmin):
                ids = [form.instance.pk for form in inline.formset.initial_forms]
                other.records_shown_log(request, ids)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        self._log_object_page(request, response)
        if request.method == "GET":
            self._log_inlines(request, response)
        return response

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().history_view(request, object_id, extra_context)
        self._log_object_page(request, response)
        return response

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().delete_view(request, object_id, extra_context)
        self._log_object_page(request, response)
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        changelist = context.get("cl")
        if response.status_code == 200 and changelist is not None:
            self.records_shown_log(
                request,
                [row.pk for row in changelist.result_list],
                query=changelist.query,
                page=changelist.page_num,
            )
        return response

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Every action (delete, exports) logs the rows it was given before it runs."""
        actions = super().get_actions(request)
        return {
            name: (self._logged_action(entry[0]), entry[1], entry[2])
            for name, entry in actions.items()
            if entry is not None
        }

    def _logged_action(self, func: Any) -> Any:
        @functools.wraps(func)
        def run(modeladmin: Any, request: HttpRequest, queryset: Any) -> Any:
            self.records_shown_log(request, list(queryset.values_list("pk", flat=True)))
            return func(modeladmin, request, queryset)

        return run

    # Django's autocomplete (jitportal.admin_site): the same check (has_view_permission),
    # the same event as the change list.
    def autocomplete_shown(
        self, request: HttpRequest, objects: list[Any], *, term: str, page: int
    ) -> None:
        self.records_shown_log(request, [obj.pk for obj in objects], query=term, page=page)


class SupportTicketInline(admin.TabularInline):
    model = SupportTicket
    fields = ("subject", "status", "created_at", "closed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Tickets are their own asset: shown inline only under a grant on it too.
        if request.user.is_active and request.user.is_superuser:
            return True
        return (
            selectors.record_access_for_model(user=_user(request), model=SupportTicket) is not None
        )


@admin.register(Customer)
class CustomerAdmin(GrantGatedAdmin):
    list_display = ("external_ref", "full_name", "email", "country", "status", "created_at")
    list_filter = ("status", "country", "contract_ended_on", "created_at")
    search_fields = ("external_ref", "full_name", "email", "phone")
    date_hierarchy = "created_at"
    readonly_fields = ("anonymised_at",)
    inlines = [SupportTicketInline]
    list_per_page = 50

    def autocomplete_label(self, obj: Customer) -> str:
        # Served only under a grant on the customers (has_view_permission), and logged.
        return f"{obj.full_name} ({obj.external_ref})"

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        excluded = list(super().get_exclude(request, obj) or [])
        # Art. 9 notes only under a grant on an asset that holds special-category data.
        if self._gated(request) and (
            selectors.record_access_for_model(
                user=_user(request), model=Customer, special_only=True
            )
            is None
        ):
            excluded.append("health_notes")
        return excluded


@admin.register(SupportTicket)
class SupportTicketAdmin(GrantGatedAdmin):
    list_display = ("id", "subject", "customer_ref", "status", "created_at", "closed_at")
    list_filter = ("status", "created_at", "closed_at")
    search_fields = ("subject", "customer__external_ref")
    date_hierarchy = "created_at"
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    list_per_page = 50

    @admin.display(description=_("customer"), ordering="customer__external_ref")
    def customer_ref(self, obj: SupportTicket) -> str:
        return obj.customer.external_ref
