"""Calendar arithmetic for retention periods: days, months and years back from now."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from django.db import models
from django.utils import timezone


def _months_back(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    if year < 1:
        return moment.replace(year=1, month=1, day=1)
    # 31 March minus one month is 28/29 February, not an error.
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def cutoff_for(*, now: datetime, amount: int, unit: str) -> datetime:
    """The moment before which rows are past their period (in the current time zone)."""
    local = timezone.localtime(now) if timezone.is_aware(now) else now
    if unit == "days":
        return local - timedelta(days=amount)
    if unit == "months":
        return _months_back(local, amount)
    if unit == "years":
        return _months_back(local, 12 * amount)
    raise ValueError(f"unknown period unit {unit!r}")


def period_days(*, now: datetime, amount: int, unit: str) -> int:
    """How many whole days the period spans when counted back from ``now``."""
    return (now - cutoff_for(now=now, amount=amount, unit=unit)).days


def is_date_only(field: models.Field) -> bool:
    """A DateField (not a DateTimeField): compared with a date cutoff."""
    return isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField)


def cutoff_value(cutoff: datetime, *, date_only: bool) -> date | datetime:
    """What rows are compared with: the local calendar day for a date column."""
    return (
        timezone.localtime(cutoff).date()
        if date_only and timezone.is_aware(cutoff)
        else (cutoff.date() if date_only else cutoff)
    )
