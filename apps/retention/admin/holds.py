"""Legal holds: placed, reviewed and lifted through the services, never deleted."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jitportal.admin_base import ServiceErrorsMixin
from jitportal.formats import date_display

from .. import services
from ..forms import LegalHoldLiftForm, LegalHoldPlaceForm, LegalHoldReviewForm
from ..models import LegalHold
from .common import RetentionAdminMixin, _badge


class ActiveHoldFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("In force")), ("lifted", _("Lifted")), ("review", _("Review due"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.active()
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        if self.value() == "review":
            return queryset.review_due()
        return queryset


@admin.register(LegalHold)
class LegalHoldAdmin(ServiceErrorsMixin, RetentionAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "basis",
        "reference",
        "review_on",
        "placed_by_label",
        "placed_at",
        "state",
    )
    list_filter = (ActiveHoldFilter, "scope", "basis")
    search_fields = ("reason", "reference", "placed_by_label")

    @admin.display(description=_("state"))
    def state(self, obj: LegalHold) -> str:
        if obj.lifted_at:
            return _badge(
                gettext("lifted %(date)s") % {"date": date_display(obj.lifted_at)}, "#666"
            )
        return _badge(gettext("in force"), "#b3261e")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("retention.place_legalhold")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Only the review date changes; lifting has its own page with a reason.
        if obj is not None and obj.lifted_at is not None:
            return False
        return request.user.has_perm("retention.place_legalhold")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("retention.lift_legalhold")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = LegalHoldReviewForm if obj is not None else LegalHoldPlaceForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(LegalHoldPlaceForm.base_fields)
        return [
            "scope",
            "covers",
            "record_ids",
            "basis",
            "reference",
            "reason",
            "review_on",
            "placed_by_label",
            "placed_at",
            "lifted_at",
            "lifted_by",
            "lift_reason",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f for f in self.get_fields(request, obj) if f != "review_on"]

    @admin.display(description=_("records"))
    def record_ids(self, obj: LegalHold) -> str:
        ids = list(obj.records.values_list("object_id", flat=True)[:1000])
        return ", ".join(ids) if ids else "–"

    @admin.display(description=_("covers"))
    def covers(self, obj: LegalHold) -> str:
        return obj.covers_label

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The hold services open their own (durable) transaction: the admin's wrapping
        # transaction.atomic() is left out.
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            services.legal_hold_review(
                hold_id=obj.pk, actor=request.user, review_on=form.cleaned_data["review_on"]
            )
            return
        data = form.cleaned_data
        hold = services.legal_hold_place(
            scope=data["scope"],
            basis=data["basis"],
            reason=data["reason"],
            reference=data.get("reference", ""),
            review_on=data["review_on"],
            asset=data.get("asset"),
            rule=data.get("rule"),
            content_type=data.get("content_type"),
            raw_table=data.get("raw_table", ""),
            object_ids=data.get("object_ids", []),
            actor=request.user,
        )
        # The admin continues with ``obj`` (messages, log entry, redirect): make it the hold.
        obj.pk = hold.pk
        obj.placed_at = hold.placed_at
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # Records are written by legal_hold_place; nothing else to save.
        return

    def get_urls(self):
        return [
            path(
                "<int:pk>/lift/",
                self.admin_site.admin_view(self.lift_view),
                name="retention_legalhold_lift",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_lift": self.has_lift_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def lift_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        hold = get_object_or_404(LegalHold, pk=pk)
        if not self.has_lift_permission(request):
            raise PermissionDenied
        form = LegalHoldLiftForm(request.POST if request.method == "POST" else None)
        if hold.lifted_at is not None:
            self.message_user(
                request, gettext("%(hold)s was already lifted.") % {"hold": hold}, messages.WARNING
            )
            return HttpResponseRedirect(reverse("admin:retention_legalhold_change", args=[pk]))
        if request.method == "POST" and form.is_valid():
            try:
                services.legal_hold_lift(
                    hold_id=hold.pk, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                self.add_service_errors(form, exc)
            else:
                self.message_user(request, gettext("%(hold)s is lifted.") % {"hold": hold})
                return HttpResponseRedirect(reverse("admin:retention_legalhold_change", args=[pk]))
        context = self._page(
            request, gettext("Lift %(hold)s") % {"hold": hold}, hold=hold, form=form
        )
        return TemplateResponse(request, "admin/retention/legalhold/lift.html", context)
