"""The approver's and the DPO's side of just-in-time access, in the Django admin.

Requests and grants are read-only here: every change goes through a service (approve,
deny, revoke, mark reviewed, break-glass), from a button on the change page, a per-row
button in the approval queue, or a bulk action; each service locks the row and checks who
may act, so a refusal is shown as a message and nothing changes. The lists run a constant
number of queries whatever the number of rows (annotations, select_related, prefetch).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import MaxValueValidator
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from apps.inventory.admin import ValidAutocompleteMixin
from apps.inventory.models import DataAsset
from jitportal.admin_base import ReadOnlyModelAdmin
from jitportal.evidence import EvidenceDeleteRefusalMixin
from jitportal.formats import datetime_display
from jitportal.inputs import parse_page, validate_date_range, validate_multiline_text
from jitportal.redirects import named_return_url, safe_next_url

from . import outbox, selectors, services
from .forms import WindowDateTimeField
from .models import AccessRequest, AccessRole, Approval, Grant, Notice, RequestStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --- helpers -------------------------------------------------------------------------------------


def _window(starts_at, ends_at) -> str:
    """ "5 Mar 2027, 09:00 CET → 13:00 CET"; the end's date only when it is another day."""
    same_day = timezone.localdate(starts_at) == timezone.localdate(ends_at)
    end = date_format(timezone.localtime(ends_at), "TIME_FORMAT") if same_day else None
    return f"{datetime_display(starts_at)} → {end or datetime_display(ends_at)}"


# Pages a grant's revoke form returns to, by name: the form never redirects to a URL it is
# given, only to one of these with a query string parsed and encoded again.
_RETURNS = {"grants": "admin:access_grant_changelist", "holders": "admin:access_grant_holders"}


def _return_query(where: str, query: str) -> str:
    """The query string a revoke link carries so the form returns to ``where`` (a key of
    ``_RETURNS``) with the filters the list had."""
    return urlencode({"return_to": where, "return_query": query})


def _errors_of(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return [m for msgs in exc.message_dict.values() for m in msgs]
        return list(exc.messages)
    return [str(exc) or "You may not do that."]


def _user(request: HttpRequest) -> User:
    # The custom views below are wrapped in admin_site.admin_view: signed-in staff only.
    return cast("User", request.user)


def _report(request: HttpRequest, done: list[str], failed: list[str], verb: str) -> None:
    if done:
        messages.success(request, f"{verb} {len(done)}: {', '.join(done)}.")
    for failure in failed:
        messages.error(request, failure)
    if not done and not failed:
        messages.warning(request, "Nothing was selected; nothing changed.")


def _still_needs_message(obj: AccessRequest) -> str:
    """After an approval that did not complete a request: what it still needs, and whose
    earlier approvals stopped counting (one source: ``selectors.approvals_still_needed``)."""
    text = (
        f"Your approval of #{obj.pk} is recorded; it still needs "
        f"{selectors.approvals_still_needed(obj)}."
    )
    stale = [a.approver.get_username() for a in selectors.approvals_no_longer_counting(obj)]
    if stale:
        text += (
            f" The approval of {', '.join(stale)} no longer counts: they may no longer decide it."
        )
    return text


# --- forms (admin only; the portal's forms live in forms.py) ------------------------------------


class ApproveForm(forms.Form):
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Comment (optional)",
        validators=[validate_multiline_text],
    )
    ends_at = WindowDateTimeField(
        required=False,
        label="Shorten the window to end at (optional)",
        help_text="Leave empty to approve the window asked for. Only an earlier end is accepted.",
        validators=[validate_date_range],
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give a reason; it is recorded and shown to the person."},
        validators=[validate_multiline_text],
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Comment (optional)",
        validators=[validate_multiline_text],
    )


