"""The project's own app: input rules applied to every model and admin of the site."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.apps import AppConfig, apps
from django.db import models

from jitportal.forms import StrictJSONField
from jitportal.inputs import TextValidator, validate_date_range


def model_input_validators_install() -> int:
    """Give every editable field people type into, on every installed model (third-party
    apps included), the input rules of :mod:`jitportal.inputs`; returns how many fields got
    a validator.

    - ``CharField`` and ``TextField`` (without choices): a :class:`TextValidator`, one line
      for a CharField, several for a TextField, visible text when the field may not be blank;
    - ``DateField`` and ``DateTimeField``: :func:`validate_date_range`;
    - ``JSONField``: :class:`jitportal.forms.StrictJSONField` as its form field.

    The validator is added to the field's validator list at start-up, not to its definition,
    so migrations do not change; it runs wherever Django validates a model (``full_clean``:
    every ModelForm, the admin's add and change forms, services that call ``full_clean``).
    """
    count = 0
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.get_fields():
            if not isinstance(field, models.Field) or not field.editable:
                continue
            if isinstance(field, models.JSONField) and not isinstance(
                getattr(field, "formfield", None), partial
            ):
                # Its form field refuses NaN, huge and deeply nested JSON with a message.
                field.formfield = partial(type(field).formfield, field, form_class=StrictJSONField)  # type: ignore[method-assign]
                count += 1
                continue
            validator: Any
            if isinstance(field, models.CharField | models.TextField) and not field.choices:
                validator = TextValidator(
                    multiline=isinstance(field, models.TextField), required=not field.blank
                )
            elif isinstance(field, models.DateField):  # DateTimeField included
                validator = validate_date_range
            else:
                continue
            validators = field.validators  # a cached list; the definition keeps _validators
            if validator not in validators:
                validators.append(validator)
                count += 1
    return count


class JitportalConfig(AppConfig):
    name = "jitportal"
    verbose_name = "jitportal"

    def ready(self) -> None:
        from django.contrib import admin

        from jitportal.admin_base import admin_inlines_bound

        model_input_validators_install()
        # After every app's admin module is imported (the admin app autodiscovers first).
        admin_inlines_bound(admin.site)
