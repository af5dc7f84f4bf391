"""Form fields every app shares: a date and time typed in the portal's time zone."""

from __future__ import annotations

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
