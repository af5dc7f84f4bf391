"""Streamed audit-trail export: command, admin download, the SIEM feed and its cursor."""

from __future__ import annotations

import base64
import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import StreamingHttpResponse
from django.urls import reverse

from apps.audit.exports import (
    EXPORT_FIELDS,
    audit_export_chunks,
    audit_export_window,
)
from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record, event_digest
from apps.integrations.services import integration_token_create
from tests.factories import DEFAULT_PASSWORD

from .conftest import make_events

pytestmark = pytest.mark.django_db


def _jsonl(raw: bytes) -> list[dict]:
    return [json.loads(line) for line in raw.decode().splitlines()]


def _export(fmt: str = "jsonl", force_orm: bool = False, **window) -> bytes:
    return b"".join(
        audit_export_chunks(window=audit_export_window(**window), fmt=fmt, force_orm=force_orm)
    )


def _body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def test_jsonl_lines_carry_every_field_and_recompute_their_digest(tmp_path):
    # given events with awkward text (quotes, commas, newlines, backslashes, non-ASCII)
    make_events(30)
    out = tmp_path / "trail.jsonl"
    # when the command exports them
    call_command("audit_export", "--format", "jsonl", "--output", str(out))
    rows = _jsonl(out.read_bytes())
    # then one line per event, in id order, with the stored values
    stored = list(AuditEvent.objects.order_by("id"))
    assert [r["id"] for r in rows] == [e.pk for e in stored]
    assert list(rows[0]) == list(EXPORT_FIELDS)
    first = rows[0]
    assert first["reason"] == stored[0].reason and "\n" in first["reason"]
    assert first["data"] == {"n": 0, "path": "C:\\temp", "ü": "ö"}
    # and each line is enough to recompute the chain: digest and link
    prev = rows[0]["prev_hash"]
    for row in rows:
        assert row["prev_hash"] == prev
        digest = event_digest(
            prev_hash=row["prev_hash"],
            occurred_at=datetime.fromisoformat(row["occurred_at"]),
            actor_id=row["actor_id"],
            actor_label=row["actor_label"],
            action=row["action"],
            target_type=row["target_type"],
            target_id=row["target_id"],
            target_repr=row["target_repr"],
            reason=row["reason"],
            data=row["data"],
        )
        assert digest == row["hash"]
        prev = row["hash"]


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_postgres_copy_and_orm_fallback_agree(fmt):
    # given events, one with an actor and a target
    make_events(50)
    user_event = audit_event_record(action="test.user", actor_label="x", reason="ß\t\\n")
    assert user_event.pk
    # when exported by COPY and by the ORM fallback
    fast, slow = _export(fmt), _export(fmt, force_orm=True)
    # then both say the same
    if fmt == "jsonl":
        assert _jsonl(fast) == _jsonl(slow)
    else:
        assert list(csv.reader(io.StringIO(fast.decode()))) == list(
            csv.reader(io.StringIO(slow.decode()))
        )


def test_csv_has_a_header_and_one_row_per_event(tmp_path):
    make_events(12)
    out = tmp_path / "trail.csv"
    call_command("audit_export", "--format", "csv", "--output", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 12
    assert list(rows[0]) == list(EXPORT_FIELDS)
    assert json.loads(rows[3]["data"])["n"] == 3
    assert rows[0]["actor_id"] == ""


def test_period_and_cursor_select_the_right_events(tmp_path, capsys):
    # given events on three days
    for day in (1, 2, 3):
        with time_machine.travel(datetime(2026, 3, day, 12, tzinfo=UTC), tick=False):
            make_events(4, reason=f"day {day}")
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    out = tmp_path / "p.jsonl"
    # when exporting day 2 only
    call_command(
        "audit_export", "--since", "2026-03-02", "--until", "2026-03-03", "--output", str(out)
    )
    rows = _jsonl(out.read_bytes())
    # then only day 2's events are there
    assert {r["reason"] for r in rows} == {"day 2"}
    assert len(rows) == 4
    # when exporting after a cursor with a limit
    call_command("audit_export", "--after-id", str(ids[5]), "--limit", "3", "--output", str(out))
    rows = _jsonl(out.read_bytes())
    assert [r["id"] for r in rows] == ids[6:9]
    # then the next cursor is printed
    assert f"next cursor: --after-id {ids[8]}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since: 'yesterday' is not an ISO date"),
        (["--since", "2026-03-02", "--until", "2026-03-01"], "--until must be after --since"),
        (["--after-id", "-1"], "--after-id must be 0 or more"),
        (["--limit", "0"], "--limit must be 1 or more"),
        (["--output", "/nonexistent-dir/x.jsonl"], "Cannot write /nonexistent-dir/x.jsonl"),
    ],
)
def test_command_rejects_bad_input_clearly(args, message, tmp_path):
    make_events(2)
    if "--output" not in args:
        args = [*args, "--output", str(tmp_path / "x")]
    with pytest.raises(CommandError, match=message):
        call_command("audit_export", *args)
    before = AuditEvent.objects.count()
    assert before == 2  # nothing recorded or changed


def _peak_while_streaming(force_orm: bool) -> int:
    window = audit_export_window()
    tracemalloc.start()
    try:
        total = 0
        for chunk in audit_export_chunks(window=window, fmt="jsonl", force_orm=force_orm):
            total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 0
    return peak


