"""The portal's admin site: Django's, with an autocomplete that reads through the model admin.

Django's autocomplete view (``/admin/autocomplete/``) serves the rows behind any relation of
any model, labelled with ``str()``, asking the listed model's admin only for its model-level
view permission. Here it also

* serves a relation only of a model whose add or change form the user may open (the form
  its widget sits on: the model's admin decides, or for an inline's unregistered model the
  model permissions an inline asks for);
* labels each row with the listed model admin's ``autocomplete_label(obj)`` when it has one;
* tells that admin which rows it showed, for which term and page
  (``autocomplete_shown(request, objects, term=..., page=...)``), so an admin that logs its
  reads (the governed records, apps/crm/admin.py) logs this one like its change list.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, JsonResponse


class PortalAutocompleteJsonView(AutocompleteJsonView):
    """Django's autocomplete with the checks and hooks described in the module docstring."""

    admin_site: admin.AdminSite

    def process_request(self, request: HttpRequest) -> tuple[Any, Any, Any, Any]:
        # Django's own (the stubs do not declare it): parameters checked, PermissionDenied
        # for a model, field or relation it does not serve.
        parent: Any = super()
        term, model_admin, source_field, to_field_name = parent.process_request(request)
        if not self._may_open_form_of(request, source_field.model):
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name

    def _may_open_form_of(self, request: HttpRequest, model: type[models.Model]) -> bool:
        """Whether ``request.user`` may open an add or change form of ``model``: its admin's
        answer when it is registered, otherwise (an inline's model) the model permissions an
        inline asks for."""
        source_admin = self.admin_site._registry.get(model)
        if source_admin is not None:
            return bool(
                source_admin.has_view_or_change_permission(request)
                or source_admin.has_add_permission(request)
            )
        opts = model._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("view", "change", "add")
        )

    def serialize_result(self, obj: models.Model, to_field_name: str) -> dict[str, str]:
        label = getattr(self.model_admin, "autocomplete_label", str)
        return {"id": str(getattr(obj, to_field_name)), "text": str(label(obj))}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        self.term, self.model_admin, self.source_field, to_field_name = self.process_request(
            request
        )
        if not self.has_perm(request):
            raise PermissionDenied
        self.object_list = self.get_queryset()
        context = self.get_context_data()
        objects = list(context["object_list"])
        shown = getattr(self.model_admin, "autocomplete_shown", None)
        if shown is not None:
            shown(request, objects, term=self.term, page=context["page_obj"].number)
        return JsonResponse(
            {
                "results": [self.serialize_result(obj, to_field_name) for obj in objects],
                "pagination": {"more": context["page_obj"].has_next()},
            }
        )


class PortalAdminSite(admin.AdminSite):
    """The site ``admin.site`` is (``PortalAdminConfig.default_site``)."""

    def autocomplete_view(self, request: HttpRequest) -> Any:
        return PortalAutocompleteJsonView.as_view(admin_site=self)(request)


class PortalAdminConfig(AdminConfig):
    """``django.contrib.admin`` (in INSTALLED_APPS), whose default site is the one above."""

    default_site = "jitportal.admin_site.PortalAdminSite"
