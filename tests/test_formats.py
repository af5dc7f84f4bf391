"""One date and time format everywhere, a time always with its zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from jitportal.formats import date_display, datetime_display
from tests.access.factories import GrantFactory
from tests.factories import DataAssetFactory

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
NAMED = {"DATE_FORMAT", "DATETIME_FORMAT", "TIME_FORMAT", "c"}


def test_no_template_writes_a_date_format_of_its_own():
    # every |date in every template names one of the shared formats (or ISO 8601 for machines)
    found = []
    for path in TEMPLATES.rglob("*"):
        if path.is_file():
            for fmt in re.findall(r"\|date(?::[\"']([^\"']*)[\"'])?", path.read_text()):
                if fmt not in NAMED:
                    found.append(f"{path.relative_to(TEMPLATES)}: |date:{fmt!r}")
    assert found == []


@pytest.mark.parametrize(
    ("zone", "when", "shown"),
    [
        ("Europe/Dublin", datetime(2027, 1, 15, 9, 30, tzinfo=UTC), "15 Jan 2027, 09:30 GMT"),
        ("Europe/Dublin", datetime(2027, 7, 15, 9, 30, tzinfo=UTC), "15 Jul 2027, 10:30 IST"),
        ("Europe/Berlin", datetime(2027, 7, 15, 9, 30, tzinfo=UTC), "15 Jul 2027, 11:30 CEST"),
        ("UTC", datetime(2027, 7, 15, 9, 30, tzinfo=UTC), "15 Jul 2027, 09:30 UTC"),
    ],
)
def test_a_time_is_shown_in_the_portals_zone_with_the_zone(settings, zone, when, shown):
    settings.TIME_ZONE = zone
    assert datetime_display(when) == shown
    assert date_display(when) == shown.split(",")[0]


@pytest.mark.django_db
def test_the_portal_and_the_admin_show_the_same_format_with_the_zone(
    client, settings, staff_user, approver
):
    # given a live grant, seen from Dublin in summer
    settings.TIME_ZONE = "Europe/Dublin"
    start = datetime(2027, 7, 15, 8, 0, tzinfo=UTC)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        grant = GrantFactory(
            user=staff_user,
            assets=[DataAssetFactory()],
            starts_at=start,
            ends_at=start + timedelta(hours=4),
        )
        # then the staff member's home page shows its end with the zone
        client.force_login(staff_user)
        assert "15 Jul 2027, 13:00 IST" in client.get(reverse("portal-home")).content.decode()
        # and the admin's page of the grant shows both ends in the same format
        client.force_login(approver)
        body = client.get(reverse("admin:access_grant_change", args=[grant.pk])).content.decode()
        assert "15 Jul 2027, 09:00 IST" in body and "15 Jul 2027, 13:00 IST" in body


# Machine-facing texts keep a fixed, sortable form: the audit trail's target label of a grant
# (written in bulk by the reconcile) and the audit search command's listing.
MACHINE_TEXT = {
    "apps/access/models/grants.py",
    "apps/audit/management/commands/audit_search_term.py",
}


def test_no_message_formats_a_time_of_its_own():
    # every time a person reads in a message, a page or a command's output goes through
    # jitportal.formats, so it has the one format and its zone
    root = Path(__file__).resolve().parents[1]
    found = []
    for path in sorted((root / "apps").rglob("*.py")):
        relative = str(path.relative_to(root))
        if "/migrations/" in relative or relative in MACHINE_TEXT:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            # (file names carry a compact stamp, "%Y%m%d-%H%M", which is not for reading)
            if "%Y%m%d" in line:
                continue
            if re.search(r"\{[^{}]*:%[^{}]*%H[^{}]*\}|strftime\([^)]*%H", line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("de", "15. Juli 2027, 11:30 CEST"),
        ("fr", "15 juil. 2027, 11:30 CEST"),
        ("en-gb", "15 Jul 2027, 11:30 CEST"),
    ],
)
def test_german_and_french_readers_get_their_own_date_with_the_zone(settings, language, shown):
    # given the portal in Berlin, when a German, French or English reader sees a time,
    settings.TIME_ZONE = "Europe/Berlin"
    with translation.override(language):
        # then it is written as they write dates, with the zone
        assert datetime_display(datetime(2027, 7, 15, 9, 30, tzinfo=UTC)) == shown
