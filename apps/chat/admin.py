"""Linking portal users to Slack users; the messages sent (read only)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.inventory.admin.widgets import ValidAutocompleteMixin
from jitportal.admin_base import ReadOnlyModelAdmin

from .models import SlackAccount, SlackMessage


@admin.register(SlackAccount)
class SlackAccountAdmin(ValidAutocompleteMixin, admin.ModelAdmin):
    list_display = ("user", "slack_user_id", "method", "created_at")
    list_filter = ("method",)
    search_fields = ("user__username", "user__email", "slack_user_id")
    autocomplete_fields = ("user",)
    readonly_fields = ("method", "created_at")
    list_per_page = 50
    show_full_result_count = False


@admin.register(SlackMessage)
class SlackMessageAdmin(ReadOnlyModelAdmin):
    list_display = ("request", "approver", "slack_user_id", "shown_state", "sent", "updated_at")
    list_filter = ("shown_state",)
    search_fields = ("=request__id", "approver__username", "slack_user_id")
    list_select_related = ("request__role", "request__asset", "approver")
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description=_("sent"), boolean=True)
    def sent(self, obj: SlackMessage) -> bool:
        return bool(obj.ts)
