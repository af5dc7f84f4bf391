from __future__ import annotations

from typing import cast

from django.contrib import admin
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from jitportal.admin_base import ReadOnlyModelAdmin

from .exports import CONTENT_TYPES, audit_export_recorded, audit_export_window
from .forms import AuditExportForm
from .models import AuditEvent
from .selectors import audit_chain_verify


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """Read-only: the trail is appended to by services and never edited."""

    list_display = ("occurred_at", "actor_label", "action", "target_type", "target_repr", "reason")
    list_filter = ("action", "target_type", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "action", "target_repr", "target_id", "reason")
    date_hierarchy = "occurred_at"
    list_per_page = 100
    show_full_result_count = False

    # --- verification and export pages -------------------------------------------------------

    def get_urls(self):
        extra = [
            path(
                "verify/",
                self.admin_site.admin_view(self.verify_view),
                name="audit_auditevent_verify",
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="audit_auditevent_export",
            ),
        ]
        return extra + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_verify": request.user.has_perm("audit.verify_auditevent"),
            "can_export": request.user.has_perm("audit.export_auditevent"),
        }
        return super().changelist_view(request, extra_context)

    def _context(self, request: HttpRequest, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "changelist_url": reverse("admin:audit_auditevent_changelist"),
        }

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("audit.verify_auditevent"):
            raise PermissionDenied
        context = self._context(request, "Verify the audit chain")
        if request.GET.get("run"):
            started = timezone.now()
            context["result"] = audit_chain_verify()
            context["seconds"] = (timezone.now() - started).total_seconds()
        return TemplateResponse(request, "admin/audit/verify.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not request.user.has_perm("audit.export_auditevent"):
            raise PermissionDenied
        form = AuditExportForm(request.GET or None)
        if form.is_bound and form.is_valid():
            fmt = form.cleaned_data["format"]
            window = audit_export_window(
                since=form.since_at(),
                until=form.until_at(),
                after_id=form.cleaned_data.get("after_id") or 0,
            )
            # Recorded in the trail when the stream ends, with how it ended and its rows.
            response = StreamingHttpResponse(
                audit_export_recorded(
                    window=window,
                    fmt=fmt,
                    actor=cast(AbstractBaseUser, request.user),  # admin_view: signed in
                    reason="download from the admin",
                ),
                content_type=CONTENT_TYPES[fmt],
            )
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.{fmt}"'
            response["X-Next-Cursor"] = str(window.next_cursor)
            return response
        context = self._context(request, "Export the audit trail")
        context["form"] = form
        return TemplateResponse(request, "admin/audit/export.html", context)
