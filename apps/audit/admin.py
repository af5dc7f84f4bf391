from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is appended to by services and never edited."""

    list_display = ("occurred_at", "actor_label", "action", "target_type", "target_repr", "reason")
    list_filter = ("action", "target_type", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "action", "target_repr", "target_id", "reason")
    date_hierarchy = "occurred_at"
    list_per_page = 100
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
