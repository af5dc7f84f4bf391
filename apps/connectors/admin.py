"""Admin of targets and bindings (edited by the DPO, checked against the target when saved),
the provisioning rows (read-only, with "retry now") and the drift findings (the drift page)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.admin.widgets import ValidAutocompleteMixin
from jitportal.admin_base import ReadOnlyModelAdmin

from .forms import TargetBindingForm, TargetForm
from .models import DriftFinding, Provisioning, Target, TargetBinding
from .registry import connector_class
from .services import provisioning_provision, provisionings_deprovision
from .services.drift import DriftStatus, not_observable_text, target_drift_check


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetForm
    list_display = ["name", "kind", "authoritative", "enabled", "account_prefix", "url_setting"]
    list_filter = ["kind", "authoritative", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["guarantees"]
    fields = [
        "name",
        "kind",
        "guarantees",
        "url_setting",
        "authoritative",
        "account_prefix",
        "enabled",
        "options",
    ]
    actions = ["check_drift"]

    @admin.display(description=_("what it guarantees"))
    def guarantees(self, obj: Target) -> str:
        cls = connector_class(obj.kind) if obj and obj.kind else None
        return str(cls.guarantees) if cls else "–"

    @admin.action(description=_("Compare with live grants now (drift)"), permissions=["change"])
    def check_drift(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        for target in queryset.order_by("pk"):
            result = target_drift_check(target_id=target.pk)
            if result.status == DriftStatus.NOT_OBSERVABLE:
                messages.info(request, not_observable_text(target))
            elif result.error:
                messages.error(
                    request,
                    gettext("%(target)s did not answer: %(error)s")
                    % {"target": target, "error": result.error},
                )
            else:
                messages.info(
                    request,
                    ngettext(
                        "%(target)s: %(count)d finding.",
                        "%(target)s: %(count)d findings.",
                        len(result.findings),
                    )
                    % {"target": target, "count": len(result.findings)},
                )


@admin.register(TargetBinding)
class TargetBindingAdmin(ValidAutocompleteMixin, admin.ModelAdmin):
    form = TargetBindingForm
    list_display = ["asset", "target", "schema", "tables"]
    list_filter = ["target"]
    search_fields = ["asset__name", "target__name"]
    autocomplete_fields = ["asset"]
    list_select_related = ["asset", "target"]


class RemovalFilter(admin.SimpleListFilter):
    title = _("removal")
    parameter_name = "removal"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("pending", _("not yet removed")), ("done", _("removed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Provisioning]) -> Any:
        if self.value() == "pending":
            return queryset.to_remove()  # type: ignore[attr-defined]
        if self.value() == "done":
            return queryset.filter(state="deprovisioned")
        return queryset


@admin.register(Provisioning)
class ProvisioningAdmin(ReadOnlyModelAdmin):
    list_display = [
        "account",
        "target",
        "grant",
        "state",
        "tries",
        "short_error",
        "remove_requested_at",
        "deprovisioned_at",
    ]
    list_filter = ["state", RemovalFilter, "target"]
    search_fields = ["account", "grant__user__username"]
    list_select_related = ["target", "grant__user"]
    exclude = ["secret_sealed"]
    actions = ["retry_now"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields if f.name != "secret_sealed"]

    @admin.display(description=_("last error"))
    def short_error(self, obj: Provisioning) -> str:
        return obj.error[:120]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("connectors.change_target")

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Provisioning]) -> None:
        removal = list(queryset.to_remove().values_list("pk", flat=True))  # type: ignore[attr-defined]
        outcome = provisionings_deprovision(provisioning_ids=removal)
        provisioned = 0
        for pk in queryset.to_provision().values_list("pk", flat=True):  # type: ignore[attr-defined]
            row = provisioning_provision(provisioning_id=pk)
            provisioned += bool(row and row.state == "provisioned")
        messages.info(
            request,
            gettext("Removed: %(removed)d, failed: %(failed)d, set up: %(provisioned)d.")
            % {**outcome, "provisioned": provisioned},
        )


@admin.register(DriftFinding)
class DriftFindingAdmin(ReadOnlyModelAdmin):
    list_display = ["found_at", "target", "kind", "account", "action", "grant"]
    list_filter = ["target", "kind", "action"]
    search_fields = ["account"]
    list_select_related = ["target"]
    date_hierarchy = "found_at"
