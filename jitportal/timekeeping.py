"""Elapsed time and calendar slots: every time computation of the portal goes through here.

Two kinds of time, never mixed:

* **Elapsed time** (durations): access windows, maximum durations, lapse deadlines, reminders,
  expiry warnings, break-glass limits, extensions, ages. Computed on UTC instants, so 8 hours
  are 8 hours on the nights the clocks change. Python's own arithmetic on aware datetimes is
  *wall-clock* arithmetic when both sides share a ``tzinfo`` (Python documentation,
  ``datetime`` "Supported operations": the offsets are ignored), so ``local + timedelta(hours=8)``
  is 7 or 9 real hours across a change; ``elapsed_add`` and ``elapsed_between`` are not.
* **Calendar slots**: what people state on the calendar in ``TIME_ZONE`` ("nightly at 02:30",
  "every N days", "30 days back", "the whole of 12 March"). Decided on local dates and local
  wall times, so a nightly schedule neither runs twice nor skips a night.

Local wall times that do not exist (the hour skipped when clocks go forward) or exist twice (the
hour repeated when they go back) are handled explicitly: ``local_moment`` refuses them with
``LocalTimeError`` (forms show its message), and ``local_slot`` resolves them by a documented
choice for schedules: a skipped time runs at the change itself (as cron does), a repeated time
at its first occurrence.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

__all__ = [
    "UTC",
    "LocalTimeError",
    "as_utc",
    "calendar_days_back",
    "calendar_days_between",
    "calendar_months_back",
    "crontab_next_slot",
    "day_bounds",
    "day_start",
    "elapsed_add",
    "elapsed_between",
    "local_date",
    "local_moment",
    "local_slot",
]


class LocalTimeError(ValueError):
    """A local wall time that does not exist or exists twice in the zone; ``str()`` says which,
    for a person."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code  # "nonexistent" | "ambiguous"


def _zone(tz: tzinfo | None) -> tzinfo:
    return tz if tz is not None else timezone.get_current_timezone()


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC. Raises ``ValueError`` for a naive datetime (no instant)."""
    if timezone.is_naive(moment):
        raise ValueError(f"{moment!r} is naive: it names no instant")
    return moment.astimezone(UTC)


def elapsed_between(start: datetime, end: datetime) -> timedelta:
    """Real time from ``start`` to ``end`` (negative when ``end`` is earlier), whatever zones
    the two carry."""
    return as_utc(end) - as_utc(start)


def elapsed_add(moment: datetime, duration: timedelta) -> datetime:
    """The instant ``duration`` of real time after ``moment`` (before it for a negative one),
    in UTC. Raises ``OverflowError`` past the year 9999."""
    return as_utc(moment) + duration


def _wall(moment: datetime, tz: tzinfo) -> datetime:
    # Through UTC: astimezone() to the zone a value already carries changes nothing.
    return moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None, fold=0)


def _problem(naive: datetime, tz: tzinfo) -> str | None:
    """None, "nonexistent" or "ambiguous" for a naive wall time in ``tz``."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if _wall(first, tz) != naive.replace(fold=0) or _wall(second, tz) != naive.replace(fold=0):
        return "nonexistent"
    if first.utcoffset() != second.utcoffset():
        return "ambiguous"
    return None


def _zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


def local_moment(naive: datetime, tz: tzinfo | None = None) -> datetime:
    """A wall time a person typed, as an aware datetime in ``tz`` (default: the current zone).

    Raises ``LocalTimeError`` when the wall time does not exist (clocks go forward over it) or
    exists twice (clocks go back over it): the person chooses, nothing is shifted silently.
    An aware value is returned unchanged (an explicit UTC offset settles a repeated hour)."""
    if timezone.is_aware(naive):
        return naive
    zone = _zone(tz)
    problem = _problem(naive, zone)
    shown = f"{naive:%Y-%m-%d %H:%M}"
    if problem == "nonexistent":
        raise LocalTimeError(
            _(
                "%(time)s does not exist in %(zone)s: the clocks go forward over it that "
                "night. Choose a time after the change."
            )
            % {"time": shown, "zone": _zone_name(zone)},
            code=problem,
        )
    if problem == "ambiguous":
        first = naive.replace(tzinfo=zone, fold=0).isoformat(timespec="minutes")
        second = naive.replace(tzinfo=zone, fold=1).isoformat(timespec="minutes")
        raise LocalTimeError(
            _(
                "%(time)s happens twice in %(zone)s: the clocks go back over it that night. "
                "Give it with its UTC offset (%(first)s for the first, %(second)s for the "
                "second) or choose another time."
            )
            % {"time": shown, "zone": _zone_name(zone), "first": first, "second": second},
            code=problem,
        )
    return naive.replace(tzinfo=zone, fold=0)


