"""Form fields every app shares: a date and time typed in the portal's time zone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from jitportal.timekeeping import LocalTimeError, local_moment

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_INPUT_FORMATS = [
    DATETIME_FORMAT,
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


class WindowDateTimeField(forms.DateTimeField):
    """A date and time in the portal's time zone, within years any window could use.

    A wall time the clocks skip (spring forward) or repeat (fall back) is refused with a message
    that says so (``timekeeping.local_moment``); a repeated one is accepted with its UTC offset
    (``2027-10-31T01:30+00:00``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", DATETIME_INPUT_FORMATS)
        kwargs.setdefault("widget", DateTimeLocalInput())
        super().__init__(**kwargs)

    def _naive(self, value: Any) -> datetime | None:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed
        for fmt in self.input_formats:
            try:
                return datetime.strptime(text, fmt)  # noqa: DTZ007 - local_moment gives the zone
            except (TypeError, ValueError):
                continue
        return None

    def to_python(self, value: Any) -> datetime | None:
        try:
            result = super().to_python(value)
        except ValidationError as exc:
            # Django's own "may be ambiguous or may not exist": say which, and what to do.
            naive = self._naive(value) if exc.code == "ambiguous_timezone" else None
            if naive is None:
                raise
            try:
                result = local_moment(naive)
            except LocalTimeError as problem:
                raise ValidationError(str(problem), code=problem.code) from None
        # Far-off years only overflow the arithmetic below; nobody means them.
        if result is not None and not (1970 <= result.year <= 2999):
            raise ValidationError(
                _("Give a date between the years %(first)s and %(last)s."),
                code="range",
                params={"first": 1970, "last": 2999},
            )
        return result


#: Bounds of JSON typed into a form: characters, and how deep arrays and objects nest.
JSON_MAX_CHARS = 100_000
JSON_MAX_DEPTH = 32


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _depth(value: Any, level: int = 1) -> int:
    if level > JSON_MAX_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict | list):
        return max((_depth(child, level + 1) for child in children), default=level)
    return level - 1


class StrictJSONField(forms.JSONField):
    """Django's JSON form field, refusing with a message what it would store or crash on:
    ``NaN`` and ``Infinity`` (not JSON, RFC 8259 §6; SQLite's JSON_VALID check refuses
    them), text over ``JSON_MAX_CHARS`` characters, and nesting deeper than
    ``JSON_MAX_DEPTH`` (``json.loads`` raises RecursionError on thousands of brackets).
    Every model ``JSONField`` gets it as its form field (``jitportal.apps``)."""

    def _parse(self, value: str) -> Any:
        if len(value) > JSON_MAX_CHARS:
            raise ValidationError(
                _("At most %(count)d characters of JSON.") % {"count": JSON_MAX_CHARS},
                code="too_long",
            )
        try:
            parsed = json.loads(value, cls=self.decoder, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise ValidationError(_("Enter valid JSON."), code="invalid") from None
        if _depth(parsed) > JSON_MAX_DEPTH:
            raise ValidationError(
                _("JSON nested at most %(depth)d levels deep.") % {"depth": JSON_MAX_DEPTH},
                code="too_deep",
            )
        return parsed

    def to_python(self, value: Any) -> Any:
        if not self.disabled and isinstance(value, str) and value not in self.empty_values:
            self._parse(value)
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled or not isinstance(data, str):
            return super().bound_data(data, initial)
        try:
            self._parse(data)
        except ValidationError:
            return forms.fields.InvalidJSONInput(data)
        return super().bound_data(data, initial)
