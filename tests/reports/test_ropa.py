"""The record of processing: contents against a known inventory, every format, queries."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.inventory.completeness import REQUIREMENTS
from apps.reports.renderers import MISSING, NOT_APPLICABLE, render_ropa
from apps.reports.ropa import (
    CONTROLLER_COLUMNS,
    HEADER_FIELDS,
    PROCESSOR_COLUMNS,
    SCHEMA_VERSION,
    ropa_build,
)
from jitportal.spreadsheets import spreadsheet_text
from tests.factories import (
    DataAssetFactory,
    DataCategoryFactory,
    DataSubjectCategoryFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parents[2] / "docs" / "reference" / "gdpr"


def _reference(name: str, column: str) -> list[str]:
    with open(DATA / name, newline="") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def _by_name(doc, name):
    return next(a for a in doc["activities"] if a["name"] == name)


# The UK ICO controller template beyond the reference data: the retention policy link
# after the retention schedule, and the DPO and representative as four header rows each.
ICO_EXTRA_COLUMNS = {"Link to retention and erasure policy document": "Retention schedule"}
ICO_HEADER = [
    "Controller name",
    "Controller address",
    "Controller email",
    "Controller telephone",
    "Data protection officer name",
    "Data protection officer address",
    "Data protection officer email",
    "Data protection officer telephone",
    "Representative name",
    "Representative address",
    "Representative email",
    "Representative telephone",
]
UK_COLUMN = "DPA 2018 Schedule 1 condition for special category or criminal offence data"


def test_columns_are_the_ico_template_in_its_order():
    # the reference data (docs/reference/gdpr) names the columns, in order, with the article each
    # answers; the ICO template's extra columns stand right after the column they follow
    labels = [c.label for c in CONTROLLER_COLUMNS]
    reference = _reference("ropa_columns.csv", "column")
    assert [label for label in labels if label not in ICO_EXTRA_COLUMNS] == reference
    for extra, after in ICO_EXTRA_COLUMNS.items():
        assert labels.index(extra) == labels.index(after) + 1
    by_label = {c.label: c.required_by for c in CONTROLLER_COLUMNS}
    assert [by_label[label] for label in reference] == _reference("ropa_columns.csv", "required_by")
    # the header block: each reference field, with the DPO's and the representative's
    # "name and contact" as name, address, email and telephone
    assert [f.label for f in HEADER_FIELDS] == ICO_HEADER
    assert all(f.required_by.startswith("Art. 30(1)(a)") for f in HEADER_FIELDS)
    assert len(_reference("ropa_header.csv", "field")) == 6


def test_uk_column_only_when_the_setting_is_on(ropa_world, settings):
    assert UK_COLUMN not in [c["label"] for c in ropa_build()["columns"]]
    settings.JITPORTAL = {**settings.JITPORTAL, "ROPA_UK": True}
    labels = [c["label"] for c in ropa_build()["columns"]]
    assert labels.index(UK_COLUMN) == labels.index("Article 9 condition for processing") + 1
    assert UK_COLUMN not in [c["label"] for c in ropa_build(processor=True)["columns"]]


def test_controller_record_values(ropa_world):
    # when the controller record is built
    doc = ropa_build()
    # then it is versioned, lists the active controller-side activities only, in order
    assert doc["schema"] == "jitportal.ropa" and doc["schema_version"] == SCHEMA_VERSION
    assert [a["reference"] for a in doc["activities"]] == ["PA-001", "PA-002", "PA-004"]
    # every template column is present on every row
    keys = [c.key for c in CONTROLLER_COLUMNS]
    for activity in doc["activities"]:
        assert all(k in activity["values"] for k in keys)
    # and the values are those of the inventory
    complete = _by_name(doc, "Customer accounts")["values"]
    assert complete["business_function"] == "Customer service"
    assert complete["purposes"] == "Running customer accounts"
    assert complete["data_subjects"] == "Customers"
    assert complete["data_categories"] == "Email address; Name"
    assert complete["recipients"] == (
        "Auditors LLP (Third party (controller), Ireland); Mailer Ltd (Processor, Ireland)"
    )
    assert complete["processor_contract"] == "Mailer Ltd: https://example.org/dpa/mailer.pdf"
    assert complete["third_countries"] == "None"
    assert complete["lawful_basis"] == "6(1)(b) Contract"
    assert complete["location"] == "Backups in Frankfurt; CRM (eu-west-1, Ireland)"
    assert complete["dpia_required"] == "No (screening done)"
    assert complete["automated_decision_making"] == "No"
    assert complete["breach_occurred"] == "No"
    assert complete["last_reviewed_on"] == "2026-01-10"
    joint = _by_name(doc, "Joint research")["values"]
    assert joint["joint_controller"] == "University X, dpo@univ.example"
    assert joint["data_categories"] == (
        "Criminal record checks [Art. 10]; Data concerning health [Art. 9]"
    )
    assert joint["data_subjects"] == "Patients (vulnerable)"
    assert joint["third_countries"] == "United States of America"
    assert joint["safeguards"] == (
        "United States of America: Standard contractual clauses (Art. 46(2)(c)); "
        "https://example.org/sccs.pdf"
    )
    assert joint["art9_condition"] == (
        "9(2)(j) Archiving, scientific or historical research or statistics; "
        "Art. 10: Research exemption, Data Protection Act s.19"
    )
    assert joint["automated_decision_making"] == "Yes: Risk scoring of participants"
    assert joint["breach_record_link"] == "https://example.org/breach/7"
    # categories held by the assets count too, and Art. 9 is flagged
    gappy = _by_name(doc, "Health outreach")
    assert gappy["values"]["data_categories"] == "Data concerning health [Art. 9]; Email address"
    assert gappy["processes_special_category_data"] is True
    assert gappy["detail"]["assets"][0]["hosted_outside_eea"] is True  # Analytics, US
    # the organisation block
    assert doc["organisation"]["controller_name"] == "Example Health Ltd"
    assert doc["organisation"]["dpo_name"] == "Dana Pro"
    assert doc["organisation"]["dpo_email"] == "dpo@example.org"
    assert doc["summary"]["organisation_gaps"] == []


def test_every_column_is_filled_not_applicable_or_flagged(ropa_world):
    doc = ropa_build()
    for activity in doc["activities"]:
        gap_columns = {g["column"] for g in activity["gaps"]}
        for column in CONTROLLER_COLUMNS:
            value = activity["values"][column.key]
            assert (
                value
                or column.key in activity["not_applicable"]
                or column.key in gap_columns
                or column.key in activity["recommended_blank"]
            ), (activity["name"], column.key)


def test_gaps_are_flagged_per_activity_and_overall(ropa_world):
    doc = ropa_build()
    gappy = _by_name(doc, "Health outreach")
    missing = {g["requirement"] for g in gappy["gaps"]}
    # the inventory's Art. 30 requirements this activity misses
    assert missing == {
        "purposes",
        "legitimate_interests",
        "art9_condition",
        "data_subjects",
        "processor_contract",
        "transfers",
        "retention",
        "security_measures",
        "dpia_required",
    }
    assert {g["column"] for g in gappy["gaps"]} >= {"purposes", "third_countries", "retention"}
    assert all(g["required_by"] for g in gappy["gaps"])
    # the complete activity has none; the joint one misses the processor contract only
    assert _by_name(doc, "Customer accounts")["gaps"] == []
    assert [g["requirement"] for g in _by_name(doc, "Joint research")["gaps"]] == [
        "processor_contract"
    ]
    # review overdue
    assert gappy["review"]["overdue"] is True
    assert gappy["values"]["next_review_on"] == "2020-05-01 (overdue)"
    summary = doc["summary"]
    assert summary["activities"] == 3
    assert summary["complete"] == 1
    assert summary["with_gaps"] == 2
    assert summary["gaps_total"] == 10
    assert summary["gaps_by_requirement"]["processor_contract"] == 2
    assert summary["review_overdue"] == [
        {"id": ropa_world.gappy.pk, "name": "Health outreach", "next_review_on": "2020-05-01"}
    ]


def test_not_applicable_columns(ropa_world):
    doc = ropa_build()
    complete = _by_name(doc, "Customer accounts")
    # sole controller, no transfers, not 6(1)(f), no special data, no DPIA, no breach
    assert set(complete["not_applicable"]) >= {
        "joint_controller",
        "safeguards",
        "legitimate_interests",
        "lia_link",
        "art9_condition",
        "consent_record_link",
        "dpia_status",
        "dpia_link",
        "breach_record_link",
    }


def test_missing_organisation_details_are_flagged(db):
    OrganisationFactory(address="", email="", telephone="", dpo_name="", dpo_email="")
    doc = ropa_build()
    assert set(doc["summary"]["organisation_gaps"]) == {
        "controller_address",
        "controller_email",
        "controller_telephone",
        "dpo_name",
        "dpo_address",
        "dpo_email",
        "dpo_telephone",
    }


def test_one_way_to_reach_the_dpo_is_enough(db):
    OrganisationFactory(dpo_email="", dpo_telephone="+353 1 000 0001")
    assert ropa_build()["summary"]["organisation_gaps"] == []


def test_processor_record(ropa_world):
    doc = ropa_build(processor=True)
    assert doc["record"] == "processor"
    assert [c["label"] for c in doc["columns"][2 : 2 + len(PROCESSOR_COLUMNS)]] == [
        c.label for c in PROCESSOR_COLUMNS
    ]
    assert [a["name"] for a in doc["activities"]] == ["Payroll for a sister company"]
    row = doc["activities"][0]
    assert [g["requirement"] for g in row["gaps"]] == ["controller_on_behalf"]
    assert row["gaps"][0]["column"] == "controller_on_behalf"
    assert row["values"]["purposes"] == "Running payroll on instructions"


def _rule(asset, name, *, enabled=True, every=1, **run):
    from django.contrib.contenttypes.models import ContentType

    from apps.crm.models import Customer
    from apps.retention.models import PurgeRun, RetentionRule

    rule = RetentionRule.objects.create(
        name=name,
        asset=asset,
        content_type=ContentType.objects.get_for_model(Customer),
        date_field="last_activity_at",
        period_amount=6,
        period_unit="years",
        action="delete",
        legal_reason="Limitation period",
        legal_citation="Limitation Act 1980 s.5",
        enabled=enabled,
        run_every_days=every,
    )
    if run:
        PurgeRun.objects.create(
            rule=rule, trigger="beat", actor_label="system:beat", action="delete", **run
        )
    return rule


def test_retention_column_and_retained_per_policy_come_from_rules_and_runs(ropa_world):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    day = timedelta(days=1)
    # given: the complete activity's asset has a rule whose last run succeeded yesterday
    _rule(
        ropa_world.assets.customer_records,
        "Customers 6y",
        status="succeeded",
        started_at=now - day,
        finished_at=now - day,
    )
    # the gappy activity's health notes: a disabled rule; its clickstream: no rule at all
    _rule(ropa_world.assets.health_notes, "Health notes 6y", enabled=False)
    # when the record is built
    doc = ropa_build(now=now)
    complete = _by_name(doc, "Customer accounts")
    gappy = _by_name(doc, "Health outreach")
    # then the retention schedule shows the DPO's text and the rule, in the rule's words
    assert complete["values"]["retention"] == (
        "6 years after the contract ends\nCRM / Customer records: Delete 6 years after "
        "last activity at — Limitation Act 1980 s.5"
    )
    assert complete["retention"] == {"status": "yes", "label": "Yes", "reasons": []}
    assert complete["values"]["retained_per_policy"] == "Yes"
    assert gappy["retention"]["status"] == "no"
    assert set(gappy["retention"]["reasons"]) == {
        "Analytics / Clickstream has no retention rule",
        "rule “Health notes 6y” is disabled",
    }
    # an activity without assets cannot be judged
    assert _by_name(doc, "Joint research")["retention"]["status"] == "unknown"
    assert doc["summary"]["retained_per_policy"] == {"no": 1, "unknown": 1, "yes": 1}


@pytest.mark.parametrize(
    ("run", "every", "reason"),
    [
        ({}, 1, "rule “R” has never run"),
        ({"status": "failed", "days_ago": 1}, 1, "rule “R”: last run #{run} failed"),
        ({"status": "partial", "days_ago": 1}, 1, "rule “R”: last run #{run} partial"),
        (
            {"status": "succeeded", "days_ago": 10},
            7,
            "rule “R” is overdue: last run 10 days ago, runs every 7 day(s)",
        ),
    ],
)
def test_retained_per_policy_says_why_not(ropa_world, run, every, reason):
    from datetime import timedelta

    from django.utils import timezone

    from apps.retention.models import PurgeRun

    now = timezone.now()
    fields = {}
    if run:
        started = now - timedelta(days=run["days_ago"])
        fields = {"status": run["status"], "started_at": started, "finished_at": started}
    rule = _rule(ropa_world.assets.customer_records, "R", every=every, **fields)
    run_id = PurgeRun.objects.filter(rule=rule).values_list("pk", flat=True).first()
    complete = _by_name(ropa_build(now=now), "Customer accounts")
    assert complete["retention"]["status"] == "no"
    assert complete["retention"]["reasons"] == [reason.replace("#{run}", f"#{run_id}")]
    assert complete["values"]["retained_per_policy"].startswith("No: ")


def test_previews_do_not_count_as_runs(ropa_world):
    from django.utils import timezone

    now = timezone.now()
    _rule(
        ropa_world.assets.customer_records,
        "R",
        status="succeeded",
        dry_run=True,
        started_at=now,
        finished_at=now,
    )
    complete = _by_name(ropa_build(now=now), "Customer accounts")
    assert complete["retention"]["reasons"] == ["rule “R” has never run"]


# --- formats -------------------------------------------------------------------------------


def test_xlsx_opens_and_has_the_ico_layout(ropa_world):
    body = render_ropa(ropa_build(), "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    assert wb.sheetnames == ["Controller", "Gaps"]
    rows = [list(r) for r in wb["Controller"].iter_rows(values_only=True)]
    # the organisation header rows come first
    assert rows[0][0].startswith("Record of processing activities: controller")
    header_labels = [r[0] for r in rows[:20] if r and r[0]]
    assert all(label in header_labels for label in ICO_HEADER)
    name_row = next(r for r in rows if r and r[0] == "Controller name")
    assert name_row[1] == "Example Health Ltd"
    # then the column row: every ICO column, in order, after reference and name
    index = next(i for i, r in enumerate(rows) if r and r[0] == "Reference")
    labels = rows[index]
    ico = [c.label for c in CONTROLLER_COLUMNS]
    assert labels[2 : 2 + len(ico)] == ico
    # then one row per activity
    body_rows = [r for r in rows[index + 1 :] if r and r[0]]
    assert [r[0] for r in body_rows] == ["PA-001", "PA-002", "PA-004"]
    gappy = dict(zip(labels, body_rows[1], strict=True))
    assert gappy["Purpose of processing"] == MISSING
    assert gappy["Name and contact details of joint controller"] == NOT_APPLICABLE
    assert "Purpose of processing" in gappy["Gaps (required, missing)"]
    assert gappy["Categories of personal data"] == "Data concerning health [Art. 9]; Email address"
    # the gaps sheet lists each gap
    gaps = list(wb["Gaps"].iter_rows(values_only=True))
    assert sum(1 for r in gaps if r and r[0] == "PA-002") == 9


def test_every_ico_column_and_header_row_is_found_by_its_label(ropa_world, settings):
    # given a UK organisation whose joint activity has every ICO column filled
    settings.JITPORTAL = {**settings.JITPORTAL, "ROPA_UK": True}
    org = ropa_world.org
    org.representative_name = "Rep Ltd"
    org.representative_address = "1 Rep Street, London"
    org.representative_email = "rep@example.org"
    org.representative_telephone = "+44 20 0000 0000"
    org.dpo_address = "1 Example Street, Dublin"
    org.dpo_telephone = "+353 1 000 0002"
    org.save()
    joint = ropa_world.joint
    joint.business_function = "Research office"
    joint.retention_policy_link = "https://example.org/policies/retention.pdf"
    joint.processor_contract_link = "https://example.org/dpa/joint.pdf"
    joint.legitimate_interests = "n/a: public task"
    joint.lia_link = "https://example.org/lia.pdf"
    joint.rights_available = "Access"
    joint.source_of_data = "Participants"
    joint.consent_record_link = "https://example.org/consent"
    joint.data_location = "Dublin"
    joint.dpa2018_schedule1_condition = "S1-4"
    joint.save()
    # when the XLSX is written
    rows = [
        list(r)
        for r in openpyxl.load_workbook(io.BytesIO(render_ropa(ropa_build(), "xlsx")))[
            "Controller"
        ].iter_rows(values_only=True)
    ]
    # then every header row is found by its label, with its value
    header = {r[0]: r[1] for r in rows[:20] if r and r[0] in ICO_HEADER}
    # (a value that starts like a formula, such as "+353", is written as text: OWASP)
    assert header == {
        label: spreadsheet_text(value)
        for label, value in {
            "Controller name": "Example Health Ltd",
            "Controller address": "1 Example Street, Dublin",
            "Controller email": "privacy@example.org",
            "Controller telephone": "+353 1 000 0000",
            "Data protection officer name": "Dana Pro",
            "Data protection officer address": "1 Example Street, Dublin",
            "Data protection officer email": "dpo@example.org",
            "Data protection officer telephone": "+353 1 000 0002",
            "Representative name": "Rep Ltd",
            "Representative address": "1 Rep Street, London",
            "Representative email": "rep@example.org",
            "Representative telephone": "+44 20 0000 0000",
        }.items()
    }
    # and every ICO column (reference data, the template's extras, the UK column) is found
    # by its header with the joint activity's value in it
    index = next(i for i, r in enumerate(rows) if r and r[0] == "Reference")
    row = dict(zip(rows[index], next(r for r in rows if r and r[0] == "PA-004"), strict=True))
    expected = {
        "Business function": "Research office",
        "Purpose of processing": "Research",
        "Name and contact details of joint controller": "University X, dpo@univ.example",
        "Categories of individuals": "Patients (vulnerable)",
        "Categories of personal data": (
            "Criminal record checks [Art. 10]; Data concerning health [Art. 9]"
        ),
        "Categories of recipients": "US Vendor Inc (Processor, United States of America)",
        "Link to contract with processor": "https://example.org/dpa/joint.pdf",
        "Names of third countries or international organisations data is transferred to": (
            "United States of America"
        ),
        "Safeguards for exceptional transfers": (
            "United States of America: Standard contractual clauses (Art. 46(2)(c)); "
            "https://example.org/sccs.pdf"
        ),
        "Retention schedule": "Until the study ends",
        "Link to retention and erasure policy document": (
            "https://example.org/policies/retention.pdf"
        ),
        "General description of technical and organisational security measures": (
            "Pseudonymisation"
        ),
        "Article 6 lawful basis": "6(1)(e) Public task",
        "Article 9 condition for processing": (
            "9(2)(j) Archiving, scientific or historical research or statistics; "
            "Art. 10: Research exemption, Data Protection Act s.19"
        ),
        UK_COLUMN: "Sch. 1 para 4: research etc",
        "Legitimate interests for the processing": "n/a: public task",
        "Link to legitimate interests assessment": "https://example.org/lia.pdf",
        "Rights available to individuals": "Access",
        "Existence of automated decision-making including profiling": (
            "Yes: Risk scoring of participants"
        ),
        "Source of personal data": "Participants",
        "Link to record of consent": "https://example.org/consent",
        "Location of personal data": "Dublin",
        "DPIA required?": "Yes",
        "DPIA progress": "Completed",
        "Link to DPIA": "https://example.org/dpia/joint.pdf",
        "Has a personal data breach occurred?": "Yes",
        "Link to record of breach": "https://example.org/breach/7",
    }
    assert set(expected) == {c.label for c in CONTROLLER_COLUMNS} | {UK_COLUMN}
    assert {label: row[label] for label in expected} == {
        label: spreadsheet_text(value) for label, value in expected.items()
    }


def test_xlsx_marks_missing_cells_red(ropa_world):
    body = render_ropa(ropa_build(), "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(body))["Controller"]
    missing = [c for row in ws.iter_rows() for c in row if c.value == MISSING]
    assert missing and all(c.fill.fgColor.rgb.endswith("FBE4E2") for c in missing)


def test_csv_parses_with_every_column(ropa_world):
    body = render_ropa(ropa_build(), "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    ico = [c.label for c in CONTROLLER_COLUMNS]
    assert rows[0][2 : 2 + len(ico)] == ico
    assert [r[0] for r in rows[1:]] == ["PA-001", "PA-002", "PA-004"]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert rows[2][rows[0].index("Retention schedule")] == MISSING


def test_json_parses_and_keeps_stable_keys(ropa_world):
    doc = json.loads(render_ropa(ropa_build(), "json"))
    assert list(doc) == [
        "schema",
        "schema_version",
        "record",
        "title",
        "generated_at",
        "as_at",
        "organisation",
        "header",
        "columns",
        "activities",
        "summary",
    ]
    activity = doc["activities"][0]
    assert set(activity) == {
        "id",
        "reference",
        "name",
        "role",
        "owner",
        "values",
        "not_applicable",
        "gaps",
        "recommended_blank",
        "review",
        "retention",
        "processes_special_category_data",
        "processes_criminal_offence_data",
        "detail",
    }


def test_printable_html_has_print_css_and_every_column(ropa_world):
    html = render_ropa(ropa_build(), "html").decode()
    assert "@media print" in html and "@page" in html
    assert "table-header-group" in html  # column headings repeat on every printed page
    for label in _reference("ropa_columns.csv", "column"):
        assert label in html
    assert "MISSING (required)" in html
    assert "<script src" not in html and "http://" not in html.split("<body>")[0]


# --- query count ---------------------------------------------------------------------------


def _activities(n: int, start: int) -> None:
    special = DataCategoryFactory(name="Health data", slug="health-data", kind="special")
    subjects = DataSubjectCategoryFactory(name="Members")
    for i in range(start, start + n):
        asset = DataAssetFactory(categories=[special])
        asset.subjects.set([subjects])
        pa = ProcessingActivityFactory(name=f"Activity {i:03d}", reference=f"PA-{i:03d}")
        pa.assets.set([asset, DataAssetFactory()])
        pa.data_subjects.set([subjects])
        pa.recipients.set([RecipientFactory(country="US")])
        pa.transfers.create(country="US", mechanism="sccs")
        _rule(
            asset,
            f"rule {i}",
            status="succeeded",
            started_at=asset.created_at,
            finished_at=asset.created_at,
        )


def _queries() -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        doc = ropa_build()
        render_ropa(doc, "xlsx")
    return len(ctx.captured_queries), doc


def test_query_count_does_not_grow_with_activities():
    # given 5 activities, the queries the report needs
    OrganisationFactory()
    _activities(5, 0)
    few, doc = _queries()
    assert doc["summary"]["activities"] == 5
    # when there are 50
    _activities(45, 5)
    many, doc = _queries()
    assert doc["summary"]["activities"] == 50
    # then the report needs the same number of queries
    assert many == few, (few, many)
    # one per Art. 30 requirement (semi-joins), plus a fixed set for the rows and retention
    assert few <= len(REQUIREMENTS) + 20
