"""Issue, list and revoke integration tokens. The token text is shown once, on creation."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from jitportal.admin_base import ServiceErrorsMixin, admin_form
from jitportal.forms import WindowDateTimeField

from .models import IntegrationToken
from .scopes import scope_choices
from .services import (
    TokenInputError,
    integration_token_create,
    integration_token_revoke,
    token_max_lifetime,
)

DEFAULT_LIFETIME = timedelta(days=90)


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Name"), help_text=_("What uses it, e.g. 'SIEM (Splunk)'.")
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        label=_("Owner"),
        help_text=_("The token acts for this user and never does more than they may."),
    )
    scopes = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple, label=_("Scopes")
    )
    expires_at = WindowDateTimeField(
        label=_("Expires at"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = scope_choices()
        days = token_max_lifetime().days
        self.fields["expires_at"].help_text = ngettext(
            "At most %(days)d day from now.", "At most %(days)d days from now.", days
        ) % {"days": days}
        if not self.is_bound:
            lifetime = min(DEFAULT_LIFETIME, token_max_lifetime())
            self.initial.setdefault(
                "expires_at", (timezone.now() + lifetime).replace(microsecond=0)
            )


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "owner",
        "token_prefix",
        "scope_list",
        "state",
        "expires_at",
        "last_used_at",
        "created_at",
    )
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("name", "prefix", "owner__username")
    list_select_related = ("owner",)
    actions = ("revoke_selected",)
    readonly_fields = (
        "name",
        "owner",
        "token_prefix",
        "scope_list",
        "state",
        "created_at",
        "created_by",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    )
    fields = readonly_fields

    @admin.display(description=_("token"))
    def token_prefix(self, obj: IntegrationToken) -> str:
        return f"jpt_{obj.prefix}_…"

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: IntegrationToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description=_("status"))
    def state(self, obj: IntegrationToken) -> str:
        return obj.status_label()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the trail refers to tokens

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        revoked = sum(integration_token_revoke(token_id=t.pk, actor=request.user) for t in queryset)
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )

    @method_decorator(never_cache)
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TokenCreateForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "changelist_url": reverse("admin:integrations_integrationtoken_changelist"),
            "title": gettext("Create an integration token"),
            "form": form,
            "adminform": admin_form(form, self),
        }
        if request.method == "POST" and form.is_valid():
            try:
                token, raw = integration_token_create(
                    owner=form.cleaned_data["owner"],
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.cleaned_data["expires_at"],
                    created_by=request.user,
                )
            except TokenInputError as exc:
                self.add_service_errors(form, exc)
            else:
                context.update(title=gettext("Integration token created"), token=token, raw=raw)
                return TemplateResponse(
                    request, "admin/integrations/integrationtoken/created.html", context
                )
        return TemplateResponse(request, "admin/integrations/integrationtoken/add.html", context)