class BreakGlassForm(forms.Form):
    asset = forms.ModelChoiceField(
        queryset=DataAsset.objects.current().select_related("system"),
        error_messages={"required": "Choose the data asset.", "invalid_choice": "Unknown asset."},
    )
    minutes = forms.IntegerField(
        min_value=1,
        label="Duration (minutes)",
        error_messages={"required": "Give a duration in minutes."},
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the emergency is. The DPO group is emailed at once.",
        error_messages={"required": "Say what the emergency is; break-glass needs a reason."},
        validators=[validate_multiline_text],
    )
    can_change = forms.BooleanField(required=False, label="Also change the data")
    can_export = forms.BooleanField(required=False, label="Also export the data")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.JITPORTAL["BREAK_GLASS_MAX"]
        max_minutes = int(limit.total_seconds() // 60)
        self.fields["minutes"].widget.attrs["max"] = max_minutes
        self.fields["minutes"].validators.append(
            MaxValueValidator(
                max_minutes,
                message=f"Break-glass access lasts at most {services.human_duration(limit)}.",
            )
        )
        self.fields["minutes"].help_text = f"At most {services.human_duration(limit)}."
        self.fields["minutes"].initial = min(60, max_minutes)


class IdChoiceField(forms.ModelChoiceField):
    """A model choice given by its id in ASCII digits, at most 18 of them (within a
    PostgreSQL bigint): ``int()`` would read ``١`` as 1, and a longer number never names a
    row. Anything else is the field's "invalid choice" error, before any query."""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class HoldersForm(forms.Form):
    asset = IdChoiceField(queryset=DataAsset.objects.select_related("system"), required=False)
    user = IdChoiceField(
        queryset=get_user_model()
        .objects.filter(grants__isnull=False)
        .distinct()
        .order_by("username"),
        required=False,
    )


class QueueFilterForm(forms.Form):
    """Search and filters of the approver's queue (``GET`` parameters).

    The asset, role and requester choices are discovered from the approver's own queue, one
    query each whatever its size, and a value is accepted only when it is one of them, as a
    string: NUL bytes, ids out of any integer range, non-ASCII digits (``²``, ``١``) or an id
    outside the queue are a form error, never a database error. ``q`` is searched word by word
    (each word in the requester, the target, the justification or the ticket)."""

    AGES = {
        "hour": ("Less than 1 hour", timedelta(hours=1)),
        "day": ("Less than 1 day", timedelta(days=1)),
        "week": ("Less than 1 week", timedelta(weeks=1)),
        "older": ("1 week or older", timedelta(weeks=1)),
    }
    SEARCH_FIELDS = (
        "requester__username",
        "requester__first_name",
        "requester__last_name",
        "requester__email",
        "role__name",
        "asset__name",
        "asset__system__name",
        "justification",
        "ticket",
    )

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        help_text="Requester, asset or role, justification, ticket.",
    )
    asset = forms.ChoiceField(required=False, label="Asset")
    role = forms.ChoiceField(required=False, label="Role")
    requester = forms.ChoiceField(required=False, label="Requester")
    special = forms.ChoiceField(
        required=False,
        label="Special-category data",
        choices=[("", "Any"), ("yes", "Art. 9/10 data"), ("no", "No Art. 9/10 data")],
    )
    age = forms.ChoiceField(
        required=False,
        label="Waiting",
        choices=[("", "Any time"), *((k, label) for k, (label, _) in AGES.items())],
    )

    def __init__(self, data: Any, *, queue: QuerySet[AccessRequest]) -> None:
        super().__init__(data)
        # One pass over the queue for the (requester, role, asset) it holds and how many
        # requests each, then one query by primary keys for each kind of choice. The pass
        # also counts the whole queue (``total``), so an unfiltered page needs no COUNT.
        groups = (
            queue.order_by()
            .values_list("requester_id", "role_id", "asset_id")
            .annotate(n=Count("pk"))
        )
        seen: set[tuple[int, int | None, int | None]] = set()
        self.total = 0
        for requester_id, role_id, asset_id, n in groups:
            seen.add((requester_id, role_id, asset_id))
            self.total += n
        role_ids = {role for _, role, _ in seen if role is not None}
        asset_ids = {asset for _, _, asset in seen if asset is not None}
        roles = AccessRole.objects.filter(pk__in=role_ids).order_by("name")
        in_roles = AccessRole.assets.through.objects.filter(accessrole_id__in=role_ids).values(
            "dataasset_id"
        )
        assets = (
            DataAsset.objects.filter(Q(pk__in=asset_ids) | Q(pk__in=in_roles))
            .select_related("system")
            .order_by("system__name", "name")
        )
        requesters = (
            get_user_model()
            .objects.filter(pk__in={user for user, _, _ in seen})
            .order_by("username")
        )
        fields = cast(dict[str, forms.ChoiceField], self.fields)
        fields["asset"].choices = [("", "Any asset"), *((str(a.pk), str(a)) for a in assets)]
        fields["role"].choices = [("", "Any role"), *((str(r.pk), r.name) for r in roles)]
        fields["requester"].choices = [
            ("", "Anyone"),
            *(
                (
                    str(u.pk),
                    f"{u.get_full_name()} ({u.get_username()})".lstrip(" ")
                    if u.get_full_name()
                    else u.get_username(),
                )
                for u in requesters
            ),
        ]

    def is_filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())

    def apply(self, queue: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
        """``queue`` narrowed by the valid form's search and filters."""
        data = self.cleaned_data
        for word in data["q"].split():
            any_field = Q()
            for name in self.SEARCH_FIELDS:
                any_field |= Q(**{f"{name}__icontains": word})
            queue = queue.filter(any_field)
        if data["asset"]:
            in_role = AccessRole.assets.through.objects.filter(dataasset_id=int(data["asset"]))
            queue = queue.filter(
                Q(asset_id=int(data["asset"])) | Q(role_id__in=in_role.values("accessrole_id"))
            )
        if data["role"]:
            queue = queue.filter(role_id=int(data["role"]))
        if data["requester"]:
            queue = queue.filter(requester_id=int(data["requester"]))
        if data["special"]:
            in_special_role = AccessRole.assets.through.objects.filter(
                accessrole_id=OuterRef("role_id"), dataasset__is_special=True
            )
            special = Q(asset__is_special=True) | Q(Exists(in_special_role))
            queue = queue.filter(special) if data["special"] == "yes" else queue.exclude(special)
        if data["age"]:
            since = timezone.now() - self.AGES[data["age"]][1]
            if data["age"] == "older":
                queue = queue.filter(created_at__lte=since)
            else:
                queue = queue.filter(created_at__gt=since)
        return queue


# --- policies ------------------------------------------------------------------------------------


@admin.register(AccessRole)
class AccessRoleAdmin(EvidenceDeleteRefusalMixin, ValidAutocompleteMixin, admin.ModelAdmin):
    evidence_instead = "Untick “is active” instead: it is then no longer offered."
    list_display = (
        "name",
        "rights",
        "approvals_required",
        "dpo_needed",
        "max_duration",
        "pending_timeout",
        "asset_count",
        "is_active",
    )
    list_filter = (
        "is_active",
        "approvals_required",
        "require_dpo",
        "require_ticket",
        "can_change",
        "can_export",
        ("assets__system", admin.RelatedOnlyFieldListFilter),
        ("approver_groups", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("name", "description", "assets__name", "assets__system__name")
    filter_horizontal = ("requestable_by_groups", "approver_groups")
    autocomplete_fields = ("assets", "requestable_by_users")
    readonly_fields = ("created_at", "updated_at")
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("name", "description", "is_active", "assets")}),
        ("Rights", {"fields": ("can_view", "can_change", "can_export")}),
        (
            "Who may ask",
            {
                "fields": ("requestable_by_groups", "requestable_by_users"),
                "description": "Nobody listed: any active user may ask.",
            },
        ),
        (
            "Window",
            {
                "fields": (
                    "default_duration",
                    "max_duration",
                    "max_total_duration",
                    "allow_future_start",
                    "max_start_ahead",
                    "pending_timeout",
                    "remind_approvers_after",
                )
            },
        ),
        (
            "Who decides",
            {
                "fields": (
                    "approvals_required",
                    "approve_by_asset_owner",
                    "approve_by_steward_group",
                    "approver_groups",
                    "require_dpo",
                ),
                "description": "The DPO's approval is always needed when an asset holds "
                "Art. 9/10 data, in addition to the approvals counted here.",
            },
        ),
        (
            "Asking",
            {
                "fields": (
                    "require_justification",
                    "require_ticket",
                    "ticket_pattern",
                    "ticket_hint",
                )
            },
        ),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessRole]:
        special = AccessRole.assets.through.objects.filter(
            accessrole_id=OuterRef("pk"), dataasset__is_special=True
        )
        return (
            super()
            .get_queryset(request)
            .annotate(n_assets=Count("assets", distinct=True), holds_special=Exists(special))
        )

    @admin.display(description="rights")
    def rights(self, obj: AccessRole) -> str:
        return ", ".join(a for a in selectors.ACTIONS if getattr(obj, f"can_{a}")) or "—"

    @admin.display(description="DPO", boolean=True)
    def dpo_needed(self, obj: AccessRole) -> bool:
        return obj.require_dpo or getattr(obj, "holds_special", False)

    @admin.display(description="assets", ordering="n_assets")
    def asset_count(self, obj: AccessRole) -> int:
        return getattr(obj, "n_assets", 0)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # The settings are complete only once the many-to-many fields are saved.
        services.access_role_record_change(
            role=form.instance, actor=request.user, created=not change
        )

    def delete_model(self, request, obj) -> None:
        services.access_role_record_deleted(role=obj, actor=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for role in queryset:
            services.access_role_record_deleted(role=role, actor=request.user)
        super().delete_queryset(request, queryset)


# --- requests ------------------------------------------------------------------------------------


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


class RequestDisplayMixin:
    """Columns shared by the request changelist and the approval queue."""

    @admin.display(description="requester", ordering="requester__username")
    def requester_name(self, obj: AccessRequest) -> str:
        user = obj.requester
        full = user.get_full_name()
        return f"{full} ({user.username})" if full else user.username

    @admin.display(description="asset / role")
    def target(self, obj: AccessRequest) -> str:
        label = f"Role: {obj.role.name}" if obj.role is not None else str(obj.asset)
        if obj.extends_grant_id:
            label += f" (extends grant #{obj.extends_grant_id})"
        if obj.is_break_glass:
            label += " (break-glass)"
        return label

    @admin.display(description="sensitivity", ordering="sensitivity_rank")
    def sensitivity(self, obj: AccessRequest) -> str:
        return selectors.sensitivity_label(getattr(obj, "sensitivity_rank", None))

    @admin.display(description="special", boolean=True)
    def special(self, obj: AccessRequest) -> bool:
        return bool(getattr(obj, "holds_special", False))

    @admin.display(description="window", ordering="starts_at")
    def window(self, obj: AccessRequest) -> str:
        return _window(obj.starts_at, obj.ends_at)

    @admin.display(description="approvals still needed")
    def still_needed(self, obj: AccessRequest) -> str:
        return selectors.approvals_still_needed_label(obj)

    @admin.display(description="purpose (lawful basis)", ordering="processing_activity__name")
    def purpose(self, obj: AccessRequest) -> str:
        """The processing activity the requester chose, with its Art. 6(1) lawful basis and,
        for Art. 9/10 data, its Art. 9(2) condition: what an approver needs to judge whether
        the access serves a purpose the organisation may process the data for."""
        activity = obj.processing_activity
        if activity is None:
            return format_html('<span class="jp-purpose-none">{}</span>', "None given")
        basis = activity.get_lawful_basis_display() or "no lawful basis recorded"
        condition = ""
        if getattr(obj, "holds_special", False):
            condition = format_html(
                '<br><small class="jp-purpose-basis">Art. 9(2): {}</small>',
                activity.get_art9_condition_display() or "no condition recorded",
            )
        return format_html(
            '<span class="jp-purpose">{}</span><br>'
            '<small class="jp-purpose-basis">Lawful basis: {}</small>{}',
            activity.name,
            basis,
            condition,
        )


class DecisionFilter(admin.SimpleListFilter):
    title = "waiting for me"
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("yes", "Requests I may decide")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=selectors.approval_queue_for(request.user).values("pk"))
        return queryset


