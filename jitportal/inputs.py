"""Input the database, ``int()`` or a person's screen cannot take, refused with a clear message.

One place for the rules every channel (portal views, admin pages and actions, forms, services,
management commands) applies to what people and machines type in:

- ids and page numbers are ASCII digits only (``'²'.isdigit()`` is true, ``int('²')`` raises)
  and within the range of the database column (PostgreSQL ``bigint``: 2**63 - 1);
- dates stay far enough from the ends of the calendar that a window or a day added to them
  does not leave ``datetime``'s range (``date(9999, 12, 31) + timedelta(days=1)`` raises);
- free text holds no control characters (C0 except tab, and line breaks where several lines
  are expected; DEL; C1; the Unicode bidirectional overrides used in "Trojan Source"), so
  nothing reaches an email, a log line or a terminal that can move its cursor or recolour it
  (OWASP Logging Cheat Sheet: "sanitise event data to prevent log injection");
- required free text holds at least one visible character: a reason made only of spaces or
  zero-width characters is no reason;
- free text has a bounded length (:data:`TEXT_MAX_LENGTH` for a reason, comment or
  justification; a name or a reference less), checked by the services so that every channel
  (portal, admin, API, Slack, MCP) gets the same message;
- numbers typed as text (hours, minutes, page sizes) are ASCII digits only: ``Decimal('١')``
  and ``int('١')`` read the Arabic-Indic one as 1 (:class:`AsciiNumberMixin`).

NUL (U+0000) is refused earlier, for the whole request, by
:class:`jitportal.middleware.UnstorableInputMiddleware`: PostgreSQL cannot store it in text
(``DataError``).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _

#: Largest value of a PostgreSQL ``bigint`` (Django's BigAutoField, the project's primary key).
BIGINT_MAX = 2**63 - 1
#: Largest value of a PostgreSQL ``integer`` (Django's IntegerField and AutoField).
INTEGER_MAX = 2**31 - 1
#: Largest page number a paginated page accepts; beyond it the last page is shown.
PAGE_MAX = 1_000_000

#: Longest free text accepted from a person or a machine for a reason, a comment or a
#: justification (characters). A name, a title or a reference is shorter (its model's limit).
TEXT_MAX_LENGTH = 2000

#: Longest search accepted from a search box or a ``q`` parameter (characters).
SEARCH_MAX_LENGTH = 200

#: The earliest and latest dates accepted from people: a window, a period or a day added to
#: them stays inside ``datetime``'s range (years 1 to 9999).
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(9000, 12, 31)

FormT = TypeVar("FormT", bound=type)
P = ParamSpec("P")
R = TypeVar("R")

_ASCII_DIGITS = re.compile(r"\A[0-9]{1,19}\Z")
# A decimal number in ASCII: optional sign, digits, optional fraction, optional exponent.
_ASCII_NUMBER = re.compile(r"\A[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?\Z")

# C0 controls except TAB (\t), LF (\n) and CR (\r); DEL; C1 controls; bidirectional
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The same, plus line breaks (LF, CR, U+2028 line and U+2029 paragraph separators).
_CONTROL_SINGLE_LINE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
# Characters of a visible category that still draw nothing: Hangul fillers, braille blank.
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def parse_id(value: Any, *, maximum: int = BIGINT_MAX) -> int | None:
    """The positive integer id ``value`` spells in ASCII digits, or None.

    Accepts an int or a string of ASCII digits ``1..maximum`` (default: PostgreSQL bigint).
    Returns None for anything else: empty, signs, spaces, Unicode digits (``'²'``, ``'٣'``),
    zero, or a value beyond ``maximum``. Never raises.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_DIGITS.match(value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= maximum else None


def by_id_or_name(queryset: Any, ref: str, *, name_field: str = "name") -> Any | None:
    """The row of ``queryset`` a person named by ``ref``: its id (:func:`parse_id`), else its
    exact ``name_field``; None when neither finds one. For commands that take "an id or a
    name" (``purge --rule``, ``connectors_drift --target``)."""
    ref = ref.strip()
    found = None
    row_id = parse_id(ref)
    if row_id is not None:
        found = queryset.filter(pk=row_id).first()
    if found is None and ref:
        found = queryset.filter(**{name_field: ref}).first()
    return found


def parse_db_integer(value: Any) -> int | None:
    """A signed integer key (a raw table's primary key): ``-?[0-9]+`` in ASCII within the
    range of a PostgreSQL ``bigint``, or None. Never raises."""
    if not isinstance(value, str):
        return None
    digits = value[1:] if value.startswith("-") else value
    if not _ASCII_DIGITS.match(digits):
        return None
    number = int(value)
    return number if -BIGINT_MAX - 1 <= number <= BIGINT_MAX else None


def parse_ids(values: Any, *, maximum: int = BIGINT_MAX) -> list[int] | None:
    """Every id of ``values`` (an iterable of str or int) parsed by :func:`parse_id`.

    Returns the list, or None as soon as one value is not a valid id.
    """
    parsed = []
    for value in values:
        number = parse_id(value, maximum=maximum)
        if number is None:
            return None
        parsed.append(number)
    return parsed


def parse_page(value: Any, *, default: int = 1) -> int:
    """A page number from a query parameter: ASCII digits ``1..PAGE_MAX``, else ``default``.

    Django's ``Paginator.get_page`` turns a number past the end into the last page.
    """
    number = parse_id(value, maximum=PAGE_MAX)
    return default if number is None else number


def parse_bounded_int(value: Any, *, default: int, minimum: int, maximum: int) -> int | None:
    """An integer query parameter (a limit, a count): ASCII digits within ``minimum..maximum``.

    Returns ``default`` when ``value`` is None or empty, None when it is not acceptable.
    """
    if value is None or value == "":
        return default
    if isinstance(value, str) and _ASCII_DIGITS.match(value):
        number = int(value)
        return number if minimum <= number <= maximum else None
    return None


def int_argument(*, minimum: int = 0, maximum: int = BIGINT_MAX) -> Callable[[str], int]:
    """An argparse ``type`` for a whole-number option of a management command: ASCII digits
    within ``minimum..maximum`` (``int()`` alone takes ``'٣'`` and any size); anything else is
    refused with the option's usage message."""

    def convert(value: str) -> int:
        number = parse_bounded_int(value, default=-1, minimum=minimum, maximum=maximum)
        if number is None or value == "":
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {minimum} to {maximum}, not {value!r}"
            )
        return number

    convert.__name__ = "whole number"
    return convert


