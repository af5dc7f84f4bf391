"""The access admin's list filters."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jitportal.admin_scale import BoundedRelatedOnlyFilter

from .. import selectors


class DecisionFilter(admin.SimpleListFilter):
    title = _("waiting for me")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("yes", _("Requests I may decide"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=selectors.approval_queue_for(request.user).values("pk"))
        return queryset


class LiveNowFilter(admin.SimpleListFilter):
    title = _("gives access now")
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes (live now)")), ("no", _("No"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        live = Q(starts_at__lte=now, ends_at__gt=now, revoked_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(live)
        if self.value() == "no":
            return queryset.exclude(live)
        return queryset


class NoticeEscalatedFilter(admin.SimpleListFilter):
    title = _("escalated (break-glass past the bound)")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(escalated_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(escalated_at__isnull=True)
        return queryset


class AssetChoicesFilter(BoundedRelatedOnlyFilter):
    """The assets some grant covers (at most a hundred listed), labelled with their system."""

    label_related = ("system",)
