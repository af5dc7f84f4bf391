from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import AdminForm
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jitportal.admin_base import ReadOnlyModelAdmin
from jitportal.admin_scale import DistinctValuesFilter, LargeTableAdminMixin

from .actions import action_label, actor_label, reason_label
from .exports import CONTENT_TYPES, audit_export_recorded, audit_export_window
from .forms import AuditExportForm
from .models import AuditEvent
from .selectors import audit_chain_verify
from .services import audit_verification_failure_record


class ActionFilter(DistinctValuesFilter):
    """The action filter, each code read as its label (audit/actions.py)."""

    def choices(self, changelist: Any) -> Any:
        for choice in super().choices(changelist):
            value = choice.get("display")
            if isinstance(value, str):
                choice["display"] = action_label(value)
            yield choice


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@admin.register(AuditEvent)
class AuditEventAdmin(LargeTableAdminMixin, ReadOnlyModelAdmin):
    """Read-only: the trail is appended to by services and never edited.

    The trail grows without end, so its list does no work proportional to it: an estimated
    count past 10,000 events, the action and target type filters read from their indexes,
    the date hierarchy from the first and last event (jitportal/admin_scale.py)."""

    list_display = ("occurred_at", "who", "what", "target", "why", "details")
    list_display_links = ("occurred_at", "what")
    list_filter = (
        ("action", ActionFilter),
        ("target_type", DistinctValuesFilter),
        ("occurred_at", admin.DateFieldListFilter),
    )
    search_fields = ("actor_label", "action", "target_repr", "target_id", "reason")
    date_hierarchy = "occurred_at"
    list_per_page = 100
    # Newest first by time (the index on occurred_at serves it, a period's page too), then id.
    ordering = ("-occurred_at", "-id")
    # The detail page of one event: who, what, on what, why, every detail pretty-printed,
    # and where it stands in the chain.
    fieldsets = (
        (None, {"fields": ("id", "occurred_at", "who", "actor", "what")}),
        (_("Target"), {"fields": ("target_type", "target_id", "target_repr", "same_target")}),
        (_("Why and what"), {"fields": ("why", "data_pretty")}),
        (_("Chain"), {"fields": ("prev_hash", "hash"), "classes": ("collapse",)}),
    )

    class Media:
        css = {"all": ("audit/audit.css",)}

    def get_readonly_fields(self, request: HttpRequest, obj: AuditEvent | None = None) -> list:
        return [f for _, opts in self.fieldsets for f in opts["fields"]]

    # The trail stores codes and the portal's own fixed wording; each reads in the reader's
    # language, with the stored code beside it (what search and the filters match).
    @admin.display(description=_("actor"), ordering="actor_label")
    def who(self, obj: AuditEvent) -> str:
        return actor_label(obj.actor_label) or "–"

    @admin.display(description=_("action"), ordering="action")
    def what(self, obj: AuditEvent) -> str:
        label = action_label(obj.action)
        if label == obj.action:
            return obj.action
        return format_html('{}<br><small class="audit-code">{}</small>', label, obj.action)

    @admin.display(description=_("reason"))
    def why(self, obj: AuditEvent) -> str:
        return reason_label(obj.reason) or "–"

    @admin.display(description=_("target"), ordering="target_type")
    def target(self, obj: AuditEvent) -> str:
        """``type #id`` and the target's label, on lines that wrap instead of squeezing."""
        ref = f"{obj.target_type} #{obj.target_id}" if obj.target_id else obj.target_type
        if obj.target_repr and obj.target_repr != obj.target_id:
            return format_html(
                '<span class="audit-target">{}<br><small>{}</small></span>', obj.target_repr, ref
            )
        return format_html('<span class="audit-target">{}</span>', ref or "–")

    @admin.display(description=_("details"))
    def details(self, obj: AuditEvent) -> str:
        """The event's data keys and short values; the full data is on the event's page."""
        if not obj.data:
            return "–"
        items = list(obj.data.items()) if isinstance(obj.data, dict) else [("", obj.data)]
        shown = [f"{k}: {_short(v)}" if k else _short(v) for k, v in items[:4]]
        more = " " + gettext("(+%(n)d more)") % {"n": len(items) - 4} if len(items) > 4 else ""
        return "; ".join(shown) + more

    @admin.display(description=_("data"))
    def data_pretty(self, obj: AuditEvent) -> str:
        text = json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        return format_html('<pre class="audit-data">{}</pre>', text)

    @admin.display(description=_("events about the same target"))
    def same_target(self, obj: AuditEvent) -> str:
        if not obj.target_type:
            return "–"
        url = reverse("admin:audit_auditevent_changelist")
        query = urlencode({"target_type": obj.target_type, "q": obj.target_id})
        return format_html(
            '<a href="{}?{}">{}</a>',
            url,
            query,
            gettext("All events on %(type)s #%(id)s")
            % {"type": obj.target_type, "id": obj.target_id},
        )

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

    def _admin_form(self, form: forms.Form) -> AdminForm:
        """The form as the admin lays out its own (one fieldset of every field)."""
        return AdminForm(
            cast(Any, form), [(None, {"fields": list(form.fields)})], {}, model_admin=self
        )

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("audit.verify_auditevent"):
            raise PermissionDenied
        context = self._context(request, gettext("Verify the audit chain"))
        if request.GET.get("run"):
            started = timezone.now()
            context["result"] = result = audit_chain_verify()
            if not result.ok:
                audit_verification_failure_record(
                    first_broken_id=result.first_broken_id,
                    checked=result.checked,
                    actor=cast(AbstractBaseUser, request.user),
                )
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
                    reason="download from the admin",  # the trail's own wording, not shown
                ),
                content_type=CONTENT_TYPES[fmt],
            )
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.{fmt}"'
            response["X-Next-Cursor"] = str(window.next_cursor)
            return response
        context = self._context(request, gettext("Export the audit trail"))
        context["form"] = form
        context["adminform"] = self._admin_form(form)
        return TemplateResponse(request, "admin/audit/export.html", context)
