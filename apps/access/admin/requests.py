"""Access requests: the list, the approver's queue, the decision pages and bulk decisions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.signin.mfa import fresh_factor_redirect
from jitportal.admin_base import (
    ReadOnlyModelAdmin,
    ServiceErrorsMixin,
    admin_form,
    bulk_service_action,
)
from jitportal.formats import datetime_display
from jitportal.inputs import parse_page
from jitportal.redirects import safe_next_url

from .. import selectors, services
from ..models import AccessRequest, Approval, RequestStatus
from .display import RequestDisplayMixin, acting_user, still_needs_message
from .filters import DecisionFilter
from .forms import ApproveForm, CommentForm, QueueFilterForm, ReasonForm


def approved(count: int, labels: str) -> str:
    return ngettext("Approved %(count)d: %(labels)s.", "Approved %(count)d: %(labels)s.", count) % {
        "count": count,
        "labels": labels,
    }


def denied(count: int, labels: str) -> str:
    return ngettext("Denied %(count)d: %(labels)s.", "Denied %(count)d: %(labels)s.", count) % {
        "count": count,
        "labels": labels,
    }


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    fields = ("approver", "decision", "as_dpo", "comment", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(ServiceErrorsMixin, RequestDisplayMixin, ReadOnlyModelAdmin):
    list_display = (
        "id",
        "requester_name",
        "target",
        "sensitivity",
        "special",
        "window",
        "status",
        "still_needed",
        "created_at",
    )
    list_display_links = ("id", "requester_name")
    list_filter = (
        DecisionFilter,
        "status",
        "dpo_required",
        "is_break_glass",
        ("role", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "=id",
        "requester__username",
        "requester__email",
        "requester__last_name",
        "justification",
        "ticket",
        "role__name",
        "asset__name",
    )
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    inlines = [ApprovalInline]
    actions = ["approve_selected", "deny_selected"]
    fieldsets = (
        (None, {"fields": ("requester", "role", "asset", "extends_grant", "is_break_glass")}),
        (
            _("What was asked"),
            {"fields": ("purpose", "starts_at", "ends_at", "justification", "ticket")},
        ),
        (
            _("Decision"),
            {
                "fields": (
                    "status",
                    "approvals_required",
                    "dpo_required",
                    "still_needed",
                    "decided_at",
                    "decided_by",
                    "decision_comment_shown",
                    "lapses_at",
                    "reminded_at",
                )
            },
        ),
        (_("Policy in force"), {"fields": ("policy_snapshot", "created_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessRequest]:
        return selectors.with_queue_columns(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        return [
            *super().get_readonly_fields(request, obj),
            "still_needed",
            "purpose",
            "decision_comment_shown",
        ]

    @admin.display(description=_("decision comment"))
    def decision_comment_shown(self, obj: AccessRequest) -> str:
        """The portal's own reasons in the reader's language, else what the decider wrote."""
        return obj.decision_text

    def has_decide_permission(self, request) -> bool:
        return selectors.can_decide(request.user)

    # URLs: the queue and the decision forms -----------------------------------------------

    def get_urls(self):
        app, model = self.opts.app_label, self.opts.model_name
        custom = [
            path(
                "queue/", self.admin_site.admin_view(self.queue_view), name=f"{app}_{model}_queue"
            ),
            path(
                "<int:object_id>/decide/<str:decision>/",
                self.admin_site.admin_view(self.decide_view),
                name=f"{app}_{model}_decide",
            ),
        ]
        return custom + super().get_urls()

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        queue = selectors.approval_queue_for(acting_user(request))
        form = QueueFilterForm(request.GET, queue=queue)
        if form.is_valid():
            shown = form.apply(queue)
            status = 200
        else:
            # A value no choice names: say so, list nothing, change nothing.
            shown = queue.none()
            status = 400
        paginator = Paginator(shown, 50)
        if status == 200 and not form.is_filtered():
            paginator.count = form.total  # counted with the choices: no second pass
        page = paginator.get_page(parse_page(request.GET.get("p")))
        rows = [
            {
                "obj": r,
                "requester": self.requester_name(r),
                "target": self.target(r),
                "purpose": self.purpose(r),
                "sensitivity": self.sensitivity(r),
                "special": self.special(r),
                "window": self.window(r),
                "still_needed": self.still_needed(r),
            }
            for r in page.object_list
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Requests waiting for your decision"),
            "page": page,
            "rows": rows,
            "form": form,
            "filtered": status == 400 or form.is_filtered(),
        }
        return TemplateResponse(
            request, "admin/access/accessrequest/queue.html", context, status=status
        )

    def decide_view(self, request: HttpRequest, object_id: int, decision: str) -> HttpResponse:
        if decision not in {"approve", "deny"}:
            raise PermissionDenied
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        back = safe_next_url(request, reverse("admin:access_accessrequest_queue"))
        # Opening Art. 9/10 data: a second factor presented within MFA_FRESH_MINUTES.
        if (
            decision == "approve"
            and self.special(obj)
            and (stale := fresh_factor_redirect(request)) is not None
        ):
            return stale
        form_class = ApproveForm if decision == "approve" else ReasonForm
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                if decision == "approve":
                    services.access_request_approve(
                        request_id=obj.pk,
                        approver=acting_user(request),
                        comment=form.cleaned_data["comment"],
                        ends_at=form.cleaned_data["ends_at"],
                        channel="admin",
                    )
                else:
                    services.access_request_deny(
                        request_id=obj.pk,
                        approver=acting_user(request),
                        reason=form.cleaned_data["reason"],
                        channel="admin",
                    )
            except ValidationError as exc:
                if not hasattr(exc, "error_dict"):
                    # Not about what was typed (the request's state): back, with why.
                    self.message_service_error(request, exc)
                    return HttpResponseRedirect(back)
                self.add_service_errors(form, exc)
            except PermissionDenied as exc:
                self.message_service_error(
                    request,
                    PermissionDenied(str(exc) or gettext("You may not decide this request.")),
                )
                return HttpResponseRedirect(back)
            else:
                # Loaded again with its columns: refresh_from_db keeps the old annotations.
                obj = self.get_queryset(request).get(pk=obj.pk)
                state = obj.get_status_display().lower()
                if decision == "approve" and obj.status == RequestStatus.PENDING:
                    messages.success(request, still_needs_message(obj))
                else:
                    messages.success(
                        request,
                        gettext("Request #%(id)s is now %(state)s.")
                        % {"id": obj.pk, "state": state},
                    )
                return HttpResponseRedirect(back)
        capacity = selectors.decider_capacity(request=obj, user=acting_user(request))
        refusal = ""
        if obj.status != RequestStatus.PENDING:
            refusal = gettext("This request is already %(state)s.") % {
                "state": obj.get_status_display().lower()
            }
        elif obj.requester_id == request.user.pk:
            refusal = gettext("Nobody can decide their own request.")
        elif not capacity:
            refusal = gettext("You are not an approver for %(target)s.") % {
                "target": obj.target_label
            }
        elif (lapse := selectors.request_lapse_time(obj)) <= timezone.now():
            refusal = gettext("This request lapsed at %(time)s.") % {
                "time": datetime_display(lapse)
            }
        elif decision == "approve" and (why := selectors.request_ineligibility(obj)):
            refusal = gettext("It cannot be approved: %(why)s.") % {"why": why}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": (
                gettext("Approve request #%(id)s")
                if decision == "approve"
                else gettext("Deny request #%(id)s")
            )
            % {"id": obj.pk},
            "original": obj,
            "req": obj,
            "decision": decision,
            "form": form,
            "adminform": admin_form(form, self),
            "refusal": refusal,
            "next": back,
            "row": {
                "requester": self.requester_name(obj),
                "target": self.target(obj),
                "sensitivity": self.sensitivity(obj),
                "special": self.special(obj),
                "window": self.window(obj),
                "still_needed": self.still_needed(obj),
                "purpose": self.purpose(obj),
            },
        }
        return TemplateResponse(request, "admin/access/accessrequest/decide.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None and obj.status == RequestStatus.PENDING:
            extra_context["may_decide"] = (
                bool(selectors.decider_capacity(request=obj, user=request.user))
                and not obj.approvals.filter(approver=request.user).exists()
            )
        return super().change_view(request, object_id, form_url, extra_context)

    # Bulk actions ---------------------------------------------------------------------------

    def _bulk(self, request, queryset, *, decision: str):
        # Bulk approval keeps each requested window; shortening is done one by one.
        form_class = CommentForm if decision == "approve" else ReasonForm
        if decision == "approve" and any(self.special(r) for r in queryset):
            # Art. 9/10 data among them: a fresh second factor first, then choose again.
            back = reverse("admin:access_accessrequest_changelist")
            stale = fresh_factor_redirect(request, back=back)
            if stale is not None:
                return stale
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                data = form.cleaned_data

                def decide(obj: AccessRequest) -> None:
                    if decision == "approve":
                        services.access_request_approve(
                            request_id=obj.pk,
                            approver=request.user,
                            comment=data["comment"],
                            channel="admin",
                        )
                    else:
                        services.access_request_deny(
                            request_id=obj.pk,
                            approver=request.user,
                            reason=data["reason"],
                            channel="admin",
                        )

                def still_pending(obj: AccessRequest) -> None:
                    fresh = self.get_queryset(request).get(pk=obj.pk)
                    if fresh.status == RequestStatus.PENDING:
                        messages.info(request, still_needs_message(fresh))

                bulk_service_action(
                    request,
                    queryset.order_by("pk"),
                    decide,
                    done_message=approved if decision == "approve" else denied,
                    after=still_pending if decision == "approve" else None,
                )
                return None
        else:
            form = form_class()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Approve the selected requests")
            if decision == "approve"
            else gettext("Deny the selected requests"),
            "queryset": queryset.order_by("pk"),
            "rows": [
                {"obj": r, "target": self.target(r), "window": self.window(r)}
                for r in queryset.order_by("pk")
            ],
            "form": form,
            "adminform": admin_form(form, self),
            "action": f"{decision}_selected",
            "decision": decision,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/access/accessrequest/bulk_decide.html", context)

    @admin.action(description=_("Approve the selected requests"), permissions=["decide"])
    def approve_selected(self, request, queryset):
        return self._bulk(request, queryset, decision="approve")

    @admin.action(
        description=_("Deny the selected requests (with a reason)"), permissions=["decide"]
    )
    def deny_selected(self, request, queryset):
        return self._bulk(request, queryset, decision="deny")
