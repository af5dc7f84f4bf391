"""Retention rules: the list, the form with its anonymised fields, preview, run now and the
four-eyes confirmation, and the rules by processing activity."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import ProcessingActivity
from apps.signin.mfa import fresh_factor_redirect
from jitportal.formats import datetime_display
from jitportal.inputs import parse_id

from .. import services
from ..forms import AnonymisedFieldForm, AnonymisedFieldFormSet, ConfirmForm, RetentionRuleForm
from ..models import AnonymisedField, PurgeTrigger, RetentionRule
from ..selectors import (
    purge_preview,
    retention_rules_for_assets,
    retention_summary_for_activity,
    rule_due_state,
    rule_summary,
)
from .common import _STATUS_BADGE, _STATUS_TEXT, RetentionAdminMixin, _badge


class ProcessingActivityFilter(admin.SimpleListFilter):
    """Rules of the assets of one processing activity (the ROPA's retention column)."""

    title = _("processing activity")
    parameter_name = "activity"

    def lookups(self, request, model_admin):
        return [
            (str(pk), name) for pk, name in ProcessingActivity.objects.values_list("pk", "name")
        ]

    def queryset(self, request, queryset):
        activity_id = parse_id(self.value())
        if activity_id is not None:
            return queryset.filter(asset__activities__pk=activity_id).distinct()
        return queryset


class AnonymisedFieldInline(admin.TabularInline):
    model = AnonymisedField
    form = AnonymisedFieldForm
    formset = AnonymisedFieldFormSet
    extra = 0
    verbose_name = _("field to anonymise")
    verbose_name_plural = _("fields to anonymise (anonymise rules only)")


@admin.register(RetentionRule)
class RetentionRuleAdmin(RetentionAdminMixin, admin.ModelAdmin):
    form = RetentionRuleForm
    inlines = [AnonymisedFieldInline]
    list_display = (
        "name",
        "asset",
        "target",
        "period",
        "action",
        "enabled",
        "due",
        "last_run",
    )
    list_filter = ("enabled", "action", "target_kind", ProcessingActivityFilter, "asset")
    search_fields = ("name", "legal_reason", "legal_citation", "asset__name")
    list_select_related = ("asset__system", "content_type")
    readonly_fields = ("four_eyes", "summary", "changed_by", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "asset", "category", "enabled", "summary")}),
        (
            _("Target"),
            {
                "fields": ("target_kind", "content_type", "date_field", "filter"),
                "description": _(
                    "Which rows: a model of the portal (or, below, a raw table), "
                    "the date field the period counts from, and an optional filter."
                ),
            },
        ),
        (
            _("Raw table target"),
            {
                "fields": ("raw_database", "raw_table", "raw_key_column"),
                "classes": ("collapse",),
            },
        ),
        (
            _("Period and action"),
            {"fields": ("period_amount", "period_unit", "action", "anonymised_marker_field")},
        ),
        (_("Legal reason"), {"fields": ("legal_reason", "legal_citation")}),
        (
            _("Operation"),
            {"fields": ("run_every_days", "batch_size", "four_eyes", "changed_by", "updated_at")},
        ),
    )
    actions = ["preview_rules"]

    # --- list columns ---

    @admin.display(description=_("target"))
    def target(self, obj: RetentionRule) -> str:
        return f"{obj.target_label}.{obj.date_field}"

    @admin.display(description=_("retention period"))
    def period(self, obj: RetentionRule) -> str:
        return obj.period_label

    @admin.display(description=_("status"))
    def due(self, obj: RetentionRule) -> str:
        return rule_due_state(obj).label

    @admin.display(description=_("last run"))
    def last_run(self, obj: RetentionRule) -> str:
        run = obj.runs.real().order_by("-created_at").first()
        if run is None:
            return "–"
        url = reverse("admin:retention_purgerun_change", args=[run.pk])
        return format_html(
            '<a href="{}">#{}</a> {}',
            url,
            run.pk,
            _badge(_STATUS_TEXT[run.status], _STATUS_BADGE[run.status]),
        )

    @admin.display(description=_("summary"))
    def summary(self, obj: RetentionRule) -> str:
        return rule_summary(obj) if obj.pk else "–"

    @admin.display(description=_("four eyes"))
    def four_eyes(self, obj: RetentionRule) -> str:
        if obj.confirmation_requested_at:
            return gettext(
                "A first run of %(rows)s rows asked for by %(user)s on %(time)s is waiting for "
                "a second person's confirmation."
            ) % {
                "rows": number_format(obj.confirmation_rows or 0, force_grouping=True),
                "user": obj.confirmation_requested_label,
                "time": datetime_display(obj.confirmation_requested_at),
            }
        if obj.confirmed_at:
            return gettext("Confirmed by %(user)s on %(time)s.") % {
                "user": obj.confirmed_by,
                "time": datetime_display(obj.confirmed_at),
            }
        return "–"

    # --- permissions ---

    def has_run_purge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("retention.run_purge")

    def has_confirm_purge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("retention.confirm_purge")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Runs and holds are evidence: a rule with either is disabled, never deleted.
        if obj is not None and (obj.runs.exists() or obj.legal_holds.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- saving goes through services (audited) ---

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.retention_rule_record_change(
            rule=form.instance, actor=request.user, created=not change
        )

    @csrf_protect_m
    def delete_view(self, request, object_id, extra_context=None):
        # retention_rule_delete opens its own (durable) transaction: the admin's wrapping
        # transaction.atomic() is left out.
        return self._delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.retention_rule_delete(rule_id=obj.pk, actor=request.user)

    # --- actions and pages ---

    @admin.action(description=_("Preview (dry run) the selected rules"), permissions=["run_purge"])
    def preview_rules(self, request, queryset):
        for rule in queryset:
            try:
                run = services.purge_run_dry(rule_id=rule.pk, actor=request.user)
            except services.PurgeRefused as exc:
                self.message_user(request, f"{rule}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                gettext("%(rule)s: dry run #%(id)s: %(note)s")
                % {"rule": rule, "id": run.pk, "note": run.note},
                messages.INFO,
            )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "by-activity/",
                view(self.by_activity_view),
                name="retention_retentionrule_by_activity",
            ),
            path(
                "<int:pk>/preview/", view(self.preview_view), name="retention_retentionrule_preview"
            ),
            path("<int:pk>/run/", view(self.run_view), name="retention_retentionrule_run"),
            path(
                "<int:pk>/confirm/", view(self.confirm_view), name="retention_retentionrule_confirm"
            ),
            *super().get_urls(),
        ]

    def by_activity_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = []
        for activity in ProcessingActivity.objects.prefetch_related("assets__system"):
            asset_ids = [a.pk for a in activity.assets.all()]
            rows.append(
                {
                    "activity": activity,
                    "rules": list(retention_rules_for_assets(asset_ids)),
                    "summary": retention_summary_for_activity(activity),
                }
            )
        context = self._page(request, gettext("Retention by processing activity"), rows=rows)
        return TemplateResponse(request, "admin/retention/activity_summary.html", context)

    def _rule_or_404(self, request: HttpRequest, pk: int) -> RetentionRule:
        rule = get_object_or_404(RetentionRule, pk=pk)
        if not self.has_view_permission(request, rule):
            raise PermissionDenied
        return rule

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = self._rule_or_404(request, pk)
        if not self.has_run_purge_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            try:
                run = services.purge_run_dry(rule_id=rule.pk, actor=request.user)
            except services.PurgeRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(request.path)
            self.message_user(
                request,
                gettext("Dry run #%(id)s recorded. Nothing was changed.") % {"id": run.pk},
            )
            return HttpResponseRedirect(reverse("admin:retention_purgerun_change", args=[run.pk]))
        context = self._page(
            request,
            gettext("Preview: %(rule)s") % {"rule": rule},
            rule=rule,
            preview=purge_preview(rule=rule),
            mode="preview",
        )
        return TemplateResponse(request, "admin/retention/preview.html", context)

    def run_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = self._rule_or_404(request, pk)
        if not self.has_run_purge_permission(request):
            raise PermissionDenied
        # A real purge: a second factor presented within MFA_FRESH_MINUTES.
        if (stale := fresh_factor_redirect(request)) is not None:
            return stale
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                outcome = services.purge_run_request(
                    rule_id=rule.pk, actor=request.user, trigger=PurgeTrigger.ADMIN
                )
            except services.PurgeRefused as exc:
                self.message_user(
                    request, gettext("Not run: %(reason)s") % {"reason": exc}, messages.ERROR
                )
                return HttpResponseRedirect(request.path)
            if outcome.awaiting_confirmation:
                self.message_user(request, outcome.message, messages.WARNING)
                return HttpResponseRedirect(
                    reverse("admin:retention_retentionrule_change", args=[rule.pk])
                )
            assert outcome.run is not None
            self.message_user(
                request, f"{outcome.message} {gettext('Progress is shown on this page.')}"
            )
            return HttpResponseRedirect(
                reverse("admin:retention_purgerun_change", args=[outcome.run.pk])
            )
        context = self._page(
            request,
            gettext("Run now: %(rule)s") % {"rule": rule},
            rule=rule,
            preview=purge_preview(rule=rule),
            form=form,
            mode="run",
        )
        return TemplateResponse(request, "admin/retention/preview.html", context)

    def confirm_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = self._rule_or_404(request, pk)
        if not self.has_confirm_purge_permission(request):
            raise PermissionDenied
        # A real purge: a second factor presented within MFA_FRESH_MINUTES.
        if (stale := fresh_factor_redirect(request)) is not None:
            return stale
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                run = services.purge_four_eyes_confirm(rule_id=rule.pk, actor=request.user)
            except services.PurgeRefused as exc:
                self.message_user(
                    request, gettext("Not confirmed: %(reason)s") % {"reason": exc}, messages.ERROR
                )
                return HttpResponseRedirect(
                    reverse("admin:retention_retentionrule_change", args=[rule.pk])
                )
            self.message_user(
                request, gettext("Confirmed: run #%(id)s is planned.") % {"id": run.pk}
            )
            return HttpResponseRedirect(reverse("admin:retention_purgerun_change", args=[run.pk]))
        context = self._page(
            request,
            gettext("Confirm the first run: %(rule)s") % {"rule": rule},
            rule=rule,
            preview=purge_preview(rule=rule),
            form=form,
            mode="confirm",
        )
        return TemplateResponse(request, "admin/retention/preview.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_run_purge": self.has_run_purge_permission(request),
            "can_confirm_purge": self.has_confirm_purge_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)
