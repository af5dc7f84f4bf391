from __future__ import annotations

import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.audit.services import EventSpec, audit_events_record_bulk


def make_events(count: int, *, batch: int = 5000, **fields) -> None:
    """Append ``count`` chained events through the bulk service (one lock per batch)."""
    made = 0
    while made < count:
        n = min(batch, count - made)
        audit_events_record_bulk(
            events=[
                EventSpec(
                    action=fields.get("action", "test.bulk"),
                    actor_label=fields.get("actor_label", "system:test"),
                    reason=fields.get(
                        "reason", f'reason {made + i} with "quotes", commas\nand a newline'
                    ),
                    data=fields.get("data", {"n": made + i, "path": "C:\\temp", "ü": "ö"}),
                )
                for i in range(n)
            ]
        )
        made += n


def tamper(event_id: int, **changes) -> None:
    """Edit a stored event behind the portal's back, as a raw SQL UPDATE would."""
    sets = ", ".join(f"{connection.ops.quote_name(k)} = %s" for k in changes)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET {sets} WHERE id = %s",
            [*changes.values(), event_id],
        )


@pytest.fixture
def events(db):
    return make_events
