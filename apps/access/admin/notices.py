"""The notice outbox: what was sent, what waits, what was given up."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from jitportal.admin_base import ReadOnlyModelAdmin, ServiceErrorsMixin, bulk_report

from .. import outbox
from ..models import Notice
from .filters import NoticeEscalatedFilter


@admin.register(Notice)
class NoticeAdmin(ServiceErrorsMixin, ReadOnlyModelAdmin):
    """The outbox of email notices: what was sent, what waits, what was given up."""

    list_display = (
        "id",
        "kind",
        "about",
        "status",
        "tries",
        "error",
        "created_at",
        "next_try_at",
        "sent_at",
        "escalated_at",
    )
    list_filter = ("status", "kind", NoticeEscalatedFilter)
    search_fields = ("=id", "=object_id")
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["resend_selected"]

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("access.resend_notice")

    @admin.display(description=_("about"))
    def about(self, obj: Notice) -> str:
        if obj.kind.startswith("request_"):
            url = reverse("admin:access_accessrequest_change", args=[obj.object_id])
            return format_html(
                '<a href="{}">{}</a>', url, gettext("request #%(id)s") % {"id": obj.object_id}
            )
        url = reverse("admin:access_grant_change", args=[obj.object_id])
        return format_html(
            '<a href="{}">{}</a>', url, gettext("grant #%(id)s") % {"id": obj.object_id}
        )

    @admin.display(description=_("last error"))
    def error(self, obj: Notice) -> str:
        return obj.last_error if len(obj.last_error) <= 120 else obj.last_error[:119] + "…"

    @admin.action(
        description=_("Send the selected notices again (not those already sent)"),
        permissions=["resend"],
    )
    def resend_selected(self, request, queryset):
        try:
            queued, refused = outbox.notices_resend(
                notice_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
            )
        except PermissionDenied as exc:
            self.message_service_error(request, exc)
            return
        done = [f"#{n.pk}" for n in queued]
        queued_again = ngettext(
            "Queued again %(count)d: %(labels)s.", "Queued again %(count)d: %(labels)s.", len(done)
        ) % {"count": len(done), "labels": ", ".join(done)}
        bulk_report(request, done, refused, queued_again)
