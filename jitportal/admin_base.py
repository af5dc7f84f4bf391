"""What several apps' admins share: the read-only admin of service-written rows, bounded
inlines, the one way a service's refusal reaches a form or a message, custom pages' forms as
``AdminForm`` and bulk actions that call a service row by row."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.formsets import TOTAL_FORM_COUNT, BaseFormSet
from django.forms.models import _get_foreign_key
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


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


# --- a service's refusal, on a form or in a message -------------------------------------------

#: What a service raises when it refuses: bad input or a state that does not allow it
#: (``ValidationError``), an actor who may not (``PermissionDenied``), or an app's own
#: input error (a ``ValueError`` subclass such as ``TokenInputError``).
ServiceError = ValidationError | PermissionDenied | ValueError

#: Said when a refusal carries no text of its own.
REFUSED_WITHOUT_REASON = _("You may not do that.")


def service_error_messages(exc: ServiceError) -> list[str]:
    """The sentences of a service's refusal, in order: every message of a
    ``ValidationError`` (field errors included), or the text of any other exception
    (``REFUSED_WITHOUT_REASON`` when it has none)."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return [m for msgs in exc.message_dict.values() for m in msgs]
        return list(exc.messages)
    return [str(exc) or str(REFUSED_WITHOUT_REASON)]


class ServiceErrorsMixin:
    """The one way an admin (or one of its pages and actions) shows a service's refusal.

    - :meth:`add_service_errors` puts it on the form that was sent: each field error of a
      ``ValidationError`` under the field it names (``field_names`` maps a service's argument
      to the form field that gave it, e.g. ``{"duration": "minutes"}``), anything else at the
      top of the form. The form is then shown again with the person's input.
    - :meth:`message_service_error` says it in a message, for pages that go back to where
      they came from and for bulk actions (:func:`bulk_service_action`).
    - :meth:`service_error_text` is the refusal as one sentence.
    """

    def service_error_text(self, exc: ServiceError) -> str:
        return " ".join(service_error_messages(exc))

    def add_service_errors(
        self,
        form: forms.BaseForm,
        exc: ServiceError,
        *,
        field_names: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                name = (field_names or {}).get(name, name)
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
            return
        form.add_error(None, self.service_error_text(exc))

    def message_service_error(
        self, request: HttpRequest, exc: ServiceError, *, prefix: str = ""
    ) -> None:
        messages.error(request, f"{prefix}{self.service_error_text(exc)}")


def admin_form(
    form: forms.BaseForm,
    model_admin: admin.ModelAdmin,
    *,
    fieldsets: list[tuple[str | None, dict[str, Any]]] | None = None,
) -> helpers.AdminForm:
    """``form`` wrapped as the admin's change form wraps its own (``helpers.AdminForm``), for a
    custom admin page to render with ``admin/includes/fieldset.html``: one fieldset of every
    field unless ``fieldsets`` lays them out."""
    return helpers.AdminForm(
        form,  # type: ignore[arg-type]  # any form: AdminForm reads only its fields
        fieldsets or [(None, {"fields": list(form.fields)})],
        prepopulated_fields={},
        readonly_fields=(),
        model_admin=model_admin,
    )


# --- bulk actions that call a service for each selected row -----------------------------------

T = TypeVar("T")


def bulk_report(
    request: HttpRequest, done: Sequence[str], failed: Sequence[str], done_message: str
) -> None:
    """Report a bulk action: ``done_message`` (naming ``done``) when anything was done,
    each failure as an error, and a warning when nothing was done or refused."""
    if done:
        messages.success(request, done_message)
    for failure in failed:
        messages.error(request, failure)
    if not done and not failed:
        messages.warning(request, gettext("Nothing was selected; nothing changed."))


def bulk_service_action(
    request: HttpRequest,
    objects: Iterable[T],
    call: Callable[[T], Any],
    *,
    done_message: Callable[[int, str], str],
    label: Callable[[T], str] = lambda obj: f"#{obj.pk}",  # type: ignore[attr-defined]
    after: Callable[[T], None] | None = None,
) -> tuple[list[T], list[T]]:
    """Call a service for each of ``objects`` on its own (each in its own transaction, as
    top-level services open one), so one refusal changes nothing for the others; then report.

    ``call(obj)`` calls the service; a refusal (``ValidationError``, ``PermissionDenied``) is
    reported as "<label>: <why>", and any other exception is a bug and propagates.
    ``after(obj)`` runs after each success (e.g. to say what a request still needs).
    ``done_message(count, labels)`` is the success message, given how many were done and
    their labels joined with commas. Returns the objects done and those refused."""
    done: list[T] = []
    refused: list[T] = []
    failures: list[str] = []
    for obj in objects:
        try:
            call(obj)
        except (ValidationError, PermissionDenied) as exc:
            refused.append(obj)
            failures.append(f"{label(obj)}: {' '.join(service_error_messages(exc))}")
        else:
            done.append(obj)
            if after is not None:
                after(obj)
    labels = [label(obj) for obj in done]
    bulk_report(request, labels, failures, done_message(len(labels), ", ".join(labels)))
    return done, refused
