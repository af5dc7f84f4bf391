"""What several apps' admins share."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.forms.formsets import TOTAL_FORM_COUNT, BaseFormSet
from django.forms.models import _get_foreign_key
from django.http import HttpRequest


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """An admin for rows only services write (the audit trail, requests and grants, purge
    runs, snapshots): nothing is added, changed or deleted here, every field reads only.
    Decisions and other actions are admin actions and pages that call the services.

    What happens to these rows is recorded once, in the hash-chained audit trail the services
    write (docs/audit.md): the admin's own LogEntry ("Recent actions") is not written for
    them, so a decision taken in the admin does not leave a second, unchained trail."""

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None

    def log_deletion(self, request: HttpRequest, obj: Any, object_repr: str) -> Any:
        return None

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        return None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


#: How many rows an admin inline adds at most in one save.
INLINE_MAX_NUM = 50


class BoundedInlineMixin:
    """An admin inline whose formset builds a bounded number of forms, whatever
    ``TOTAL_FORMS`` a post claims.

    Django builds ``min(TOTAL_FORMS, absolute_max)`` forms before it validates anything, and
    ``absolute_max`` defaults to ``max_num + 1000``: ``TOTAL_FORMS=99999999`` on a page with
    a heavy inline kept a worker busy for minutes. Here ``max_num`` defaults to
    :data:`INLINE_MAX_NUM` and ``absolute_max`` is the rows the parent already has plus
    ``max_num``; a post claiming more gets the formset's "Please submit at most … forms."
    error at once, and no form is built. :func:`admin_inlines_bound` gives every inline on the site this mixin.
    """

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        inline = cast(InlineModelAdmin, self)
        existing = 0
        if obj is not None and obj.pk is not None:
            fk = _get_foreign_key(inline.parent_model, inline.model, fk_name=inline.fk_name)
            if fk is not None:
                existing = inline.model._default_manager.filter(**{fk.name: obj}).count()
        max_num = inline.get_max_num(request, obj, **kwargs)
        if max_num is None:
            max_num = INLINE_MAX_NUM
        kwargs.setdefault("max_num", max_num)
        kwargs.setdefault("absolute_max", existing + max_num)
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
        return type(formset.__name__, (_NoFormsBeyondMax, formset), {})


class _NoFormsBeyondMax(BaseFormSet):
    """A formset that builds no form at all when the post claims more than ``absolute_max``
    (Django would still build ``absolute_max`` of them before saying "at most")."""

    def total_form_count(self) -> int:
        if self.is_bound:
            claimed = self.management_form.cleaned_data.get(TOTAL_FORM_COUNT) or 0
            if claimed > self.absolute_max:
                return 0
        return super().total_form_count()


def admin_inlines_bound(site: admin.AdminSite) -> int:
    """Give every inline of every ModelAdmin registered on ``site`` (third-party ones
    included) :class:`BoundedInlineMixin`; returns how many inline classes were wrapped."""
    count = 0
    for model_admin in site._registry.values():
        bounded = []
        for inline in model_admin.inlines:
            if not issubclass(inline, BoundedInlineMixin):
                inline = type(inline.__name__, (BoundedInlineMixin, inline), {})
                count += 1
            bounded.append(inline)
        model_admin.inlines = bounded  # type: ignore[misc]
    return count