def _gap_end(naive: datetime, tz: tzinfo) -> datetime:
    """The instant the clocks went forward over a nonexistent ``naive`` wall time (UTC)."""
    # Before the gap (fold=1 takes the later offset) and after it (fold=0 the earlier one).
    low = as_utc(naive.replace(tzinfo=tz, fold=1))
    high = as_utc(naive.replace(tzinfo=tz, fold=0))
    if low > high:
        low, high = high, low
    target = naive.replace(fold=0)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _wall(middle, tz) < target:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def local_slot(naive: datetime, tz: tzinfo | None = None) -> datetime:
    """The instant of a calendar slot (a schedule's local wall time), in UTC.

    A wall time skipped by the clocks going forward is the change itself (the slot still
    happens, as cron runs it); one repeated when they go back is its first occurrence (the slot
    happens once)."""
    zone = _zone(tz)
    if _problem(naive, zone) == "nonexistent":
        return _gap_end(naive, zone)
    return as_utc(naive.replace(tzinfo=zone, fold=0))


def local_date(moment: datetime, tz: tzinfo | None = None) -> date:
    """The calendar date of an instant in ``tz`` (default: the current zone)."""
    return as_utc(moment).astimezone(_zone(tz)).date()


def day_start(day: date, tz: tzinfo | None = None) -> datetime:
    """The first instant of a local calendar day, in UTC (midnight, or the change where a
    zone skips midnight)."""
    return local_slot(datetime.combine(day, time.min), tz)


def day_bounds(first: date, last: date, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The half-open UTC range [start of ``first``, start of the day after ``last``): whole
    local days, 23 or 25 hours long on the change days."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def calendar_days_between(earlier: datetime, later: datetime, tz: tzinfo | None = None) -> int:
    """How many local calendar days lie between the dates of two instants (0 on the same day)."""
    return (local_date(later, tz) - local_date(earlier, tz)).days


def calendar_days_back(moment: datetime, days: int, tz: tzinfo | None = None) -> datetime:
    """The same local wall time ``days`` calendar days before ``moment``, in UTC (resolved by
    ``local_slot`` when that wall time is skipped or repeated)."""
    zone = _zone(tz)
    wall = _wall(as_utc(moment), zone)
    return local_slot(wall - timedelta(days=days), zone)


def calendar_months_back(moment: datetime, months: int, tz: tzinfo | None = None) -> datetime:
    """The same local wall time ``months`` calendar months before ``moment``, in UTC; the day
    is clamped to the month's last (31 March minus one month is 28/29 February). Counting back
    past the year 1 gives the earliest datetime."""
    zone = _zone(tz)
    wall = _wall(as_utc(moment), zone)
    total = wall.year * 12 + (wall.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    if year < 1:
        return datetime.min.replace(tzinfo=UTC)
    day = min(wall.day, calendar.monthrange(year, month)[1])
    try:
        return local_slot(wall.replace(year=year, month=month, day=day), zone)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def crontab_next_slot(schedule: Any, after: datetime) -> datetime:
    """The first slot of a Celery ``crontab`` schedule after ``after``, in UTC.

    The slot is found on the calendar of the schedule's own zone (``schedule.tz``, the
    ``TIME_ZONE`` by default) and resolved by ``local_slot``."""
    zone = getattr(schedule, "tz", None) or _zone(None)
    wall = _wall(as_utc(after), zone)
    # Celery walks the calendar in wall time; a naive start keeps it there.
    last, delta, _now = schedule.remaining_delta(wall.replace(tzinfo=zone), tz=zone)
    slot = (last + delta).replace(tzinfo=None, fold=0)
    return local_slot(slot, zone)
