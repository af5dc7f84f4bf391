"""The nights the clocks change, and the table of time computations tried on each of them.

Every time computation of the portal (a window, a deadline, a "run every N days", a day's
bounds, ...) registers one check here with ``@time_computation("name")``;
``tests/test_time_changes.py`` runs each check on every night of ``CHANGE_NIGHTS``, in that
night's zone, so a new computation joins by adding one decorated function.

The zones have different rules: Europe/Dublin changes at 01:00 UTC (its summer time is the
standard time in the tz database), America/New_York at 02:00 local time, America/Santiago at
local midnight (so a whole local day starts at 01:00 once a year).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.test import override_settings
from django.utils import timezone


@dataclass(frozen=True)
class ChangeNight:
    zone_name: str
    change_at: datetime  # the UTC instant the clocks change
    direction: str  # "forward" (an hour skipped) | "back" (an hour repeated)

    def __str__(self) -> str:
        return f"{self.zone_name}-{self.change_at:%Y-%m-%d}-{self.direction}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    @property
    def jump(self) -> timedelta:
        """How far the wall clock moves at the change (positive forward)."""
        before = self.change_at - timedelta(seconds=1)
        offset_after = self.change_at.astimezone(self.zone).utcoffset()
        offset_before = before.astimezone(self.zone).utcoffset()
        assert offset_after is not None and offset_before is not None
        return offset_after - offset_before

    @property
    def start(self) -> datetime:
        """An instant 90 minutes before the change (UTC): windows from here cross it."""
        return self.change_at - timedelta(minutes=90)

    def wall(self, moment: datetime) -> datetime:
        """The naive local wall time of an instant in this zone."""
        return moment.astimezone(self.zone).replace(tzinfo=None, fold=0)

    @property
    def local_day(self) -> date:
        """The local date that is 23 or 25 hours long (for Santiago, whose clocks change at
        midnight: the day that starts at 01:00, or the day whose last hour is repeated)."""
        if self.direction == "forward":
            return self.wall(self.change_at).date()
        return self.wall(self.change_at - timedelta(seconds=1)).date()

    @property
    def odd_wall(self) -> datetime:
        """A wall time that does not exist (forward) or exists twice (back) that night."""
        if self.direction == "forward":
            return self.wall(self.change_at - timedelta(minutes=30)) + timedelta(hours=1)
        return self.wall(self.change_at + timedelta(minutes=30))

    @contextlib.contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        """Run with TIME_ZONE set to this zone and the clock stopped at ``moment``."""
        with (
            override_settings(TIME_ZONE=self.zone_name),
            timezone.override(self.zone),
            time_machine.travel(moment, tick=False),
        ):
            yield


CHANGE_NIGHTS: tuple[ChangeNight, ...] = (
    ChangeNight("Europe/Dublin", datetime(2027, 3, 28, 1, 0, tzinfo=UTC), "forward"),
    ChangeNight("Europe/Dublin", datetime(2027, 10, 31, 1, 0, tzinfo=UTC), "back"),
    ChangeNight("America/New_York", datetime(2027, 3, 14, 7, 0, tzinfo=UTC), "forward"),
    ChangeNight("America/New_York", datetime(2027, 11, 7, 6, 0, tzinfo=UTC), "back"),
    ChangeNight("America/Santiago", datetime(2027, 4, 4, 3, 0, tzinfo=UTC), "back"),
    ChangeNight("America/Santiago", datetime(2027, 9, 5, 4, 0, tzinfo=UTC), "forward"),
)

TimeCheck = Callable[[ChangeNight], None]
TIME_COMPUTATIONS: dict[str, TimeCheck] = {}


def time_computation(name: str) -> Callable[[TimeCheck], TimeCheck]:
    """Register ``check(night)`` as the table's row ``name``: it sets up what it needs (the
    database is available), runs one time computation across ``night`` and asserts."""

    def register(check: TimeCheck) -> TimeCheck:
        assert name not in TIME_COMPUTATIONS, f"{name} is registered twice"
        TIME_COMPUTATIONS[name] = check
        return check

    return register
