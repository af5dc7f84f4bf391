"""Verify the audit trail's hash chain; exit code 1 and the first broken link when it breaks."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.selectors import audit_chain_count, audit_chain_verify
from apps.audit.services import audit_verification_failure_record
from jitportal.inputs import int_argument


class Command(BaseCommand):
    help = (
        "Walk the audit event chain from the oldest remaining event and check every link. "
        "Exits 0 when intact, 1 naming the first broken event otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size",
            type=int_argument(),
            default=5000,
            help="Events read per query (default 5000).",
        )
        parser.add_argument(
            "--progress-every",
            type=int_argument(),
            default=100_000,
            help="Report progress on stderr every N events (default 100000; 0 for none).",
        )

    def handle(self, *args, chunk_size: int, progress_every: int, **options) -> None:
        if chunk_size < 1:
            raise CommandError("--chunk-size must be 1 or more.")
        if progress_every < 0:
            raise CommandError("--progress-every must be 0 or more.")
        total = audit_chain_count() if progress_every else 0
        started = time.monotonic()

        def progress(checked: int, last_id: int) -> None:
            share = f" of {total} ({100 * checked / total:.0f}%)" if total else ""
            rate = checked / max(time.monotonic() - started, 1e-6)
            self.stderr.write(
                f"verified {checked}{share}, up to event #{last_id}, {rate:,.0f} events/s"
            )

        result = audit_chain_verify(
            chunk_size=chunk_size,
            progress=progress if progress_every else None,
            progress_every=progress_every or 1,
        )
        if not result.ok:
            audit_verification_failure_record(
                first_broken_id=result.first_broken_id,
                checked=result.checked,
                actor_label="system:audit_verify",
            )
            raise CommandError(result.describe(), returncode=1)
        self.stdout.write(self.style.SUCCESS(result.describe()))
