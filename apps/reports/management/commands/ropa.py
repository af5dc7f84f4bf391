"""Write the record of processing (controller or processor) to a file in any format."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.reports.models import RopaRecord, RopaSnapshot
from apps.reports.renderers import FORMATS, render_ropa
from apps.reports.ropa import ropa_build
from apps.reports.snapshots import ropa_snapshot_document, ropa_snapshot_intact
from jitportal.inputs import parse_id


class Command(BaseCommand):
    help = (
        "Write the record of processing activities (Art. 30) as XLSX, CSV, JSON or HTML: "
        "the live record, or a frozen snapshot with --as-at."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", required=True, dest="fmt", help="xlsx, csv, json or html.")
        parser.add_argument("--output", required=True, help="File to write, or - for stdout.")
        parser.add_argument(
            "--processor",
            action="store_true",
            help="The processor record (Art. 30(2)) instead of the controller record.",
        )
        parser.add_argument(
            "--as-at",
            dest="as_at",
            metavar="SNAPSHOT_ID",
            help="Render this ROPA snapshot instead of the live record.",
        )

    def handle(self, *args, fmt: str, output: str, processor: bool, as_at: str | None, **kw):
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise CommandError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
        if output == "-" and fmt == "xlsx":
            raise CommandError("XLSX is binary: give --output a file name, not -.")
        if output != "-":
            folder = os.path.dirname(os.path.abspath(output))
            if not os.path.isdir(folder):
                raise CommandError(f"Cannot write {output}: the folder {folder} does not exist.")
        if as_at is not None:
            snapshot_id = parse_id(as_at)
            if snapshot_id is None:
                raise CommandError(f"--as-at takes a snapshot id (a number), not {as_at!r}.")
            snapshot = RopaSnapshot.objects.filter(pk=snapshot_id).first()
            if snapshot is None:
                raise CommandError(
                    f"There is no ROPA snapshot #{as_at}. Snapshots are listed in the admin "
                    "under Reports and registers → ROPA snapshots."
                )
            wanted = RopaRecord.PROCESSOR if processor else RopaRecord.CONTROLLER
            if snapshot.record != wanted:
                hint = (
                    "add --processor"
                    if snapshot.record == RopaRecord.PROCESSOR
                    else "drop --processor"
                )
                raise CommandError(
                    f"Snapshot #{snapshot.pk} is a {snapshot.record} record: {hint}."
                )
            if not ropa_snapshot_intact(snapshot):
                self.stderr.write(
                    self.style.WARNING(
                        f"Snapshot #{snapshot.pk}'s content no longer matches its digest "
                        f"{snapshot.digest}: it was changed after it was taken."
                    )
                )
            doc = ropa_snapshot_document(snapshot)
        else:
            doc = ropa_build(processor=processor)
        body = render_ropa(doc, fmt)
        if output == "-":
            sys.stdout.buffer.write(body)
            sys.stdout.buffer.flush()
        else:
            try:
                with open(output, "wb") as handle:
                    handle.write(body)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        summary = doc["summary"]
        self.stderr.write(
            f"{doc['record']} record: {summary['activities']} activities, "
            f"{summary['gaps_total']} required value(s) missing, "
            f"{len(summary['review_overdue'])} past their review date"
            + (f" (as at snapshot #{doc['as_at']['snapshot_id']})" if doc.get("as_at") else "")
            + (f"; written to {output}" if output != "-" else "")
        )
