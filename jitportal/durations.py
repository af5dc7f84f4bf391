"""The one way a length of time is written out for people, in their language.

``duration_text(timedelta(hours=26, minutes=30))`` gives "1 day 2 hours 30 minutes" (every
unit, exact to the minute: policies, limits, refusals); with ``rounded=True`` one unit,
rounded ("45 s", "30 min", "3.2 h", "3.0 days": ages and medians on dashboards).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext

# Shown where there is no duration at all.
NO_DURATION = "—"


def _whole_units(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(count)s day", "%(count)s days", days) % {"count": days})
    if hours:
        parts.append(ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours})
    if minutes:
        parts.append(
            ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
        )
    if not parts:
        return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}
    return " ".join(parts)


def _one_unit(delta: timedelta) -> str:
    if delta < timedelta(minutes=1):
        return gettext("%(count)s s") % {"count": delta.seconds}
    if delta < timedelta(hours=1):
        return gettext("%(count)s min") % {"count": delta.seconds // 60}
    if delta < timedelta(days=2):
        hours = number_format(round(delta.total_seconds() / 3600, 1), decimal_pos=1)
        return gettext("%(count)s h") % {"count": hours}
    days = number_format(round(delta.total_seconds() / 86400, 1), decimal_pos=1)
    return gettext("%(count)s days") % {"count": days}


def duration_text(
    value: timedelta | float | None, *, rounded: bool = False, empty: str = NO_DURATION
) -> str:
    """``value`` (a timedelta, or seconds) written out; ``empty`` for None.

    Exact (default): every non-zero unit from days to minutes, "N seconds" below a minute.
    ``rounded``: the largest fitting unit with one decimal for hours and days.
    """
    if value is None:
        return empty
    delta = value if isinstance(value, timedelta) else timedelta(seconds=round(value))
    if rounded:
        return _one_unit(timedelta(seconds=round(delta.total_seconds())))
    return _whole_units(int(delta.total_seconds()))
