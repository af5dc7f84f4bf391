"""Apply the delivery log's retention now (beat does it nightly): delete delivered and
given-up webhook deliveries older than ``WEBHOOK_DELIVERY_RETENTION_DAYS``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from apps.webhooks.services import PruneProgress, webhook_deliveries_prune
from jitportal.inputs import int_argument


class Command(BaseCommand):
    help = (
        "Delete delivered and given-up webhook deliveries whose last try is older than the "
        "retention (WEBHOOK_DELIVERY_RETENTION_DAYS), in batches, with a progress line per "
        "batch. Waiting deliveries and those a connector still needs are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be deleted and kept; delete nothing.",
        )
        parser.add_argument(
            "--days",
            type=int_argument(minimum=1, maximum=36500),
            default=None,
            help="Retention in days (default: WEBHOOK_DELIVERY_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--batch-size",
            type=int_argument(minimum=1, maximum=100_000),
            default=None,
            help="Rows per transaction (default: WEBHOOK_DELIVERY_PRUNE_BATCH).",
        )

    def handle(
        self, *args, dry_run: bool, days: int | None, batch_size: int | None, **options
    ) -> None:
        verb = "would delete" if dry_run else "deleted"

        def progress(state: PruneProgress) -> None:
            self.stderr.write(
                f"batch {state.batches}: {verb} {state.deleted}, kept {state.kept} "
                f"(up to delivery #{state.last_id})"
            )

        done = webhook_deliveries_prune(
            days=days, dry_run=dry_run, batch_size=batch_size, progress=progress
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Dry run: ' if dry_run else ''}{verb} {done.deleted} webhook deliveries "
                f"last tried before {done.cutoff.isoformat()}; kept {done.kept} a connector "
                f"still needs."
            )
        )