def date_in_range(value: date | datetime) -> bool:
    """Whether ``value`` lies between :data:`DATE_MIN` and :data:`DATE_MAX` (inclusive)."""
    day = value.date() if isinstance(value, datetime) else value
    return DATE_MIN <= day <= DATE_MAX


def validate_date_range(value: date | datetime | None) -> None:
    """Django validator: refuse a date outside :data:`DATE_MIN`..:data:`DATE_MAX`."""
    if value is not None and not date_in_range(value):
        raise ValidationError(
            _("Enter a date between %(min)s and %(max)s."),
            code="date_out_of_range",
            params={"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()},
        )


def has_visible_text(value: str) -> bool:
    """Whether ``value`` holds at least one character a screen draws.

    Visible: a letter, digit, punctuation mark or symbol (Unicode categories L, N, P, S),
    except the blank look-alikes (Hangul fillers, braille blank). Spaces, zero-width
    characters (Cf), combining marks alone and control characters are not visible.
    """
    for char in value:
        if char in _BLANK_LOOKALIKES:
            continue
        if unicodedata.category(char)[0] in "LNPS":
            return True
    return False


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    if not name:
        name = {"\x1b": "ESCAPE", "\x00": "NUL", "\x7f": "DELETE"}.get(char, "control character")
    return f"U+{ord(char):04X} {name}"


def is_ascii_number(value: str) -> bool:
    """Whether ``value`` (surrounding spaces aside) is a decimal number in ASCII digits:
    ``4``, ``0.5``, ``-1``, ``1e3``; not ``١``, ``²``, ``１``, ``NaN`` or ``Infinity``."""
    return bool(_ASCII_NUMBER.match(value.strip()))


def length_problem(value: str, *, max_length: int) -> str | None:
    """A sentence saying ``value`` is longer than ``max_length`` characters, or None."""
    if len(value) <= max_length:
        return None
    return _(
        "This text is %(length)s characters long; at most %(max)s characters are accepted."
    ) % {"length": len(value), "max": max_length}


def text_problem(
    value: str,
    *,
    multiline: bool = True,
    required: bool = False,
    max_length: int | None = None,
) -> str | None:
    """What is wrong with free text ``value``, as a sentence for the person, or None.

    ``multiline``: line breaks and tabs are allowed (a justification, a reason); otherwise
    only tab is (a name, a title). ``required``: at least one visible character is needed.
    ``max_length``: the most characters accepted (checked first: a long text is not scanned).
    """
    if max_length is not None and (too_long := length_problem(value, max_length=max_length)):
        return too_long
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL_SINGLE_LINE
    found = pattern.search(value)
    if found:
        params = {"character": _describe(found.group()), "position": found.start() + 1}
        if multiline:
            return (
                _(
                    "Remove the control character %(character)s at position %(position)s; only "
                    "visible text, spaces and line breaks and tabs are accepted."
                )
                % params
            )
        return (
            _(
                "Remove the control character %(character)s at position %(position)s; only "
                "visible text, spaces and tabs are accepted."
            )
            % params
        )
    if required and not has_visible_text(value):
        return _("Enter visible text: spaces and invisible characters alone are not accepted.")
    return None


def text_validate(
    value: str,
    *,
    multiline: bool = True,
    required: bool = False,
    max_length: int | None = None,
) -> None:
    """Raise ``ValidationError`` (code ``"text"``) when :func:`text_problem` finds one."""
    problem = text_problem(value, multiline=multiline, required=required, max_length=max_length)
    if problem:
        raise ValidationError(problem, code="text")


@deconstructible
class TextValidator:
    """Django validator for a free-text field: see :func:`text_problem`.

    Blank values pass (``required`` is the field's own business); a non-blank value must
    hold a visible character when ``required`` is true.
    """

    def __init__(self, *, multiline: bool = True, required: bool = True) -> None:
        self.multiline = multiline
        self.required = required

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str) or value == "":
            return
        text_validate(value, multiline=self.multiline, required=self.required)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TextValidator)
            and other.multiline == self.multiline
            and other.required == self.required
        )

    def __hash__(self) -> int:
        return hash((self.multiline, self.required))


