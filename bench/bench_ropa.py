"""The record of processing for 2,000 processing activities over 10,000 data assets.

On a dedicated database (created and dropped here) the inventory is bulk-loaded: 50
systems, 10,000 assets (two categories and a subject each, one in ten special), 100
recipients, 2,000 activities with five assets, three categories, two subjects and two
recipients each, a transfer for one in five, and a retention rule with a succeeded purge
run for every asset. Then, medians of three runs in this process:

- the XLSX download: ``ropa_build()`` and the write-only workbook, against the issue's
  budget of 5 s;
- ``ropa_build()`` alone, against reading the same rows with raw SQL (the floor any
  report of these rows has to pay);
- the JSON download, against the same raw read.

    python3 dev.py bench bench_ropa     # or: .venv/bin/python bench/bench_ropa.py
"""

from __future__ import annotations

import os

from _support import bench_database, median_of, report

BENCH_DB = "jp_bench_ropa"
ACTIVITIES = int(os.environ.get("BENCH_ROPA_ACTIVITIES", "2000"))
ASSETS = int(os.environ.get("BENCH_ROPA_ASSETS", "10000"))
REPEATS = int(os.environ.get("BENCH_ROPA_REPEATS", "3"))
BUDGET_SECONDS = 5.0


def load_inventory() -> None:
    from datetime import date, timedelta

    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.utils import timezone

    from apps.crm.models import Customer
    from apps.inventory.gdpr import CategoryKind, LawfulBasis, RecipientKind
    from apps.inventory.models import (
        DataAsset,
        DataCategory,
        DataSubjectCategory,
        Organisation,
        ProcessingActivity,
        Recipient,
        System,
        Transfer,
    )
    from apps.retention.models import PurgeRun, RetentionRule

    now = timezone.now()
    Organisation.objects.create(
        legal_name="Bench Ltd", address="1 Bench Road", email="dpo@bench.example", dpo_name="D"
    )
    ordinary = list(DataCategory.objects.filter(kind=CategoryKind.ORDINARY).order_by("pk"))
    special = list(DataCategory.objects.exclude(kind=CategoryKind.ORDINARY).order_by("pk"))
    subjects = list(DataSubjectCategory.objects.order_by("pk"))
    systems = System.objects.bulk_create(
        System(name=f"System {i}", hosting_country="IE" if i % 5 else "US") for i in range(50)
    )
    assets = DataAsset.objects.bulk_create(
        (
            DataAsset(
                name=f"Asset {i}",
                system=systems[i % len(systems)],
                is_special=i % 10 == 0,
            )
            for i in range(ASSETS)
        ),
        batch_size=2000,
    )
    asset_categories = DataAsset.categories.through
    asset_categories.objects.bulk_create(
        (
            asset_categories(
                dataasset_id=a.pk,
                datacategory_id=(
                    special[i % len(special)] if a.is_special else ordinary[i % len(ordinary)]
                ).pk,
            )
            for i, a in enumerate(assets)
        ),
        batch_size=5000,
    )
    asset_categories.objects.bulk_create(
        (
            asset_categories(
                dataasset_id=a.pk, datacategory_id=ordinary[(i + 7) % len(ordinary)].pk
            )
            for i, a in enumerate(assets)
        ),
        batch_size=5000,
    )
    DataAsset.subjects.through.objects.bulk_create(
        (
            DataAsset.subjects.through(
                dataasset_id=a.pk, datasubjectcategory_id=subjects[i % len(subjects)].pk
            )
            for i, a in enumerate(assets)
        ),
        batch_size=5000,
    )
    recipients = Recipient.objects.bulk_create(
        Recipient(
            name=f"Recipient {i}",
            kind=RecipientKind.PROCESSOR if i % 2 else RecipientKind.THIRD_PARTY,
            country="US" if i % 7 == 0 else "DE",
            contract_link=f"https://bench.example/dpa/{i}" if i % 3 else "",
        )
        for i in range(100)
    )
    activities = ProcessingActivity.objects.bulk_create(
        (
            ProcessingActivity(
                name=f"Processing activity {i:05d}",
                reference=f"PA-{i:05d}",
                business_function="Operations",
                purposes="" if i % 13 == 0 else f"Purpose of activity {i}",
                lawful_basis=LawfulBasis.CONTRACT if i % 4 else LawfulBasis.LEGITIMATE_INTERESTS,
                legitimate_interests="Fraud prevention" if i % 8 == 0 else "",
                retention_description="6 years" if i % 11 else "",
                security_measures="MFA, encryption, JIT access",
                rights_available="All",
                source_of_data="The data subject",
                dpia_required="no" if i % 3 else "",
                last_reviewed_on=date(2026, 1, 1),
                next_review_on=date(2026, 1, 1) + timedelta(days=(i % 700)),
            )
            for i in range(ACTIVITIES)
        ),
        batch_size=1000,
    )
    per = max(1, ASSETS // ACTIVITIES)
    through = ProcessingActivity.assets.through
    through.objects.bulk_create(
        (
            through(processingactivity_id=pa.pk, dataasset_id=assets[(i * per + k) % ASSETS].pk)
            for i, pa in enumerate(activities)
            for k in range(per)
        ),
        batch_size=5000,
    )
    cats = ProcessingActivity.data_categories.through
    cats.objects.bulk_create(
        (
            cats(processingactivity_id=pa.pk, datacategory_id=ordinary[(i + k) % len(ordinary)].pk)
            for i, pa in enumerate(activities)
            for k in range(3)
        ),
        batch_size=5000,
    )
    subs = ProcessingActivity.data_subjects.through
    subs.objects.bulk_create(
        (
            subs(
                processingactivity_id=pa.pk,
                datasubjectcategory_id=subjects[(i + k) % len(subjects)].pk,
            )
            for i, pa in enumerate(activities)
            for k in range(2)
        ),
        batch_size=5000,
    )
    recs = ProcessingActivity.recipients.through
    recs.objects.bulk_create(
        (
            recs(processingactivity_id=pa.pk, recipient_id=recipients[(i + k * 37) % 100].pk)
            for i, pa in enumerate(activities)
            for k in range(2)
        ),
        batch_size=5000,
    )
    Transfer.objects.bulk_create(
        Transfer(activity=pa, country="US", mechanism="sccs", safeguard_link="https://x.example")
        for i, pa in enumerate(activities)
        if i % 5 == 0
    )
    customer = ContentType.objects.get_for_model(Customer)
    rules = RetentionRule.objects.bulk_create(
        (
            RetentionRule(
                name=f"Rule {i}",
                asset=assets[i],
                content_type=customer,
                date_field="last_activity_at",
                period_amount=6,
                period_unit="years",
                action="delete",
                legal_reason="Limitation period",
                legal_citation="Limitation Act 1980 s.5",
            )
            for i in range(ASSETS)
        ),
        batch_size=2000,
    )
    PurgeRun.objects.bulk_create(
        (
            PurgeRun(
                rule=rule,
                trigger="beat",
                actor_label="system:beat",
                action="delete",
                status="succeeded",
                started_at=now - timedelta(hours=3),
                finished_at=now - timedelta(hours=3),
            )
            for rule in rules
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def raw_read() -> None:
    """The same rows the report reads, fetched with raw SQL and nothing done with them."""
    from django.db import connection

    statements = [
        "SELECT * FROM inventory_organisation",
        "SELECT * FROM inventory_processingactivity WHERE is_active",
        "SELECT * FROM inventory_processingactivity_data_subjects",
        "SELECT * FROM inventory_processingactivity_data_categories",
        "SELECT * FROM inventory_processingactivity_recipients",
        "SELECT * FROM inventory_transfer",
        "SELECT l.processingactivity_id, a.*, s.* FROM inventory_processingactivity_assets l "
        "JOIN inventory_dataasset a ON a.id = l.dataasset_id JOIN inventory_system s ON s.id = a.system_id",
        "SELECT * FROM inventory_dataasset_categories",
        "SELECT * FROM inventory_dataasset_subjects",
        "SELECT * FROM inventory_datacategory",
        "SELECT * FROM inventory_datasubjectcategory",
        "SELECT * FROM inventory_recipient",
        "SELECT * FROM retention_retentionrule",
        "SELECT * FROM retention_purgerun",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()


def main() -> None:
    with bench_database(BENCH_DB, force_test_settings=True):
        load_inventory()
        from apps.reports.renderers import render_ropa
        from apps.reports.ropa import ropa_build

        doc = ropa_build()
        assert doc["summary"]["activities"] == ACTIVITIES, doc["summary"]["activities"]
        raw = median_of(raw_read, REPEATS)
        build = median_of(ropa_build, REPEATS)
        xlsx = median_of(lambda: render_ropa(ropa_build(), "xlsx"), REPEATS)
        as_json = median_of(lambda: render_ropa(ropa_build(), "json"), REPEATS)
        size = f"{ACTIVITIES}x{ASSETS}"
        against_raw = f"raw SQL read of the same rows ({raw:.2f} s)"
        report(
            f"ropa_xlsx_{size}",
            xlsx,
            "s",
            xlsx / BUDGET_SECONDS,
            f"the issue's budget of {BUDGET_SECONDS:.0f} s",
        )
        report(f"ropa_build_{size}", build, "s", build / raw, against_raw)
        report(f"ropa_json_{size}", as_json, "s", as_json / raw, against_raw)


if __name__ == "__main__":
    main()