@admin.register(AccessRequest)
class AccessRequestAdmin(RequestDisplayMixin, ReadOnlyModelAdmin):
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
            "What was asked",
            {"fields": ("purpose", "starts_at", "ends_at", "justification", "ticket")},
        ),
        (
            "Decision",
            {
                "fields": (
                    "status",
                    "approvals_required",
                    "dpo_required",
                    "still_needed",
                    "decided_at",
                    "decided_by",
                    "decision_comment",
                    "lapses_at",
                    "reminded_at",
                )
            },
        ),
        ("Policy in force", {"fields": ("policy_snapshot", "created_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessRequest]:
        return selectors.with_queue_columns(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "still_needed", "purpose"]

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
        queue = selectors.approval_queue_for(_user(request))
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
            "title": "Requests waiting for your decision",
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
        form_class = ApproveForm if decision == "approve" else ReasonForm
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                if decision == "approve":
                    services.access_request_approve(
                        request_id=obj.pk,
                        approver=_user(request),
                        comment=form.cleaned_data["comment"],
                        ends_at=form.cleaned_data["ends_at"],
                    )
                else:
                    services.access_request_deny(
                        request_id=obj.pk,
                        approver=_user(request),
                        reason=form.cleaned_data["reason"],
                    )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errs in exc.message_dict.items():
                        target = field if field in form.fields else None
                        for err in errs:
                            form.add_error(target, err)
                else:
                    messages.error(request, " ".join(exc.messages))
                    return HttpResponseRedirect(back)
            except PermissionDenied as exc:
                messages.error(request, str(exc) or "You may not decide this request.")
                return HttpResponseRedirect(back)
            else:
                # Loaded again with its columns: refresh_from_db keeps the old annotations.
                obj = self.get_queryset(request).get(pk=obj.pk)
                state = obj.get_status_display().lower()
                if decision == "approve" and obj.status == RequestStatus.PENDING:
                    messages.success(request, _still_needs_message(obj))
                else:
                    messages.success(request, f"Request #{obj.pk} is now {state}.")
                return HttpResponseRedirect(back)
        capacity = selectors.decider_capacity(request=obj, user=_user(request))
        refusal = ""
        if obj.status != RequestStatus.PENDING:
            refusal = f"This request is already {obj.get_status_display().lower()}."
        elif obj.requester_id == request.user.pk:
            refusal = "Nobody can decide their own request."
        elif not capacity:
            refusal = f"You are not an approver for {obj.target_label}."
        elif (lapse := selectors.request_lapse_time(obj)) <= timezone.now():
            refusal = f"This request lapsed at {datetime_display(lapse)}."
        elif decision == "approve" and (why := selectors.request_ineligibility(obj)):
            refusal = f"It cannot be approved: {why}."
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{decision.capitalize()} request #{obj.pk}",
            "original": obj,
            "req": obj,
            "decision": decision,
            "form": form,
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
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                done, failed = [], []
                for obj in queryset.order_by("pk"):
                    try:
                        if decision == "approve":
                            services.access_request_approve(
                                request_id=obj.pk,
                                approver=request.user,
                                comment=form.cleaned_data["comment"],
                            )
                        else:
                            services.access_request_deny(
                                request_id=obj.pk,
                                approver=request.user,
                                reason=form.cleaned_data["reason"],
                            )
                    except (ValidationError, PermissionDenied) as exc:
                        failed.append(f"#{obj.pk}: {' '.join(_errors_of(exc))}")
                    else:
                        done.append(f"#{obj.pk}")
                        if decision == "approve":
                            fresh = self.get_queryset(request).get(pk=obj.pk)
                            if fresh.status == RequestStatus.PENDING:
                                messages.info(request, _still_needs_message(fresh))
                _report(request, done, failed, "Approved" if decision == "approve" else "Denied")
                return None
        else:
            form = form_class()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{decision.capitalize()} the selected requests",
            "queryset": queryset.order_by("pk"),
            "rows": [
                {"obj": r, "target": self.target(r), "window": self.window(r)}
                for r in queryset.order_by("pk")
            ],
            "form": form,
            "action": f"{decision}_selected",
            "decision": decision,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/access/accessrequest/bulk_decide.html", context)

    @admin.action(description="Approve the selected requests", permissions=["decide"])
    def approve_selected(self, request, queryset):
        return self._bulk(request, queryset, decision="approve")

    @admin.action(description="Deny the selected requests (with a reason)", permissions=["decide"])
    def deny_selected(self, request, queryset):
        return self._bulk(request, queryset, decision="deny")


# --- grants --------------------------------------------------------------------------------------


class LiveNowFilter(admin.SimpleListFilter):
    title = "gives access now"
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return [("yes", "Yes (live now)"), ("no", "No")]

    def queryset(self, request, queryset):
        now = timezone.now()
        live = Q(starts_at__lte=now, ends_at__gt=now, revoked_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(live)
        if self.value() == "no":
            return queryset.exclude(live)
        return queryset


@admin.register(Grant)
class GrantAdmin(ReadOnlyModelAdmin):
    # Few, wrapping columns: the list fits a 1366 px screen beside its filters. Who may
    # revoke also gets a Revoke link per live or scheduled row (get_list_display).
    list_display = ("id", "holder", "target", "asset_list", "rights", "window", "state")
    list_display_links = ("id", "holder")
    list_filter = (
        LiveNowFilter,
        "status",
        "is_break_glass",
        "needs_review",
        ("user", admin.RelatedOnlyFieldListFilter),
        ("assets", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("=id", "user__username", "user__email", "assets__name", "request__role__name")
    date_hierarchy = "starts_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["revoke_selected", "mark_reviewed"]
    fieldsets = (
        (None, {"fields": ("request", "user", "asset_list", "status", "mirrored")}),
        (
            "Rights and window",
            {"fields": ("can_view", "can_change", "can_export", "starts_at", "ends_at")},
        ),
        ("Revocation", {"fields": ("revoked_at", "revoked_by", "revoke_reason")}),
        (
            "Break-glass",
            {"fields": ("is_break_glass", "needs_review", "reviewed_at", "reviewed_by")},
        ),
        ("Notices", {"fields": ("expiry_warned_at", "created_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "asset_list"]

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
        back = _return_query("grants", request.GET.urlencode())

        @admin.display(description="revoke")
        def revoke(obj: Grant) -> str:
            if obj.revoked_at is not None or obj.ends_at <= timezone.now():
                return "—"
            url = reverse("admin:access_grant_revoke", args=[obj.pk])
            return format_html(
                '<a class="button jp-revoke" href="{}?{}" aria-label="Revoke grant #{}">Revoke</a>',
                url,
                back,
                obj.pk,
            )

        return [*shown, revoke]

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("access.revoke_grant")

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("access.review_grant")

    def has_break_glass_permission(self, request) -> bool:
        return request.user.has_perm("access.break_glass")

    @admin.display(description="holder", ordering="user__username")
    def holder(self, obj: Grant) -> str:
        return obj.user.get_username()

    @admin.display(description="role / asset")
    def target(self, obj: Grant) -> str:
        return obj.request.target_label

    @admin.display(description="assets")
    def asset_list(self, obj: Grant) -> str:
        return format_html_join(
            ", ",
            "{}{}",
            ((str(a), " ⚠" if a.is_special else "") for a in obj.assets.all()),
        )

    @admin.display(description="rights")
    def rights(self, obj: Grant) -> str:
        return ", ".join(a for a in selectors.ACTIONS if getattr(obj, f"can_{a}"))

    @admin.display(description="window", ordering="ends_at")
    def window(self, obj: Grant) -> str:
        return _window(obj.starts_at, obj.ends_at)

    @admin.display(description="live now", boolean=True)
    def live_now(self, obj: Grant) -> bool:
        return obj.is_live()

    @admin.display(description="state", ordering="status")
    def state(self, obj: Grant) -> str:
        """Status, whether it gives access now, and the break-glass flags, in one cell."""
        lines = [obj.get_status_display() + (", live now" if obj.is_live() else "")]
        if obj.is_break_glass:
            lines.append("break-glass" + (", to review" if obj.needs_review else ""))
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
        back_url = named_return_url(request, _RETURNS) or change_url
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
                messages.error(request, " ".join(_errors_of(exc)))
            else:
                messages.success(
                    request,
                    f"Grant #{obj.pk} revoked."
                    if kind == "revoke"
                    else f"Grant #{obj.pk} reviewed.",
                )
            return HttpResponseRedirect(back_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "grant": obj,
            "title": f"Revoke grant #{obj.pk}" if kind == "revoke" else f"Review grant #{obj.pk}",
            "form": form,
            "kind": kind,
            "window": _window(obj.starts_at, obj.ends_at),
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
        form = BreakGlassForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                grant = services.grant_break_glass(
                    user=_user(request),
                    asset=data["asset"],
                    duration=timedelta(minutes=data["minutes"]),
                    reason=data["reason"],
                    can_change=data["can_change"],
                    can_export=data["can_export"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errs in exc.message_dict.items():
                        field = "minutes" if field == "duration" else field
                        for err in errs:
                            form.add_error(field if field in form.fields else None, err)
                else:
                    form.add_error(None, " ".join(exc.messages))
            except PermissionDenied as exc:
                messages.error(request, str(exc))
                return HttpResponseRedirect(reverse("admin:access_grant_changelist"))
            else:
                messages.warning(
                    request,
                    f"Break-glass access to {data['asset']} until "
                    f"{datetime_display(grant.ends_at)}. The DPO group has been emailed "
                    "and the grant is flagged for review.",
                )
                return HttpResponseRedirect(reverse("admin:access_grant_change", args=[grant.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Break-glass access",
            "form": form,
            "limit": services.human_duration(settings.JITPORTAL["BREAK_GLASS_MAX"]),
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
            "title": "Who holds access right now",
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
            "back": _return_query("holders", request.GET.urlencode()),
        }
        status = 400 if form.is_bound and not form.is_valid() else 200
        return TemplateResponse(request, "admin/access/grant/holders.html", context, status=status)

    @admin.action(description="Revoke the selected grants (with a reason)", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                done, failed = [], []
                for grant in queryset.order_by("pk"):
                    try:
                        services.grant_revoke(
                            grant_id=grant.pk,
                            actor=request.user,
                            reason=form.cleaned_data["reason"],
                        )
                    except (ValidationError, PermissionDenied) as exc:
                        failed.append(f"#{grant.pk}: {' '.join(_errors_of(exc))}")
                    else:
                        done.append(f"#{grant.pk}")
                _report(request, done, failed, "Revoked")
                return None
        else:
            form = ReasonForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Revoke the selected grants",
            "rows": [
                {"obj": g, "target": self.target(g), "window": self.window(g)}
                for g in queryset.order_by("pk")
            ],
            "queryset": queryset.order_by("pk"),
            "form": form,
            "action": "revoke_selected",
            "decision": "revoke",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/access/accessrequest/bulk_decide.html", context)

    @admin.action(
        description="Mark the selected break-glass grants reviewed", permissions=["review"]
    )
    def mark_reviewed(self, request, queryset):
        done, failed = [], []
        for grant in queryset.order_by("pk"):
            try:
                services.grant_mark_reviewed(grant_id=grant.pk, reviewer=request.user)
            except (ValidationError, PermissionDenied) as exc:
                failed.append(f"#{grant.pk}: {' '.join(_errors_of(exc))}")
            else:
                done.append(f"#{grant.pk}")
        _report(request, done, failed, "Reviewed")


# --- the notice outbox --------------------------------------------------------------------------


class NoticeEscalatedFilter(admin.SimpleListFilter):
    title = "escalated (break-glass past the bound)"
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(escalated_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(escalated_at__isnull=True)
        return queryset


@admin.register(Notice)
class NoticeAdmin(ReadOnlyModelAdmin):
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

    @admin.display(description="about")
    def about(self, obj: Notice) -> str:
        if obj.kind.startswith("request_"):
            url = reverse("admin:access_accessrequest_change", args=[obj.object_id])
            return format_html('<a href="{}">request #{}</a>', url, obj.object_id)
        url = reverse("admin:access_grant_change", args=[obj.object_id])
        return format_html('<a href="{}">grant #{}</a>', url, obj.object_id)

    @admin.display(description="last error")
    def error(self, obj: Notice) -> str:
        return obj.last_error if len(obj.last_error) <= 120 else obj.last_error[:119] + "…"

    @admin.action(
        description="Send the selected notices again (not those already sent)",
        permissions=["resend"],
    )
    def resend_selected(self, request, queryset):
        try:
            queued, refused = outbox.notices_resend(
                notice_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return
        _report(request, [f"#{n.pk}" for n in queued], refused, "Queued again")
