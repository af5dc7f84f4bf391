"""What several apps' admins share."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """An admin for rows only services write (the audit trail, requests and grants, purge
    runs, snapshots): nothing is added, changed or deleted here, every field reads only.
    Decisions and other actions are admin actions and pages that call the services.

    What happens to these rows is recorded once, in the hash-chained audit trail the services
    write (docs/audit.md): the admin's own LogEntry ("Recent actions") is not written for
    them, so a decision taken in the admin does not leave a second, unchained trail."""

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None

    def log_deletion(self, request: HttpRequest, obj: Any, object_repr: str) -> Any:
        return None

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        return None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
