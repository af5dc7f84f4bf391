"""Audit-trail export (JSON Lines, CSV) against PostgreSQL's own COPY of the same rows.

On a dedicated database (created and dropped here) 1,000,000 audit events are generated
with generate_series (their digests are filler: the export does not verify the chain).
Each measurement runs in a fresh subprocess that writes its output to a file and reports
its wall time and peak RSS (``resource.getrusage``):

- baseline: ``COPY audit_auditevent TO STDOUT`` read through psycopg, written to a file;
- ``audit_export_chunks(fmt="jsonl")`` (what ``manage.py audit_export`` and the admin
  download stream), and the CSV export;
- the ORM fallback (used on SQLite), on the newest 100,000 events against a COPY of
  those same rows, for comparison.

Peak RSS of the JSON Lines export is measured for the newest 100,000 events and for all
1,000,000: a streaming export has the same peak for both. Medians of three runs for the
JSON Lines export and its baseline; one run for the others.

    python3 dev.py bench bench_audit_export     # or: .venv/bin/python bench/bench_audit_export.py
    BENCH_AUDIT_ROWS=200000 for a quicker look.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile

from _support import bench_database, django_setup, peak_rss_kb, report, run_child

BENCH_DB = "jp_bench_audit_export"
ROWS = int(os.environ.get("BENCH_AUDIT_ROWS", "1000000"))
SMALL_ROWS = int(os.environ.get("BENCH_AUDIT_SMALL_ROWS", "100000"))
REPEATS = int(os.environ.get("BENCH_AUDIT_REPEATS", "3"))


# --- the parent: data ---------------------------------------------------------------------------


def load_events(rows: int) -> None:
    """Events a busy portal writes: varied actions, actors, targets, reasons and data."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent RESTART IDENTITY")
        cursor.execute(
            """
            INSERT INTO audit_auditevent (occurred_at, actor_id, actor_label, action,
                target_type, target_id, target_repr, reason, data, prev_hash, hash)
            SELECT now() - interval '400 days' + g * interval '30 seconds',
                CASE WHEN g %% 3 = 0 THEN NULL ELSE g %% 50 + 1 END,
                CASE WHEN g %% 3 = 0 THEN 'system:beat' ELSE 'user' || (g %% 50 + 1) END,
                (ARRAY['access.request.submitted', 'access.approval.given',
                       'access.request.approved', 'access.grant.activated',
                       'access.grant.expired', 'retention.purge.finished'])[g %% 6 + 1],
                'access.grant', (g / 6)::text, 'Grant #' || (g / 6) || ' staff ' || (g %% 50),
                CASE WHEN g %% 4 = 0 THEN 'Complaint "' || g || '", follow-up; see ticket'
                     ELSE '' END,
                jsonb_build_object('grant', g / 6, 'starts_at', now()::text,
                                   'assets', jsonb_build_array(g %% 100, g %% 77),
                                   'policy', jsonb_build_object('approvals_required', 1)),
                md5((g - 1)::text) || md5((g - 1)::text || 'x'),
                md5(g::text) || md5(g::text || 'x')
            FROM generate_series(1, %s) AS g
            """,
            [rows],
        )
        cursor.execute("ANALYZE audit_auditevent")


# --- the child: one export ------------------------------------------------------------------


def child(mode: str, after_id: int) -> None:
    import time

    django_setup(BENCH_DB, force_test_settings=True)
    from django.db import connection

    from apps.audit.exports import audit_export_chunks, audit_export_window

    connection.ensure_connection()
    with tempfile.NamedTemporaryFile(prefix="bench-audit-", delete=True) as handle:
        started = time.perf_counter()
        written = 0
        if mode == "copy":
            sql = "COPY audit_auditevent TO STDOUT"
            if after_id:
                sql = f"COPY (SELECT * FROM audit_auditevent WHERE id > {after_id} ORDER BY id) TO STDOUT"
            with connection.cursor() as cursor, cursor.copy(sql) as copy:
                for data in copy:
                    handle.write(data)
                    written += len(data)
        else:
            fmt, _, orm = mode.partition("-")
            window = audit_export_window(after_id=after_id)
            for chunk in audit_export_chunks(window=window, fmt=fmt, force_orm=orm == "orm"):
                handle.write(chunk)
                written += len(chunk)
        handle.flush()
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "bytes": written, "peak_mb": peak_rss_kb() / 1024}))


# --- main -----------------------------------------------------------------------------------


def median(mode: str, repeats: int, after_id: int = 0) -> dict:
    """Medians of ``repeats`` measurements, each in a fresh process."""
    runs = [run_child(__file__, mode, str(after_id)) for _ in range(repeats)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "bytes": runs[0]["bytes"],
        "peak_mb": statistics.median(r["peak_mb"] for r in runs),
    }


def main() -> None:
    with bench_database(BENCH_DB, force_test_settings=True):
        load_events(ROWS)
        copy = median("copy", REPEATS)
        jsonl = median("jsonl", REPEATS)
        # One run each for the secondary figures keeps the whole script near three minutes.
        csv_ = median("csv", 1)
        small = median("jsonl", 1, after_id=ROWS - SMALL_ROWS)
        small_copy = median("copy", 1, after_id=ROWS - SMALL_ROWS)
        orm = median("jsonl-orm", 1, after_id=ROWS - SMALL_ROWS)
        n = f"{ROWS // 1000}k" if ROWS < 1_000_000 else f"{ROWS // 1_000_000}M"
        base = f"PostgreSQL COPY audit_auditevent TO STDOUT of the same {ROWS} rows ({copy['seconds']:.2f} s)"
        report(
            f"audit_export_jsonl_{n}",
            jsonl["seconds"],
            "s",
            jsonl["seconds"] / copy["seconds"],
            base,
        )
        report(
            f"audit_export_csv_{n}", csv_["seconds"], "s", csv_["seconds"] / copy["seconds"], base
        )
        report(
            f"audit_export_jsonl_orm_fallback_{SMALL_ROWS // 1000}k",
            orm["seconds"],
            "s",
            orm["seconds"] / small_copy["seconds"],
            "PostgreSQL COPY (SELECT * ... WHERE id > N ORDER BY id) TO STDOUT of the same "
            f"{SMALL_ROWS} rows ({small_copy['seconds']:.2f} s)",
        )
        report(
            f"audit_export_peak_rss_{n}",
            jsonl["peak_mb"],
            "MB",
            jsonl["peak_mb"] / small["peak_mb"],
            f"peak RSS exporting the newest {SMALL_ROWS} events ({small['peak_mb']:.1f} MB)",
            value_format=".1f",
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
