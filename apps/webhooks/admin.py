"""Subscriptions (created and changed through the services; the secret shown once) and the
delivery log (status, response code, tries, next try, response excerpt; re-send)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jitportal.admin_base import ReadOnlyModelAdmin, ServiceErrorsMixin, admin_form
from jitportal.inputs import AsciiIntegerField, parse_id

from .events import webhook_event_types
from .models import (
    DeliveryError,
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookSubscription,
)
from .services import (
    webhook_deliveries_resend,
    webhook_subscription_create,
    webhook_subscription_secret_rotate,
    webhook_subscription_update,
)
from .services.subscriptions import TIMEOUT_MAX, TIMEOUT_MIN
from .targets import webhook_target_check


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    url = forms.CharField(
        max_length=2000,
        label=_("Endpoint URL"),
        help_text=_("HTTPS, on a public address; the portal follows no redirect."),
    )
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Events"),
        help_text=_("None: only what a connector sends to this endpoint."),
    )
    timeout_seconds = AsciiIntegerField(
        min_value=TIMEOUT_MIN, max_value=TIMEOUT_MAX, initial=10, label=_("Timeout (seconds)")
    )
    active = forms.BooleanField(required=False, initial=True, label=_("Active"))

    def clean_url(self) -> str:
        # The service checks again when it saves; checked here too so that every problem of
        # the form shows at once.
        url = self.cleaned_data["url"]
        webhook_target_check(url)
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "url",
        "event_list",
        "active",
        "waiting",
        "given_up",
        "secret_hint",
        "created_at",
    )
    list_filter = ("active",)
    search_fields = ("name", "url")
    list_per_page = 50
    readonly_fields = (
        "name",
        "url",
        "event_list",
        "active",
        "timeout_seconds",
        "secret_hint",
        "secret_rotated_at",
        "created_at",
        "created_by",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> Any:
        # One query for the list, with each subscription's waiting and given-up deliveries.
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_waiting=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
                n_given_up=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            )
        )

    def _deliveries_link(self, obj: WebhookSubscription, status: str, count: int) -> str:
        if not count:
            return "0"
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        query = f"?subscription__id__exact={obj.pk}&status__exact={status}"
        return format_html('<a href="{}{}">{}</a>', url, query, count)

    @admin.display(description=_("waiting"))
    def waiting(self, obj: Any) -> str:
        return self._deliveries_link(obj, DeliveryStatus.PENDING, obj.n_waiting)

    @admin.display(description=_("given up"))
    def given_up(self, obj: Any) -> str:
        return self._deliveries_link(obj, DeliveryStatus.FAILED, obj.n_given_up)

    @admin.display(description=_("events"))
    def event_list(self, obj: WebhookSubscription) -> str:
        labels = dict(EventType.choices)
        return ", ".join(str(labels.get(t, t)) for t in obj.event_types) or "—"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # paused instead: the delivery log refers to subscriptions

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_view),
                name="webhooks_webhooksubscription_rotate",
            ),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, form: forms.Form | None) -> dict:
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "changelist_url": reverse("admin:webhooks_webhooksubscription_changelist"),
            "title": title,
        }
        if form is not None:
            context.update(form=form, adminform=admin_form(form, self))
        return context

    def _secret_page(
        self, request: HttpRequest, subscription: WebhookSubscription, secret: str, title: str
    ) -> HttpResponse:
        context = self._context(request, title, None)
        context.update(subscription=subscription, secret=secret)
        response = TemplateResponse(request, "admin/webhooks/secret_shown.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @method_decorator(never_cache)
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SubscriptionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                subscription, secret = webhook_subscription_create(
                    actor=request.user,  # type: ignore[arg-type]  # admin_view: signed in
                    **form.cleaned_data,
                )
            except (ValidationError, PermissionDenied) as exc:
                self.add_service_errors(form, exc)
            else:
                return self._secret_page(
                    request, subscription, secret, gettext("Webhook subscription created")
                )
        context = self._context(request, gettext("Add a webhook subscription"), form)
        return TemplateResponse(request, "admin/webhooks/subscription_form.html", context)

    @method_decorator(never_cache)
    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_change_permission(request):
            return super().change_view(request, object_id, form_url, extra_context)
        pk = parse_id(object_id)
        if pk is None:
            return super().change_view(request, object_id, form_url, extra_context)
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        initial = {
            "name": subscription.name,
            "url": subscription.url,
            "event_types": subscription.event_types,
            "timeout_seconds": subscription.timeout_seconds,
            "active": subscription.active,
        }
        form = SubscriptionForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                webhook_subscription_update(
                    subscription_id=subscription.pk,
                    actor=request.user,  # type: ignore[arg-type]
                    **form.cleaned_data,
                )
            except (ValidationError, PermissionDenied) as exc:
                self.add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    gettext("Webhook subscription “%(name)s” saved.")
                    % {"name": form.cleaned_data["name"]},
                )
                return HttpResponseRedirect(
                    reverse("admin:webhooks_webhooksubscription_changelist")
                )
        context = self._context(
            request,
            gettext("Change webhook subscription “%(name)s”") % {"name": subscription},
            form,
        )
        context.update(
            subscription=subscription,
            deliveries_url=reverse("admin:webhooks_webhookdelivery_changelist")
            + f"?subscription__id__exact={subscription.pk}",
        )
        return TemplateResponse(request, "admin/webhooks/subscription_form.html", context)

    @method_decorator(never_cache)
    @method_decorator(require_POST)
    def rotate_view(self, request: HttpRequest, object_id: int) -> HttpResponseBase:
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            subscription, secret = webhook_subscription_secret_rotate(
                subscription_id=object_id,
                actor=request.user,  # type: ignore[arg-type]
            )
        except (ValidationError, PermissionDenied) as exc:
            self.message_service_error(request, exc)
            return HttpResponseRedirect(reverse("admin:webhooks_webhooksubscription_changelist"))
        return self._secret_page(request, subscription, secret, gettext("New secret generated"))


class CodeFilter(admin.SimpleListFilter):
    """A list filter over a code field that offers, and accepts, only the codes of its
    registry (``codes``: code → label). An unknown code in the address filters nothing and
    says so, rather than showing an empty list as if nothing matched. The parameter keeps
    Django's own name (``<field>__exact``), so links made for the built-in filter work."""

    field: str = ""
    #: The registry each subclass names: a function returning code → label.
    codes: ClassVar[Callable[[], dict[str, Any]]]

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        self.parameter_name = f"{self.field}__exact"
        super().__init__(request, params, model, model_admin)
        value = self.value()
        if value is not None and value not in type(self).codes():
            messages.error(
                request,
                gettext(
                    "“%(value)s” is not a known code of “%(filter)s”: the list is not filtered by it."
                )
                % {"value": value, "filter": self.title},
            )
            self.used_parameters.pop(self.parameter_name, None)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(type(self).codes().items())

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(**{self.field: value})


