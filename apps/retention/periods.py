"""Calendar arithmetic for retention periods: days, months and years back from now.

A period is a calendar one: "30 days" ends at the same local wall time 30 calendar days back,
whatever the clocks did in between (``jitportal.timekeeping``)."""

from __future__ import annotations

from datetime import date, datetime

from django.db import models
from django.utils import timezone

from jitportal.timekeeping import (
    calendar_days_back,
    calendar_days_between,
    calendar_months_back,
    local_slot,
)


def cutoff_for(*, now: datetime, amount: int, unit: str) -> datetime:
    """The moment before which rows are past their period: the same local wall time (in the
    current time zone) ``amount`` calendar days, months or years back, as an aware UTC datetime
    (``jitportal.timekeeping``; a naive ``now`` is a local wall time). Raises ``ValueError``
    for an unknown unit."""
    if timezone.is_naive(now):
        now = local_slot(now)
    if unit == "days":
        return calendar_days_back(now, amount)
    if unit == "months":
        return calendar_months_back(now, amount)
    if unit == "years":
        return calendar_months_back(now, 12 * amount)
    raise ValueError(f"unknown period unit {unit!r}")


def period_days(*, now: datetime, amount: int, unit: str) -> int:
    """How many calendar days the period spans when counted back from ``now`` (30 for
    "30 days", even across a night the clocks change)."""
    if timezone.is_naive(now):
        now = local_slot(now)
    return calendar_days_between(cutoff_for(now=now, amount=amount, unit=unit), now)


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