validate_single_line_text = TextValidator(multiline=False)
validate_multiline_text = TextValidator(multiline=True)


class AsciiNumberMixin:
    """For a form's IntegerField or DecimalField: a value typed in anything but ASCII digits
    (``١``, ``²``, ``１``) is the field's "Enter a number" error, where ``int()`` and
    ``Decimal()`` would read some of them as numbers."""

    error_messages: dict[str, Any]

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not is_ascii_number(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)  # type: ignore[misc]


class AsciiIntegerField(AsciiNumberMixin, forms.IntegerField):
    """An IntegerField that takes ASCII digits only (see :class:`AsciiNumberMixin`)."""


class AsciiDecimalField(AsciiNumberMixin, forms.DecimalField):
    """A DecimalField that takes ASCII digits only (see :class:`AsciiNumberMixin`)."""


class IdChoiceField(forms.ModelChoiceField):
    """A model choice given by its id in ASCII digits within a PostgreSQL bigint: the
    primary key's ``int()`` would read ``١`` as 1, and a longer number never names a row.
    Anything else is the field's "invalid choice" error, before any query."""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or parse_id(value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


def bounded_text(form_class: FormT) -> FormT:
    """Class decorator for a form (a ModelForm above all, whose model ``TextField`` gives a
    CharField without a limit): every text field without a ``max_length`` gets
    :data:`TEXT_MAX_LENGTH`, with Django's own "at most N characters" message and the
    browser's ``maxlength``. JSON fields are left to their own structure checks."""
    fields: dict[str, forms.Field] = form_class.base_fields  # type: ignore[attr-defined]
    for field in fields.values():
        if (
            isinstance(field, forms.CharField)
            and not isinstance(field, forms.JSONField)
            and field.max_length is None
        ):
            field.max_length = TEXT_MAX_LENGTH
            field.validators.append(MaxLengthValidator(TEXT_MAX_LENGTH))
            field.widget.attrs.update(field.widget_attrs(field.widget))
    return form_class


def search_problem(value: str) -> str | None:
    """What is wrong with a search ``value`` (a search box, ``?q=``, an API filter), or None.

    One line of visible text, spaces and tabs, at most :data:`SEARCH_MAX_LENGTH` characters:
    the rule of :func:`text_problem` for a single line. An empty search is no problem.
    """
    return text_problem(value, multiline=False, max_length=SEARCH_MAX_LENGTH)


@dataclass(frozen=True)
class TextRule:
    """How a service checks one free-text parameter: ``multiline`` (line breaks and tabs
    allowed) and ``max_length`` in characters (see :func:`text_problem`)."""

    multiline: bool = True
    max_length: int = TEXT_MAX_LENGTH


#: A reason, a note, a comment: several lines, at most :data:`TEXT_MAX_LENGTH` characters.
PROSE = TextRule()


def line_of(model: type, field_name: str) -> TextRule:
    """A name, a title or a reference stored in ``model.field_name``: one line of at most
    the field's ``max_length`` characters (never more than :data:`TEXT_MAX_LENGTH`)."""
    max_length = getattr(model._meta.get_field(field_name), "max_length", None)  # type: ignore[attr-defined]
    return TextRule(multiline=False, max_length=min(max_length or TEXT_MAX_LENGTH, TEXT_MAX_LENGTH))


#: Every service checked by :func:`checks_text`: the function (as decorated) and its rules.
TEXT_SERVICES: dict[Callable[..., Any], dict[str, TextRule]] = {}


def text_errors(rules: dict[str, TextRule], values: dict[str, Any]) -> dict[str, str]:
    """``{parameter: message}`` for each string of ``values`` its rule refuses."""
    errors = {}
    for name, rule in rules.items():
        value = values.get(name)
        if isinstance(value, str) and (
            problem := text_problem(value, multiline=rule.multiline, max_length=rule.max_length)
        ):
            errors[name] = problem
    return errors


def model_text_errors(instance: Any) -> dict[str, str]:
    """``{field: message}`` for each editable ``TextField`` of a model ``instance`` that
    :data:`PROSE` refuses: a model ``TextField`` has no length of its own, and
    ``full_clean()`` checks ``CharField`` lengths only. For a service given an instance (a
    rule as it should stand) rather than the text itself."""
    from django.db import models

    texts = {
        field.name: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if isinstance(field, models.TextField) and field.editable
    }
    return text_errors(dict.fromkeys(texts, PROSE), texts)


def checks_text(**rules: TextRule) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator for a public service that takes free text from a person: before the
    service runs (before any query, lock or write), each named parameter given as a string
    is checked by :func:`text_problem` with its :class:`TextRule`, and the call is refused
    with ``ValidationError({parameter: message})`` (translated) when one is over-long or holds
    a control character. Every channel (form, admin, API, command, MCP, Slack) reaches the
    service, so every channel gets the same answer (OWASP Logging Cheat Sheet on injection).

    The service is listed in :data:`TEXT_SERVICES`; ``tests/test_service_text.py`` proves every
    public service with a text parameter is either listed or exempt for a stated reason.
    """

    def decorate(service: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(service)
        unknown = set(rules) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{service.__qualname__} has no parameter {sorted(unknown)}")

        @functools.wraps(service)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind_partial(*args, **kwargs)
            errors = text_errors(rules, bound.arguments)
            if errors:
                raise ValidationError(errors)
            return service(*args, **kwargs)

        TEXT_SERVICES[checked] = dict(rules)
        return checked

    return decorate
