"""Export the audit trail as JSON Lines or CSV, streamed to a file or stdout."""

from __future__ import annotations

import sys
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.exports import FORMATS, audit_export_chunks, audit_export_window, parse_moment
from jitportal.inputs import int_argument


def _moment(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_moment(value, name=option)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = (
        "Write the audit trail (or a period of it) as JSON Lines or CSV. "
        "Prints the cursor to resume from (--after-id) on stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="jsonl", dest="fmt")
        parser.add_argument("--since", help="Events at or after this date/time (ISO).")
        parser.add_argument("--until", help="Events before this date/time (ISO).")
        parser.add_argument(
            "--after-id",
            type=int_argument(),
            default=0,
            help="Only events with a larger id (the cursor).",
        )
        parser.add_argument(
            "--limit",
            type=int_argument(minimum=1),
            default=None,
            help="At most this many events (then resume).",
        )
        parser.add_argument(
            "--output", required=True, help="File to write, or - for standard output."
        )

    def handle(self, *args, fmt, since, until, after_id, limit, output, **options) -> None:
        since_at = _moment(since, "--since")
        until_at = _moment(until, "--until")
        if after_id < 0:
            raise CommandError("--after-id must be 0 or more.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more.")
        if since_at and until_at and until_at <= since_at:
            raise CommandError("--until must be after --since.")
        window = audit_export_window(since=since_at, until=until_at, after_id=after_id, limit=limit)
        written = 0
        if output == "-":
            stream = sys.stdout.buffer
            for chunk in audit_export_chunks(window=window, fmt=fmt):
                stream.write(chunk)
                written += len(chunk)
            stream.flush()
        else:
            try:
                handle = open(output, "wb")  # noqa: SIM115 - closed below, errors reported
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
            with handle:
                for chunk in audit_export_chunks(window=window, fmt=fmt):
                    handle.write(chunk)
                    written += len(chunk)
        self.stderr.write(f"wrote {written} bytes; next cursor: --after-id {window.next_cursor}")
