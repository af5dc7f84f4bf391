"""Purge runs: evidence, read-only; a running run shows its progress and can be stopped."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jitportal.admin_base import ReadOnlyModelAdmin

from .. import services
from ..liveness import run_process_gone
from ..models import PurgeRun, PurgeRunStatus
from .common import _STATUS_BADGE, _STATUS_TEXT, RetentionAdminMixin, _badge


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
