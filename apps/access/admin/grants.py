"""Grants: the list, who holds access now, revoke, review and break-glass."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.signin.mfa import fresh_factor_redirect
from jitportal.admin_base import (
    ReadOnlyModelAdmin,
    ServiceErrorsMixin,
    admin_form,
    bulk_service_action,
)
from jitportal.admin_scale import (
    BoundedRelatedOnlyFilter,
    DeferredJoinPaginator,
    LargeTableAdminMixin,
)
from jitportal.durations import duration_text
from jitportal.formats import datetime_display
from jitportal.inputs import parse_page
from jitportal.redirects import named_return_url

from .. import selectors, services
from ..models import Grant
from ..signals import PANELS_ADMIN, grant_panels_collect
from .display import RETURNS, acting_user, return_query, rights_text, window_text
from .filters import AssetChoicesFilter, LiveNowFilter
from .forms import BreakGlassForm, CommentForm, HoldersForm, ReasonForm


def revoked(count: int, labels: str) -> str:
    return ngettext("Revoked %(count)d: %(labels)s.", "Revoked %(count)d: %(labels)s.", count) % {
        "count": count,
        "labels": labels,
    }


def reviewed(count: int, labels: str) -> str:
    return ngettext("Reviewed %(count)d: %(labels)s.", "Reviewed %(count)d: %(labels)s.", count) % {
        "count": count,
        "labels": labels,
    }


@admin.register(Grant)
class GrantAdmin(LargeTableAdminMixin, ServiceErrorsMixin, ReadOnlyModelAdmin):
    # Few, wrapping columns: the list fits a 1366 px screen beside its filters. Who may
    # revoke also gets a Revoke link per live or scheduled row (get_list_display).
    list_display = ("id", "holder", "target", "asset_list", "rights", "window", "state")
    list_display_links = ("id", "holder")
    list_filter = (
        LiveNowFilter,
        "status",
        "is_break_glass",
        "needs_review",
        ("user", BoundedRelatedOnlyFilter),
        ("assets", AssetChoicesFilter),
    )
    search_fields = ("=id", "user__username", "user__email", "assets__name", "request__role__name")
    date_hierarchy = "starts_at"
    list_per_page = 50
    # The list's order (grants not ended first) is computed, so no index serves it:
    # the page's keys are sorted on the grants alone, then that page joined.
    paginator = DeferredJoinPaginator
    actions = ["revoke_selected", "mark_reviewed"]
    fieldsets = (
        (None, {"fields": ("request", "user", "asset_list", "status", "mirrored")}),
        (
            _("Rights and window"),
            {"fields": ("can_view", "can_change", "can_export", "starts_at", "ends_at")},
        ),
        (
            _("Revocation"),
            {"fields": ("end_reason_shown", "revoked_at", "revoked_by", "revoke_reason_shown")},
        ),
        (
            _("Break-glass"),
            {"fields": ("is_break_glass", "needs_review", "reviewed_at", "reviewed_by")},
        ),
        (_("Notices"), {"fields": ("expiry_warned_at", "created_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [
            *super().get_readonly_fields(request, obj),
            "asset_list",
            "revoke_reason_shown",
            "end_reason_shown",
        ]

    @admin.display(description=_("how it ended"))
    def end_reason_shown(self, obj: Grant) -> str:
        """``Grant.end_reason`` in the reader's language; a dash while not ended."""
        how = obj.end_reason
        return str(how.label) if how is not None else "—"

    @admin.display(description=_("revoke reason"))
    def revoke_reason_shown(self, obj: Grant) -> str:
        """The portal's own reasons in the reader's language, else what the revoker wrote."""
        return obj.revoke_text

    def get_queryset(self, request):
        now = timezone.now()
        giving = Q(revoked_at__isnull=True, ends_at__gt=now)
        # ModelAdmin.get_queryset would order by get_ordering before the annotations exist.
        return (
            self.model._default_manager.get_queryset()
            .select_related("user", "request__role", "request__asset__system")
            .prefetch_related("assets__system")
            .annotate(
                # 0 while the grant gives or will give access, 1 once it has ended
                is_over=Case(When(giving, then=Value(0)), default=Value(1)),
                # the end of a grant not ended yet; none for an ended one
                live_ends_at=Case(When(giving, then=F("ends_at")), default=None),
            )
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request):
        """By end: grants not ended yet first, the soonest to end at the top (what to act on
        before it lapses by itself), then ended ones, the latest first."""
        return ["is_over", F("live_ends_at").asc(nulls_last=True), "-ends_at"]

    def get_list_display(self, request):
        shown: list[Any] = list(super().get_list_display(request))
        if not self.has_revoke_permission(request):
            return shown
        back = return_query("grants", request.GET.urlencode())

        @admin.display(description=_("revoke"))
        def revoke(obj: Grant) -> str:
            if obj.revoked_at is not None or obj.ends_at <= timezone.now():
                return "—"
            url = reverse("admin:access_grant_revoke", args=[obj.pk])
            return format_html(
                '<a class="button jp-revoke" href="{}?{}" aria-label="{}">{}</a>',
                url,
                back,
                gettext("Revoke grant #%(id)s") % {"id": obj.pk},
                gettext("Revoke"),
            )

        return [*shown, revoke]

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("access.revoke_grant")

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("access.review_grant")

    def has_break_glass_permission(self, request) -> bool:
        return request.user.has_perm("access.break_glass")

    @admin.display(description=_("holder"), ordering="user__username")
    def holder(self, obj: Grant) -> str:
        return obj.user.get_username()

    @admin.display(description=_("role / asset"))
    def target(self, obj: Grant) -> str:
        return obj.request.target_label

    @admin.display(description=_("assets"))
    def asset_list(self, obj: Grant) -> str:
        return format_html_join(
            ", ",
            "{}{}",
            ((str(a), " ⚠" if a.is_special else "") for a in obj.assets.all()),
        )

    @admin.display(description=_("rights"))
    def rights(self, obj: Grant) -> str:
        return rights_text(obj)

    @admin.display(description=_("window"), ordering="ends_at")
    def window(self, obj: Grant) -> str:
        return window_text(obj.starts_at, obj.ends_at)

    @admin.display(description=_("live now"), boolean=True)
    def live_now(self, obj: Grant) -> bool:
        return obj.is_live()

    @admin.display(description=_("state"), ordering="status")
    def state(self, obj: Grant) -> str:
        """Status, whether it gives access now, and the break-glass flags, in one cell."""
        status = str(obj.get_status_display())
        lines = [gettext("%(status)s, live now") % {"status": status} if obj.is_live() else status]
        if (how := obj.end_reason) is not None and how != obj.status:
            # An early end says who chose it (given back, revoked, offboarded, ...).
            lines.append(str(how.label))
        if obj.is_break_glass:
            lines.append(
                gettext("break-glass, to review") if obj.needs_review else gettext("break-glass")
            )
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def get_urls(self):
        app, model = self.opts.app_label, self.opts.model_name
        custom = [
            path(
                "break-glass/",
                self.admin_site.admin_view(self.break_glass_view),
                name=f"{app}_{model}_break_glass",
            ),
            path(
                "holders/",
                self.admin_site.admin_view(self.holders_view),
                name=f"{app}_{model}_holders",
            ),
            path(
                "<int:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name=f"{app}_{model}_revoke",
            ),
            path(
                "<int:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name=f"{app}_{model}_review",
            ),
        ]
        return custom + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None:
            ended = obj.revoked_at is not None or obj.ends_at <= timezone.now()
            extra_context["may_revoke"] = self.has_revoke_permission(request) and not ended
            extra_context["may_review"] = (
                self.has_review_permission(request)
                and obj.is_break_glass
                and obj.needs_review
                and obj.user_id != request.user.pk
            )
            # What apps above access show of the grant (its accounts in other systems),
            # through the same signal as the holder's pages (access imports none of them).
            extra_context["panels"] = grant_panels_collect(
                [obj], request.user, audience=PANELS_ADMIN
            ).get(obj.pk, [])
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "may_break_glass": self.has_break_glass_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def _one_form_view(self, request, object_id, *, kind: str) -> HttpResponse:
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        allowed = (
            self.has_revoke_permission(request)
            if kind == "revoke"
            else self.has_review_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        form_class = ReasonForm if kind == "revoke" else CommentForm
        form = form_class(request.POST if request.method == "POST" else None)
        change_url = reverse("admin:access_grant_change", args=[obj.pk])
        back_url = named_return_url(request, RETURNS) or change_url
        if request.method == "POST" and form.is_valid():
            try:
                if kind == "revoke":
                    services.grant_revoke(
                        grant_id=obj.pk, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                else:
                    services.grant_mark_reviewed(
                        grant_id=obj.pk, reviewer=request.user, comment=form.cleaned_data["comment"]
                    )
            except (ValidationError, PermissionDenied) as exc:
                self.message_service_error(request, exc)
            else:
                messages.success(
                    request,
                    (
                        gettext("Grant #%(id)s revoked.")
                        if kind == "revoke"
                        else gettext("Grant #%(id)s reviewed.")
                    )
                    % {"id": obj.pk},
                )
            return HttpResponseRedirect(back_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "grant": obj,
            "title": (
                gettext("Revoke grant #%(id)s")
                if kind == "revoke"
                else gettext("Review grant #%(id)s")
            )
            % {"id": obj.pk},
            "form": form,
            "adminform": admin_form(form, self),
            "kind": kind,
            "window": window_text(obj.starts_at, obj.ends_at),
            "change_url": change_url,
            "back_url": back_url,
        }
        return TemplateResponse(request, "admin/access/grant/one_form.html", context)

    def revoke_view(self, request, object_id):
        return self._one_form_view(request, object_id, kind="revoke")

    def review_view(self, request, object_id):
        return self._one_form_view(request, object_id, kind="review")

    def break_glass_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_break_glass_permission(request):
            raise PermissionDenied
        if (stale := fresh_factor_redirect(request)) is not None:
            return stale
        form = BreakGlassForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                grant = services.grant_break_glass(
                    user=acting_user(request),
                    asset=data["asset"],
                    duration=timedelta(minutes=data["minutes"]),
                    reason=data["reason"],
                    can_change=data["can_change"],
                    can_export=data["can_export"],
                )
            except ValidationError as exc:
                self.add_service_errors(form, exc, field_names={"duration": "minutes"})
            except PermissionDenied as exc:
                self.message_service_error(request, exc)
                return HttpResponseRedirect(reverse("admin:access_grant_changelist"))
            else:
                messages.warning(
                    request,
                    gettext(
                        "Break-glass access to %(asset)s until %(end)s. The DPO group has been "
                        "emailed and the grant is flagged for review."
                    )
                    % {"asset": data["asset"], "end": datetime_display(grant.ends_at)},
                )
                return HttpResponseRedirect(reverse("admin:access_grant_change", args=[grant.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Break-glass access"),
            "form": form,
            "adminform": admin_form(form, self),
            "limit": duration_text(settings.JITPORTAL["BREAK_GLASS_MAX"]),
        }
        return TemplateResponse(request, "admin/access/grant/break_glass.html", context)

    def holders_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = HoldersForm(request.GET or None)
        asset = user = None
        if form.is_valid():
            asset, user = form.cleaned_data["asset"], form.cleaned_data["user"]
        grants = selectors.holders_now(asset=asset, user=user)
        if form.is_bound and not form.is_valid():
            # A filter that names nothing lists nothing (not everyone): 400, with the error.
            grants = grants.none()
        page = Paginator(grants, 100).get_page(parse_page(request.GET.get("p")))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Who holds access right now"),
            "form": form,
            "page": page,
            "rows": [
                {
                    "grant": g,
                    "assets": self.asset_list(g),
                    "rights": self.rights(g),
                    "window": self.window(g),
                    "target": self.target(g),
                }
                for g in page.object_list
            ],
            "now": timezone.now(),
            "may_revoke": self.has_revoke_permission(request),
            "back": return_query("holders", request.GET.urlencode()),
        }
        status = 400 if form.is_bound and not form.is_valid() else 200
        return TemplateResponse(request, "admin/access/grant/holders.html", context, status=status)

    @admin.action(
        description=_("Revoke the selected grants (with a reason)"), permissions=["revoke"]
    )
    def revoke_selected(self, request, queryset):
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                bulk_service_action(
                    request,
                    queryset.order_by("pk"),
                    lambda grant: services.grant_revoke(
                        grant_id=grant.pk, actor=request.user, reason=reason
                    ),
                    done_message=revoked,
                )
                return None
        else:
            form = ReasonForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Revoke the selected grants"),
            "rows": [
                {"obj": g, "target": self.target(g), "window": self.window(g)}
                for g in queryset.order_by("pk")
            ],
            "queryset": queryset.order_by("pk"),
            "form": form,
            "adminform": admin_form(form, self),
            "action": "revoke_selected",
            "decision": "revoke",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/access/accessrequest/bulk_decide.html", context)

    @admin.action(
        description=_("Mark the selected break-glass grants reviewed"), permissions=["review"]
    )
    def mark_reviewed(self, request, queryset):
        bulk_service_action(
            request,
            queryset.order_by("pk"),
            lambda grant: services.grant_mark_reviewed(grant_id=grant.pk, reviewer=request.user),
            done_message=reviewed,
        )
