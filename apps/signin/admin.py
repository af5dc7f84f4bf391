"""Sign-in in the admin: the group mappings of single sign-on, the accounts' links to the
provider (read only), and Django's user admin with case-insensitive username and email checks.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from jitportal.inputs import bounded_text

from .mfa import devices_reset
from .models import GroupMapping, OidcIdentity, mapping_target_problem


class CaseInsensitiveUserFormMixin(forms.ModelForm):  # type: ignore[type-arg]
    """Refuses a username or email that differs only in case from another account's."""

    def _taken(self, field: str, value: str) -> bool:
        others = get_user_model()._default_manager.filter(**{f"{field}__iexact": value})
        if self.instance.pk is not None:
            others = others.exclude(pk=self.instance.pk)
        return others.exists()

    def clean_username(self) -> Any:
        username = self.cleaned_data.get("username")
        if username and self._taken("username", username):
            raise forms.ValidationError(
                _("Another account already has this username (compared ignoring case)."),
                code="username_case",
            )
        return username

    def clean_email(self) -> Any:
        email = self.cleaned_data.get("email")
        if email and self._taken("email", email):
            raise forms.ValidationError(
                _("Another account already has this email address (compared ignoring case)."),
                code="email_case",
            )
        return email


@bounded_text
class PortalUserCreationForm(CaseInsensitiveUserFormMixin, AdminUserCreationForm):  # type: ignore[type-arg]
    pass


class PortalUserChangeForm(CaseInsensitiveUserFormMixin, UserChangeForm):  # type: ignore[type-arg]
    class Meta(UserChangeForm.Meta):  # type: ignore[name-defined]
        # Every field but last_login and date_joined: Django sets those at sign-in and at
        # creation, and the admin shows them read-only.
        fields = [
            "username",
            "password",
            "first_name",
            "last_name",
            "email",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        ]


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):  # type: ignore[type-arg]
    """Django's user admin; usernames and emails unique whatever their case."""

    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    readonly_fields = ("last_login", "date_joined")
    actions = ["reset_second_factor"]

    @admin.action(
        description=_("Reset second factor (the user enrols again)"), permissions=["change"]
    )
    def reset_second_factor(self, request: HttpRequest, queryset: Any) -> None:
        """Delete the selected users' apps, security keys and recovery codes, one audit event
        (``signin.mfa.reset``) per user."""
        for user in queryset.order_by("pk"):
            devices_reset(user=user, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "The second factor of %(count)d user was reset.",
                "The second factor of %(count)d users were reset.",
                queryset.count(),
            )
            % {"count": queryset.count()},
            messages.SUCCESS,
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Who made the change, for whoever listens to the save (offboarding on deactivation
        # records them as its actor: apps/access/signals.py).
        obj.changed_by = request.user
        super().save_model(request, obj, form, change)


# Devices are managed through the audited pages above (enrolment, reset), not edited here:
# django-otp's own admin would show another user's secret as a QR code.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


class GroupMappingForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = GroupMapping
        fields = ["idp_group", "group"]

    def clean_group(self) -> Any:
        group = self.cleaned_data.get("group")
        if group is not None:
            problem = mapping_target_problem(group.name)
            if problem:
                raise forms.ValidationError(problem, code="reserved_target")
        return group


@admin.register(GroupMapping)
class GroupMappingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The identity provider's groups and the portal groups they put people in (added to
    ``OIDC_GROUP_MAP`` from settings; both apply at the next sign-in)."""

    form = GroupMappingForm
    list_display = ("idp_group", "group")
    list_filter = ("group",)
    search_fields = ("idp_group", "group__name")


@admin.register(OidcIdentity)
class OidcIdentityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Which account each provider subject signs in as; deleting one unlinks the account."""

    list_display = ("user", "issuer", "subject", "created_at")
    search_fields = ("user__username", "subject")
    readonly_fields = ("user", "issuer", "subject", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
