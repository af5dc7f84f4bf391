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

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.translation import gettext as _

from jitportal.inputs import BIGINT_MAX, INTEGER_MAX, parse_id

#: Primary key fields whose values are integers, with the largest value their column holds.
_INTEGER_KEYS: tuple[tuple[type[models.Field], int], ...] = (
    (models.BigAutoField, BIGINT_MAX),
    (models.BigIntegerField, BIGINT_MAX),
    (models.AutoField, INTEGER_MAX),
    (models.SmallAutoField, 32767),
    (models.IntegerField, INTEGER_MAX),
)


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


def selection_is_valid(model: type[models.Model], values: list[str]) -> bool:
    """Whether every value of a change list's selection (``_selected_action``) can be a
    primary key of ``model``: ASCII digits within the column's range for an integer key
    (``'²'`` and ``'99999999999999999999'`` make Django's action query raise), otherwise what
    the key field's ``to_python`` accepts. At most one value per row of a page of 10,000."""
    if len(values) > 10_000:
        return False
    pk = model._meta.pk
    for field_class, maximum in _INTEGER_KEYS:
        if isinstance(pk, field_class):
            return all(parse_id(value, maximum=maximum) is not None for value in values)
    try:
        for value in values:
            pk.to_python(value)  # type: ignore[union-attr]
    except Exception:
        return False
    return True


def _selection_checked(view: Callable[..., HttpResponse], model: type[models.Model]) -> Any:
    """``view`` (a change list) refusing an action on a selection that names no row, with a
    message and nothing done, instead of the 500 Django's action query gives."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and "action" in request.POST:
            selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
            if not selection_is_valid(model, selected):
                messages.error(
                    request,
                    _(
                        "The selection holds a value that is not a row of this list; nothing was done."
                    ),
                )
                return HttpResponseRedirect(request.path)
        return view(request, *args, **kwargs)

    return checked


class PortalAdminSite(admin.AdminSite):
    """The site ``admin.site`` is (``PortalAdminConfig.default_site``).

    Every model admin's change list refuses an action on a selection that names no row
    (:func:`selection_is_valid`), whatever the admin (the project's or a library's).
    """

    def admin_view(self, view: Callable[..., Any], cacheable: bool = False) -> Any:
        model_admin = getattr(view, "__self__", None)
        if isinstance(model_admin, admin.ModelAdmin) and view.__name__ == "changelist_view":
            view = _selection_checked(view, model_admin.model)
        return super().admin_view(view, cacheable)

    def autocomplete_view(self, request: HttpRequest) -> Any:
        return PortalAutocompleteJsonView.as_view(admin_site=self)(request)


class PortalAdminConfig(AdminConfig):
    """``django.contrib.admin`` (in INSTALLED_APPS), whose default site is the one above."""

    default_site = "jitportal.admin_site.PortalAdminSite"
