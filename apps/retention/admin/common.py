"""What the retention admins share: run status badges and the custom pages' context."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import PurgeRunStatus

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
