"""python manage.py ropa: every format to a file, snapshots with --as-at, clear errors."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.reports.models import RopaSnapshot
from apps.reports.services import ropa_snapshot_take

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json", "html"])
def test_writes_each_format(ropa_world, tmp_path, fmt, capsys):
    out = tmp_path / f"ropa.{fmt}"
    call_command("ropa", "--format", fmt, "--output", str(out))
    data = out.read_bytes()
    if fmt == "xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        values = [c for row in wb["Controller"].iter_rows(values_only=True) for c in row]
        assert "Customer accounts" in values and "Health outreach" in values
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert len(rows) == 4
    elif fmt == "json":
        assert len(json.loads(data)["activities"]) == 3
    else:
        assert b"<table" in data and b"Health outreach" in data
    err = capsys.readouterr().err
    assert "controller record: 3 activities, 10 required value(s) missing, 1 past" in err


def test_processor_record(ropa_world, tmp_path):
    out = tmp_path / "p.json"
    call_command("ropa", "--format", "json", "--output", str(out), "--processor")
    doc = json.loads(out.read_text())
    assert doc["record"] == "processor"
    assert [a["reference"] for a in doc["activities"]] == ["PA-003"]


def test_as_at_renders_the_frozen_snapshot_not_the_live_record(ropa_world, dpo, tmp_path):
    # given a snapshot, then a change to the inventory
    snapshot = ropa_snapshot_take(taken_by=dpo, note="for the regulator")
    ropa_world.complete.purposes = "Changed later"
    ropa_world.complete.save()
    out = tmp_path / "then.json"
    # when the report is written as at the snapshot
    call_command("ropa", "--format", "json", "--output", str(out), "--as-at", str(snapshot.pk))
    doc = json.loads(out.read_text())
    # then it shows the values of then, and says which snapshot it is
    complete = next(a for a in doc["activities"] if a["reference"] == "PA-001")
    assert complete["values"]["purposes"] == "Running customer accounts"
    assert doc["as_at"]["snapshot_id"] == snapshot.pk
    assert doc["as_at"]["digest"] == snapshot.digest and doc["as_at"]["intact"] is True
    # and the XLSX of the snapshot says so on top
    call_command(
        "ropa",
        "--format",
        "xlsx",
        "--output",
        str(tmp_path / "t.xlsx"),
        "--as-at",
        str(snapshot.pk),
    )
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx", read_only=True)
    first = [r[0] for r in wb["Controller"].iter_rows(values_only=True, max_row=3) if r]
    assert any(str(v).startswith(f"As at snapshot #{snapshot.pk}") for v in first)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "pdf"], "--format must be one of xlsx, csv, json, html, not 'pdf'"),
        (["--format", "json", "--as-at", "x"], "--as-at takes a snapshot id"),
        (["--format", "json", "--as-at", "999"], "There is no ROPA snapshot #999"),
        (["--format", "xlsx", "--output", "-"], "XLSX is binary"),
        (
            ["--format", "json", "--output", "/no/such/dir/r.json"],
            "the folder /no/such/dir does not exist",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(ropa_world, tmp_path, args, message):
    if "--output" not in args:
        args = [*args, "--output", str(tmp_path / "r")]
    with pytest.raises(CommandError, match=message):
        call_command("ropa", *args)
    assert not (tmp_path / "r").exists()


def test_as_at_of_the_other_record_kind_is_refused(ropa_world, dpo, tmp_path):
    snapshot = ropa_snapshot_take(taken_by=dpo, processor=True)
    with pytest.raises(CommandError, match="is a processor record: add --processor"):
        call_command(
            "ropa", "--format", "csv", "--output", str(tmp_path / "r"), "--as-at", str(snapshot.pk)
        )


def test_a_tampered_snapshot_is_written_with_a_warning(ropa_world, dpo, tmp_path, capsys):
    snapshot = ropa_snapshot_take(taken_by=dpo)
    content = snapshot.content
    content["activities"][0]["values"]["purposes"] = "rewritten"
    RopaSnapshot.objects.filter(pk=snapshot.pk).update(content=content)
    call_command(
        "ropa", "--format", "json", "--output", str(tmp_path / "r"), "--as-at", str(snapshot.pk)
    )
    assert "no longer matches its digest" in capsys.readouterr().err
    assert json.loads((tmp_path / "r").read_text())["as_at"]["intact"] is False
