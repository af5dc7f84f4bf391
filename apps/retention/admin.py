"""The DPO's retention pages: rules, legal holds and purge runs. Buttons call services."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import csrf_protect_m
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import ProcessingActivity
from jitportal.admin_base import ReadOnlyModelAdmin
from jitportal.formats import date_display, datetime_display
from jitportal.inputs import parse_id

from . import services
from .forms import (
    AnonymisedFieldForm,
    AnonymisedFieldFormSet,
    ConfirmForm,
    LegalHoldLiftForm,
    LegalHoldPlaceForm,
    LegalHoldReviewForm,
    RetentionRuleForm,
)
from .liveness import run_process_gone
from .models import (
    AnonymisedField,
    LegalHold,
    PurgeRun,
    PurgeRunStatus,
    PurgeTrigger,
    RetentionRule,
)
from .selectors import (
    purge_preview,
    retention_rules_for_assets,
    retention_summary_for_activity,
    rule_due_state,
    rule_summary,
)

_STATUS_BADGE: dict[str, str] = {
    PurgeRunStatus.PLANNED: "#666",
    PurgeRunStatus.RUNNING: "#1d5fa8",
    PurgeRunStatus.SUCCEEDED: "#1f7a4d",
    PurgeRunStatus.FAILED: "#b3261e",
    PurgeRunStatus.PARTIAL: "#a35c00",
}


# A run's status as the lists show it (lower case, in the reader's language).
_STATUS_TEXT: dict[str, Any] = {
    PurgeRunStatus.PLANNED: _("planned"),
    PurgeRunStatus.RUNNING: _("running"),
    PurgeRunStatus.SUCCEEDED: _("succeeded"),
    PurgeRunStatus.FAILED: _("failed"),
    PurgeRunStatus.PARTIAL: _("partial"),
}


# Colours as classes of static/css/admin.css: the Content-Security-Policy allows no inline style.
_BADGE_CLASS = {"#666": "grey", "#1d5fa8": "blue", "#1f7a4d": "green", "#b3261e": "red"}


def _badge(text: str, colour: str) -> str:
    return format_html(
        '<span class="jp-badge jp-badge-{}">{}</span>', _BADGE_CLASS.get(colour, "amber"), text
    )


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


class RetentionAdminMixin:
    """Shared helpers for the custom pages."""

    admin_site: Any
    model: Any

    def _page(
        self, request: HttpRequest, title: str, form: forms.Form | None = None, **extra: Any
    ) -> dict[str, Any]:
        """The context of a custom page; its form (if any) as the admin's own ``AdminForm``,
        rendered by admin/includes/fieldset.html like every change form."""
        if form is not None:
            extra["form"] = form
            extra["adminform"] = helpers.AdminForm(
                cast(Any, form),
                [(None, {"fields": list(form.fields)})],
                {},
                model_admin=cast(Any, self),
            )
            extra["errors"] = form.errors if form.is_bound else None
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "changelist_url": reverse(
                f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist"
            ),
            **extra,
        }


@admin.register(RetentionRule)
class RetentionRuleAdmin(RetentionAdminMixin, admin.ModelAdmin):
    form = RetentionRuleForm
    inlines = [AnonymisedFieldInline]
    list_display = (
        "name",
        "asset",
        "target",
        "period_label",
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
class LegalHoldAdmin(RetentionAdminMixin, admin.ModelAdmin):
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
                form.add_error(None, exc)
            else:
                self.message_user(request, gettext("%(hold)s is lifted.") % {"hold": hold})
                return HttpResponseRedirect(reverse("admin:retention_legalhold_change", args=[pk]))
        context = self._page(
            request, gettext("Lift %(hold)s") % {"hold": hold}, hold=hold, form=form
        )
        return TemplateResponse(request, "admin/retention/legalhold/lift.html", context)


def _stop_message(run: PurgeRun) -> str:
    if run.interrupted_at is not None:
        return gettext("%(run)s: its process was gone; closed as interrupted (%(status)s).") % {
            "run": run,
            "status": _STATUS_TEXT[run.status],
        }
    return gettext("%(run)s: asked to stop after its current batch.") % {"run": run}


@admin.register(PurgeRun)
class PurgeRunAdmin(RetentionAdminMixin, ReadOnlyModelAdmin):
    """Evidence: read-only. A running run shows its progress and can be asked to stop."""

    list_display = (
        "__str__",
        "status_badge",
        "progress",
        "affected",
        "skipped_held",
        "skipped_protected",
        "trigger",
        "actor_label",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "dry_run", "trigger", "rule")
    list_select_related = ("rule",)
    search_fields = ("rule__name", "actor_label", "digest", "error_detail")
    date_hierarchy = "created_at"
    actions = ["stop_runs"]

    def get_fields(self, request, obj=None):
        # The error's code and parameters are read as one sentence, in the reader's language.
        fields = [f.name for f in self.model._meta.fields if f.name != "id"]
        hidden = ("error_code", "error_params", "error_detail", "note_codes", "note_detail")
        at = fields.index("note_codes")
        fields = [f for f in fields if f not in hidden]
        return [*fields[:at], "note", "error", *fields[at:]]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("error"))
    def error(self, obj: PurgeRun) -> str:
        return obj.error or "–"

    @admin.display(description=_("note"))
    def note(self, obj: PurgeRun) -> str:
        return obj.note or "–"

    @admin.display(description=_("status"))
    def status_badge(self, obj: PurgeRun) -> str:
        status = _STATUS_TEXT[obj.status]
        text = gettext("%(status)s (dry run)") % {"status": status} if obj.dry_run else status
        if obj.status == PurgeRunStatus.RUNNING and not obj.dry_run and run_process_gone(obj):
            return _badge(gettext("stuck: process gone"), _STATUS_BADGE[PurgeRunStatus.FAILED])
        if obj.interrupted_at is not None:
            text = gettext("%(status)s (interrupted)") % {"status": text}
        return _badge(text, _STATUS_BADGE[obj.status])

    @admin.display(description=_("done / matched"))
    def progress(self, obj: PurgeRun) -> str:
        if obj.dry_run:
            would_go = max(0, obj.matched - obj.skipped_held - obj.skipped_protected)
            return gettext("would go: %(rows)s") % {
                "rows": number_format(would_go, force_grouping=True)
            }
        return gettext("%(done)s / %(matched)s (%(percent)s%%)") % {
            "done": number_format(obj.done_rows, force_grouping=True),
            "matched": obj.matched_label,
            "percent": obj.percent,
        }

    def has_run_purge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("retention.run_purge")

    @admin.action(
        description=_("Stop the selected runs after their current batch"),
        permissions=["run_purge"],
    )
    def stop_runs(self, request, queryset):
        for run in queryset:
            try:
                run = services.purge_run_stop_request(run_id=run.pk, actor=request.user)
            except services.PurgeRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(request, _stop_message(run))

    def get_urls(self):
        return [
            path(
                "<int:pk>/stop/",
                self.admin_site.admin_view(self.stop_view),
                name="retention_purgerun_stop",
            ),
            *super().get_urls(),
        ]

    def stop_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = get_object_or_404(PurgeRun, pk=pk)
        if not self.has_run_purge_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:retention_purgerun_change", args=[pk]))
        try:
            run = services.purge_run_stop_request(run_id=run.pk, actor=request.user)
        except services.PurgeRefused as exc:
            self.message_user(request, str(exc), messages.WARNING)
        else:
            self.message_user(request, _stop_message(run))
        return HttpResponseRedirect(reverse("admin:retention_purgerun_change", args=[pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "run": run,
            "can_stop": bool(
                run
                and not run.dry_run
                and run.status in (PurgeRunStatus.PLANNED, PurgeRunStatus.RUNNING)
                and self.has_run_purge_permission(request)
            ),
        }
        return super().change_view(request, object_id, form_url, extra_context)