class EventTypeFilter(CodeFilter):
    title = _("event")
    field = "event_type"
    codes = staticmethod(webhook_event_types)


class StatusFilter(CodeFilter):
    title = _("status")
    field = "status"
    codes = staticmethod(lambda: dict(DeliveryStatus.choices))


class ErrorFilter(CodeFilter):
    title = _("last error")
    field = "error"
    codes = staticmethod(lambda: dict(DeliveryError.choices))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ServiceErrorsMixin, ReadOnlyModelAdmin):
    """The delivery log: what was sent where, with what answer, and what waits."""

    list_display = (
        "id",
        "event_type",
        "subscription_link",
        "status",
        "response_code",
        "tries",
        "next_try_at",
        "last_tried_at",
        "error",
        "created_at",
    )
    #: Every code field's filter accepts only its registry's codes (CodeFilter).
    list_filter = (StatusFilter, EventTypeFilter, "subscription", ErrorFilter)
    list_select_related = ("subscription",)
    search_fields = ("idempotency_key",)
    search_help_text = _("An event id, or an idempotency key.")
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["resend_selected"]
    fields = (
        "subscription",
        "event_type",
        "event_id",
        "idempotency_key",
        "status",
        "tries",
        "created_at",
        "last_tried_at",
        "next_try_at",
        "delivered_at",
        "response_code",
        "error",
        "response_excerpt",
        "body",
    )

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        term = (search_term or "").strip()
        try:
            event_id = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(event_id=event_id), False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.resend_webhookdelivery")

    @admin.display(description=_("subscription"))
    def subscription_link(self, obj: WebhookDelivery) -> str:
        url = reverse("admin:webhooks_webhooksubscription_change", args=[obj.subscription_id])
        return format_html('<a href="{}">{}</a>', url, obj.subscription)

    @admin.action(
        description=_("Send the selected deliveries again (same event id)"),
        permissions=["resend"],
    )
    def resend_selected(self, request: HttpRequest, queryset: Any) -> None:
        try:
            queued = webhook_deliveries_resend(
                delivery_ids=list(queryset.values_list("pk", flat=True)),
                actor=request.user,  # type: ignore[arg-type]
            )
        except PermissionDenied as exc:
            self.message_service_error(request, exc)
            return
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery queued again.",
                "%(count)d deliveries queued again.",
                len(queued),
            )
            % {"count": len(queued)},
            messages.SUCCESS,
        )
