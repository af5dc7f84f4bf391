"""What leaves the portal in a spreadsheet is data, never a formula (OWASP CSV Injection).

The walk test finds every export at run time: every mounted URL asked for each spreadsheet
format with the parameters the report forms take, every download link on the pages it
sees, and every management command that writes a file in a format. With a formula in every
free-text field, no CSV cell may begin with a formula trigger and no XLSX cell may be a
formula, an error value, or text that begins with a trigger.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from apps.access import services as access_services
from apps.audit.services import audit_event_record
from apps.reports.services import ropa_snapshot_take
from jitportal.spreadsheets import (
    FORMULA_TRIGGERS,
    csv_value,
    spreadsheet_text,
    xlsx_value,
)
from tests.access.factories import AccessRoleFactory
from tests.factories import DataAssetFactory, UserFactory
from tests.hostile import FORMULAS, poison_free_text, unsafe_csv_cells, unsafe_xlsx_cells
from tests.urlwalk import site_urls

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HYPERLINK = FORMULAS[0]


def _body(response) -> bytes:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content)
    return response.content


def _kind(response) -> str | None:
    content_type = response.get("Content-Type", "")
    if content_type.startswith("text/csv"):
        return "csv"
    if content_type.startswith(XLSX):
        return "xlsx"
    return None


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def _download_links(page_path: str, html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    found = []
    for href in parser.links:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            continue
        if "format=" in parts.query or "download" in parts.path or "export" in parts.path:
            path = parts.path or page_path
            found.append(f"{path}?{parts.query}" if parts.query else path)
    return found


# --- the unit: one writer -------------------------------------------------------------------


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_text_that_begins_with_a_trigger_gets_a_quote(trigger):
    assert spreadsheet_text(trigger + "1+1") == "'" + trigger + "1+1"
    assert csv_value(trigger + "x") == "'" + trigger + "x"
    assert spreadsheet_text("a" + trigger) == "a" + trigger
    assert spreadsheet_text("") == ""


def test_computed_numbers_and_dates_keep_their_type():
    today = timezone.localdate()
    assert csv_value(-3) == -3 and csv_value(None) == "" and csv_value(today) == today
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("x")
    assert xlsx_value(ws, -3) == -3 and xlsx_value(ws, 1.5) == 1.5
    assert xlsx_value(ws, today) == today


# --- the example ----------------------------------------------------------------------------


def test_a_justification_formula_reaches_the_auditor_as_text(client, groups, auditor):
    # given a staff member's request whose justification is a formula, granted at once
    staff = UserFactory(username="staff-x", groups=["Staff"])
    asset = DataAssetFactory(name="Customer records")
    role = AccessRoleFactory(name="Lookup", assets=[asset], approvals_required=0)
    now = timezone.now()
    access_services.access_request_submit(
        requester=staff,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        justification=HYPERLINK,
    )
    client.force_login(auditor)
    url = reverse("admin:reports_user_register")
    period = {
        "user": staff.pk,
        "start": (now - timedelta(days=1)).date().isoformat(),
        "end": (now + timedelta(days=1)).date().isoformat(),
    }
    # when the auditor downloads that person's access register as XLSX and as CSV
    xlsx = client.get(url, {**period, "format": "xlsx"})
    text = client.get(url, {**period, "format": "csv"})
    # then the justification is a text cell holding the formula as text, not a formula
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    held = [c for c in cells if HYPERLINK in str(c.value)]
    assert held, "the justification is in the register"
    assert all(c.data_type == "s" and c.value == "'" + HYPERLINK for c in held)
    assert not [c for c in cells if c.data_type == "f"]
    # and the CSV cell begins with a quote, not with "="
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert [cell for row in rows for cell in row if HYPERLINK in cell] == ["'" + HYPERLINK]


# --- the kind: every export -----------------------------------------------------------------


@pytest.fixture
def hostile_world(db, groups):
    """The demo organisation with a formula in every free-text field and audit event."""
    call_command("load_demo", "--force", stdout=io.StringIO(), stderr=io.StringIO())
    for formula in FORMULAS:
        audit_event_record(
            action="test.hostile",
            actor_label=formula,
            reason=formula,
            data={"note": formula},
        )
    assert poison_free_text() > 100
    admin = UserFactory(username="root-x", is_staff=True, is_superuser=True)
    # a snapshot of the poisoned record, taken after the poison
    ropa_snapshot_take(taken_by=admin, processor=False, note=HYPERLINK)
    return admin


def _form_params() -> dict[str, str]:
    """Values for every report form: the person and asset with the most history."""
    from django.db.models import Count

    from apps.inventory.models import DataAsset

    user = get_user_model().objects.annotate(n=Count("grants")).order_by("-n").first()
    asset = DataAsset.objects.annotate(n=Count("grants")).order_by("-n").first()
    today = timezone.localdate()
    return {
        "user": str(user.pk),
        "asset": str(asset.pk),
        "start": (today - timedelta(days=3000)).isoformat(),
        "end": (today + timedelta(days=30)).isoformat(),
    }


_STOCK_ADMIN_VIEWS = ("_changelist", "_add", "_change", "_history", "_delete", "_auditlog")


def _walk_exports(client) -> dict[str, bytes]:
    """Every spreadsheet the site serves: 'path?query' -> body.

    Every URL is fetched; every URL but Django's stock model pages is also asked for CSV
    and XLSX with the report forms' parameters; every download link on an HTML page is
    followed."""
    form = _form_params()
    found: dict[str, bytes] = {}
    seen: set[str] = set()

    def fetch(target: str) -> None:
        if target in seen:
            return
        seen.add(target)
        response = client.get(target)
        kind = _kind(response)
        if kind:
            found[target] = _body(response)
        elif (
            response.get("Content-Type", "").startswith("text/html") and response.status_code == 200
        ):
            path = urlsplit(target).path
            for link in _download_links(path, response.content.decode()):
                fetch(link)

    for url in site_urls():
        if url.name.endswith(("_delete", "logout")):
            continue
        fetch(url.path)
        if not url.name or url.name.endswith(_STOCK_ADMIN_VIEWS):
            # Django's own model pages serve HTML; a download they link is followed above.
            continue
        for fmt in ("csv", "xlsx"):
            query = "&".join(f"{k}={v}" for k, v in {**form, "format": fmt}.items())
            fetch(f"{url.path}?{query}")
    return found


_BASE_OPTIONS = {a.dest for a in BaseCommand().create_parser("manage.py", "base")._actions}


def _command_exports(tmp_path) -> dict[str, bytes]:
    """Every management command of the portal with an --output option, in each spreadsheet
    format it takes (and with each of its flags)."""
    from apps.reports.models import RopaSnapshot

    samples = {"as_at": str(RopaSnapshot.objects.order_by("pk").first().pk)}
    found: dict[str, bytes] = {}
    for name, app in get_commands().items():
        if not app.startswith("apps."):
            continue
        parser = load_command_class(app, name).create_parser("manage.py", name)
        options = {a.dest: a for a in parser._actions}
        if "output" not in options:
            continue
        fmt_dest = next((d for d in ("fmt", "format") if d in options), None)
        assert fmt_dest, f"{name}: writes files but takes no format"
        own = [a for a in parser._actions if a.dest not in _BASE_OPTIONS]
        flags = [a.option_strings[0] for a in own if a.nargs == 0]
        extras = [[]] + [[flag] for flag in flags]
        extras += [
            [a.option_strings[0], samples[a.dest]] for a in parser._actions if a.dest in samples
        ]
        for fmt in ("csv", "xlsx"):
            choices = options[fmt_dest].choices
            if choices is not None and fmt not in choices:
                continue
            for extra in extras:
                out = tmp_path / f"{name}-{fmt}-{len(found)}.{fmt}"
                flag = options[fmt_dest].option_strings[0]
                try:
                    call_command(
                        name,
                        flag,
                        fmt,
                        "--output",
                        str(out),
                        *extra,
                        stdout=io.StringIO(),
                        stderr=io.StringIO(),
                    )
                except CommandError:
                    continue
                found[f"manage.py {name} {flag} {fmt} {' '.join(extra)}"] = out.read_bytes()
    return found


def test_no_export_carries_a_formula(client, hostile_world, tmp_path):
    # given a formula in every free-text field, and a superuser who sees every export
    client.force_login(hostile_world)
    # when every export of the site and of the commands is downloaded
    exports = {**_walk_exports(client), **_command_exports(tmp_path)}
    # then the walk found them all (a walk that finds nothing proves nothing)
    expected = [
        reverse("admin:reports_ropa"),
        reverse("admin:reports_ropa_processor"),
        reverse("admin:reports_user_register"),
        reverse("admin:reports_asset_register"),
        reverse("admin:reports_privileges"),
        reverse("admin:reports_approvals"),
        "/download/",
        reverse("admin:audit_auditevent_export"),
        reverse("reports:audit-feed"),
        "manage.py ropa",
        "manage.py audit_export",
    ]
    for fmt in ("csv", "xlsx"):
        for where in expected:
            if fmt == "xlsx" and "audit" in where:
                continue
            assert any(where in k and fmt in k for k in exports), (where, fmt)
    # and each carried hostile text, none of it as a formula
    hostile = 0
    problems = {}
    for where, body in exports.items():
        is_xlsx = body[:2] == b"PK"
        if not is_xlsx:
            hostile += "'=HYPERLINK" in body.decode("utf-8-sig")
        bad = unsafe_xlsx_cells(body) if is_xlsx else unsafe_csv_cells(body)
        if bad:
            problems[where] = bad[:3]
    assert not problems, problems
    assert hostile >= 10


@pytest.mark.postgres
def test_audit_csv_escapes_the_same_way_on_both_paths(db):
    # given events whose free text starts with every trigger
    from apps.audit.exports import audit_export_chunks, audit_export_window

    for formula in FORMULAS:
        audit_event_record(action=formula, actor_label=formula, reason=formula)
    audit_event_record(action="test.scalar", data=-1)  # JSON text "-1"
    # when the CSV is rendered by PostgreSQL's COPY and by the ORM
    window = audit_export_window()
    fast = b"".join(audit_export_chunks(window=window, fmt="csv"))
    slow = b"".join(audit_export_chunks(window=window, fmt="csv", force_orm=True))
    # then both escape every cell alike, and none is left unescaped
    rows = list(csv.DictReader(io.StringIO(fast.decode(), newline="")))
    assert rows == list(csv.DictReader(io.StringIO(slow.decode(), newline="")))
    assert not unsafe_csv_cells(fast)
    assert [r["reason"] for r in rows[:-1]] == [spreadsheet_text(f) for f in FORMULAS]
    assert rows[-1]["data"] == "'-1"


def test_escaped_text_reads_back_to_the_original():
    for formula in FORMULAS:
        escaped = spreadsheet_text(formula)
        original = (
            escaped[1:] if escaped[:1] == "'" and escaped[1:2] in FORMULA_TRIGGERS else escaped
        )
        assert original == formula
