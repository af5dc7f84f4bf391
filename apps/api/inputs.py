"""From a JSON body to the portal's own forms, so that the API accepts and refuses exactly
what the pages do, with the same messages.

A JSON object's values, once their JSON types are checked against the body the endpoint
documents (``body_fields_check``), become the strings a browser would send (numbers written
out, ``null`` and absent alike). The caller maps the form's field names to the API's in the errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers

from jitportal.inputs import parse_id

from .problems import Problem

T = TypeVar("T")


def body_object(request: Any) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is an empty object)."""
    data = request.data
    if data is None or data == {}:
        return {}
    if not isinstance(data, dict):
        raise Problem.invalid([(None, _("Send a JSON object."))])
    return data


def body_fields_check(request: Any, serializer: Any, answer: Any = None) -> None:
    """Refuse a body naming a field that ``serializer`` (the body the endpoint documents; None:
    it takes no field) does not take: 400 with one error per such field (RFC 9457
    ``errors``, a JSON Pointer each), before anything is done. A field read-only in the body
    or in ``answer`` (the serializer of what the endpoint answers, e.g. ``status``) is told
    that it cannot be set; any other that it is unknown, with the fields taken. Then a value
    of the wrong JSON type for its field (``value_type_error``) is refused the same way.

    A misspelt field (``end_at`` for ``ends_at``) is never silently dropped, so the caller
    never gets a default they did not ask for."""
    body = body_object(request)
    fields = serializer().fields if serializer is not None else {}
    writable = [name for name, field in fields.items() if not field.read_only]
    shown = set(fields) | (set(answer().fields) if answer is not None else set())
    errors: list[tuple[str | None, str]] = []
    for key in body:
        name = str(key)
        if name in writable:
            continue
        if name in shown:
            message = _("“%(field)s” cannot be set: leave it out.") % {"field": name[:100]}
        elif writable:
            message = _("“%(field)s” is not a field of this request; it takes: %(fields)s.") % {
                "field": name[:100],
                "fields": ", ".join(writable),
            }
        else:
            message = _("“%(field)s” is not taken here: this request takes no fields.") % {
                "field": name[:100]
            }
        errors.append((name, message))
    if errors:
        raise Problem.invalid(
            errors,
            detail=_("Leave out what this request does not take: %(fields)s.")
            % {"fields": ", ".join(f"“{field[:100]}”" for field, _m in errors if field)},
        )
    wrong = [
        (name, m) for name in writable if (m := value_type_error(fields[name], body.get(name)))
    ]
    if wrong:
        raise Problem.invalid(wrong)


INT64 = range(-(2**63), 2**63)


def value_type_error(field: Any, value: Any) -> str | None:
    """Why a JSON value is of the wrong type for a body field (RFC 8259 types against the
    field's kind in the schema), or None: text for text and for a date (ISO 8601), a whole
    number within 64 bits (or its text) for an integer, a number or its text for a decimal;
    ``null`` is the field left out. What the value means is the form's to judge."""
    if value is None:
        return None
    if isinstance(value, list | dict):
        return _("Give a single value, not a list or an object.")
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else _("Give true or false.")
    if isinstance(field, serializers.IntegerField):
        if isinstance(value, str):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return None if value in INT64 else _("Give a whole number of at most 19 digits.")
        return _("Give a whole number.")
    if isinstance(field, serializers.DecimalField | serializers.FloatField):
        ok = isinstance(value, str | int | float) and not isinstance(value, bool)
        return None if ok else _("Give a number.")
    if isinstance(field, serializers.DateTimeField):
        if isinstance(value, str):
            return None
        return _("Give a date and time as text (ISO 8601), e.g. 2026-06-01T09:00:00+02:00.")
    if isinstance(field, serializers.CharField):
        return None if isinstance(value, str) else _("Give text (a JSON string).")
    return None


def form_value(value: Any) -> str | None:
    """The text a form field receives for a JSON value; None for a list or an object, which
    no field of the portal takes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, str | int | float):
        return str(value)
    return None


def form_data(body: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
    """``fields`` maps API names to form names. Keys it does not name were refused before
    the view ran (``body_fields_check``)."""
    data: dict[str, str] = {}
    wrong: list[tuple[str | None, str]] = []
    for api, form in fields.items():
        if api not in body:
            continue
        value = form_value(body[api])
        if value is None:
            wrong.append((api, _("Give a single value, not a list or an object.")))
        else:
            data[form] = value
    if wrong:
        raise Problem.invalid(wrong)
    return data


def id_fields_check(body: dict[str, Any], names: tuple[str, ...]) -> None:
    """Refuse every field of ``names`` present in ``body`` that is not an id (a JSON whole
    number, or ASCII digits, from 1): a boolean, a fraction, an overflowing number or text
    never reaches a form, whose message would repeat it in the form's own spelling
    ("asset-inf", "role-on"). Absent or null fields are the form's to judge."""
    wrong: list[tuple[str | None, str]] = [
        (name, _("“%(name)s” must be a whole number from 1, in ASCII digits.") % {"name": name})
        for name in names
        if body.get(name) not in (None, "") and parse_id(body[name]) is None
    ]
    if wrong:
        raise Problem.invalid(wrong)


def call_service(
    fn: Callable[..., T],
    *,
    form: Any | None = None,
    field_names: dict[str, str] | None = None,
    **kwargs: Any,
) -> T:
    """Call a service; its refusal becomes the problem the page would show.

    With a ``form``, field errors go onto it first through the form's own mapping
    (``add_service_error``, as the page does), then to the API's names."""
    try:
        return fn(**kwargs)
    except ValidationError as exc:
        if form is not None and hasattr(exc, "error_dict") and hasattr(form, "add_service_error"):
            form.add_service_error(exc)
            raise Problem.from_form(form, field_names) from None
        raise Problem.from_service(exc, field_names) from None
    except PermissionDenied as exc:
        raise Problem.from_service(exc) from None
