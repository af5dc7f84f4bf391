"""One way to show a date and a time to a person, everywhere (portal, admin, emails, messages).

``FORMAT_MODULE_PATH`` points Django at the modules below, so the admin's own dates and the
templates' ``|date:"DATETIME_FORMAT"`` agree; a time always carries its zone, because the
people who read a window (staff, approvers, the DPO) may sit in another one than the
portal's ``TIME_ZONE``. Machine-readable values (exports, JSON, the audit trail) stay ISO 8601.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from django.utils.formats import date_format


def datetime_display(value: datetime) -> str:
    """``value`` in the portal's time zone, as ``DATETIME_FORMAT``: "5 Mar 2027, 14:30 CET"."""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def date_display(value: date | datetime) -> str:
    """A calendar date (a datetime is first put in the portal's time zone): "5 Mar 2027"."""
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return date_format(value, "DATE_FORMAT")
