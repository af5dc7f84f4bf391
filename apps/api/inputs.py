"""From a JSON body to the portal's own forms, so that the API accepts and refuses exactly
what the pages do, with the same messages.

A JSON object's values become the strings a browser would send (numbers written out, ``null``
and absent alike). The caller maps the form's field names to the API's in the errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

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
    """``fields`` maps API names to form names; unknown keys are ignored."""
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