@pytest.mark.parametrize("force_orm", [False, True], ids=["native", "orm"])
def test_streamed_export_memory_is_flat(force_orm):
    # given 2,000 events, the peak memory of exporting them
    make_events(2000, reason="r" * 200)
    small = _peak_while_streaming(force_orm)
    # when the trail is ten times longer
    make_events(18000, reason="r" * 200)
    large = _peak_while_streaming(force_orm)
    # then the peak stays about the same (the export is ~10 MB; the peak well under 1 MB more)
    assert large < small * 1.5 + 256 * 1024, (small, large)


# --- admin download ----------------------------------------------------------------------


def test_admin_download_streams_the_chosen_period_and_is_recorded(client, auditor):
    make_events(40)
    client.force_login(auditor)
    url = reverse("admin:audit_auditevent_export")
    # the form first
    page = client.get(url)
    assert page.status_code == 200 and b"Download" in page.content
    # then the download
    response = client.get(url, {"format": "jsonl", "since": "", "until": "", "after_id": "10"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/jsonl")
    assert "attachment;" in response["Content-Disposition"]
    rows = _jsonl(_body(response))
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert [r["id"] for r in rows] == [i for i in ids[:40] if i > 10]
    # and the download itself is in the trail
    recorded = AuditEvent.objects.filter(action="audit.trail.exported").get()
    assert recorded.actor == auditor and recorded.data["after_id"] == 10


def test_admin_download_rejects_a_reversed_period(client, dpo):
    client.force_login(dpo)
    response = client.get(
        reverse("admin:audit_auditevent_export"),
        {"format": "csv", "since": "2026-03-05", "until": "2026-03-01"},
    )
    assert response.status_code == 200
    assert b"The last day is before the first day." in response.content
    assert not AuditEvent.objects.filter(action="audit.trail.exported").exists()


# --- the SIEM feed -----------------------------------------------------------------------


def _basic(user, password=DEFAULT_PASSWORD) -> dict:
    token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def _bearer(user, scopes=("audit",)) -> dict:
    _, raw = integration_token_create(
        owner=user,
        name="SIEM",
        scopes=list(scopes),
        expires_at=datetime.now(tz=UTC) + timedelta(days=30),
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_feed_pages_through_the_trail_with_the_cursor(client, auditor):
    # given 25 events
    make_events(25)
    url = reverse("reports:audit-feed")
    seen: list[int] = []
    cursor = 0
    # when a SIEM fetches 10 at a time with its token and follows X-Next-Cursor
    siem = _bearer(auditor)
    for _ in range(5):
        response = client.get(url, {"after_id": cursor, "limit": 10}, **siem)
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("max-age=0")
        rows = _jsonl(_body(response))
        seen += [r["id"] for r in rows]
        cursor = int(response["X-Next-Cursor"])
        if response["X-Has-More"] == "false":
            break
    # then it saw every event exactly once, in order
    assert seen == list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    # and a later event appears on the next fetch after the same cursor
    late = audit_event_record(action="test.late")
    response = client.get(url, {"after_id": cursor}, **siem)
    assert [r["id"] for r in _jsonl(_body(response))] == [late.pk]
    assert response["X-Next-Cursor"] == str(late.pk)
    assert f"after_id={late.pk}" in response["Link"]
    # and nothing new: empty body, the cursor stays
    response = client.get(url, {"after_id": late.pk}, **siem)
    assert _body(response) == b"" and response["X-Next-Cursor"] == str(late.pk)


def test_feed_needs_authentication_and_the_export_permission(client, dpo, approver):
    url = reverse("reports:audit-feed")
    # no credentials: 401 with a Bearer challenge (RFC 6750)
    response = client.get(url)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    # a person's password, right or wrong: 401 naming the token
    for password in ("wrong", DEFAULT_PASSWORD):
        response = client.get(url, **_basic(dpo, password))
        assert response.status_code == 401 and b"integration token" in response.content
    # garbage header: 401, not 500
    assert client.get(url, HTTP_AUTHORIZATION="Basic !!!").status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION="Bearer !!!").status_code == 401
    # an approver's session: 403
    client.force_login(approver)
    assert client.get(url).status_code == 403
    # the DPO with a session: 200
    client.force_login(dpo)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"after_id": "x"}, b"whole numbers"),
        ({"after_id": "-5"}, b"after_id must be 0 or more"),
        ({"limit": "0"}, b"limit must be between 1 and 100000"),
        ({"limit": "1000000"}, b"limit must be between"),
        ({"format": "xml"}, b"format must be one of"),
        ({"since": "soon"}, b"is not an ISO date"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, b"until must be after since"),
    ],
)
def test_feed_rejects_bad_parameters(client, auditor, params, message):
    client.force_login(auditor)
    response = client.get(reverse("reports:audit-feed"), params)
    assert response.status_code == 400
    assert message in response.content


def test_feed_period_filter_and_csv(client, auditor):
    old = datetime.now(tz=UTC) - timedelta(days=10)
    with time_machine.travel(old, tick=False):
        make_events(3, reason="old")
    make_events(2, reason="new")
    client.force_login(auditor)
    since = (datetime.now(tz=UTC) - timedelta(days=1)).date().isoformat()
    response = client.get(reverse("reports:audit-feed"), {"since": since, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(_body(response).decode())))
    assert [r["reason"] for r in rows] == ["new", "new"]
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.django_db(transaction=True)
def test_connection_is_usable_after_an_abandoned_stream():
    # a client that disconnects mid-download must not leave the connection in COPY state
    # (responses stream outside any transaction, as here)
    make_events(5000, reason="x" * 300)
    chunks = audit_export_chunks(window=audit_export_window(), fmt="jsonl")
    next(chunks)
    chunks.close()
    assert AuditEvent.objects.count() == 5000
    assert connection.is_usable()
