"""Test a known search term against the trail: which listing events were searched with it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.models import AuditEvent
from apps.audit.services import audit_search_term_digest


class Command(BaseCommand):
    help = (
        "Print the keyed digest of TERM (JITPORTAL_AUDIT_SEARCH_KEY) and the audit events whose "
        "search had that digest. Terms are never stored in the clear: this is the only way to "
        "find them, and it needs the term."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("term", help="The search term to test (case and spacing ignored).")
        parser.add_argument(
            "--limit", type=int, default=50, help="Events listed at most (default 50)."
        )

    def handle(self, *args, term: str, limit: int, **options) -> None:
        if limit < 1:
            raise CommandError("--limit must be 1 or more.")
        digest = audit_search_term_digest(term)
        if not digest:
            raise CommandError("Give a non-blank search term.")
        events = AuditEvent.objects.filter(data__query_digest=digest).order_by("id")
        total = events.count()
        self.stdout.write(f"digest {digest}: {total} event(s)")
        for event in events[:limit]:
            self.stdout.write(
                f"#{event.pk} {event.occurred_at:%Y-%m-%d %H:%M:%S%z} {event.actor_label} "
                f"{event.action} {event.data.get('model', '')} page {event.data.get('page', '')}"
            )
