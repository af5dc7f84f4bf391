"""What every inventory admin shares."""

from __future__ import annotations

from auditlog.mixins import AuditlogHistoryAdminMixin
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .widgets import ValidAutocompleteMixin


class InventoryModelAdmin(ValidAutocompleteMixin, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """Shared by every inventory admin: pagination, the audit-log link, an empty state."""

    list_per_page = 50
    auditlog_history_per_page = 25
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https"},
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 80})},
    }
    empty_message = _("Nothing recorded yet.")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {"empty_message": self.empty_message, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def auditlog_history_view(self, request, object_id, extra_context=None):
        # auditlog renders the page of a missing object and fails reversing its link.
        if self.get_object(request, unquote(object_id)) is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().auditlog_history_view(request, object_id, extra_context)
