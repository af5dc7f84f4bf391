"""Autocomplete widgets that render only well-formed selected ids."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError

from jitportal.inputs import BIGINT_MAX


class _ValidSelectedMixin:
    """Render only well-formed selected ids, so a tampered POST gets the form back, not a 500.

    Django's autocomplete widgets look the submitted values up in the database to render
    them, before and whatever the form's own validation says; a value that is not a valid
    key (e.g. ``:``) raised there.
    """

    field: Any

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        target = remote.model._meta.get_field(
            getattr(remote, "field_name", None) or remote.model._meta.pk.name
        )
        valid = []
        for item in value:
            try:
                prepared = target.get_prep_value(target.to_python(item))
            except (ValidationError, ValueError, TypeError):
                continue
            # A number no key column holds (SQLite raises OverflowError for it).
            if isinstance(prepared, int) and not -BIGINT_MAX - 1 <= prepared <= BIGINT_MAX:
                continue
            valid.append(item)
        return super().optgroups(name, valid, attr)  # type: ignore[misc]


class ValidAutocompleteSelect(_ValidSelectedMixin, AutocompleteSelect):
    pass


class ValidAutocompleteSelectMultiple(_ValidSelectedMixin, AutocompleteSelectMultiple):
    pass


class ValidAutocompleteMixin:
    """Use the widgets above for the ``autocomplete_fields`` of an admin or inline."""

    admin_site: admin.AdminSite

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = ValidAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            kwargs["widget"] = ValidAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
