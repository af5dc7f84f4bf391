"""Reading and verifying the audit chain."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .models import AuditEvent
from .services import GENESIS_HASH, digest_of


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str = ""


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainVerification:
    """Walk the whole chain in id order and name the first event whose link does not hold."""
    prev = GENESIS_HASH
    checked = 0
    for event in _iterate(chunk_size):
        if event.prev_hash != prev:
            return ChainVerification(
                False, checked, event.pk, "prev_hash does not match the event before it"
            )
        if digest_of(event) != event.hash:
            return ChainVerification(
                False, checked, event.pk, "content does not match its stored digest"
            )
        prev = event.hash
        checked += 1
    return ChainVerification(True, checked)


def _iterate(chunk_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        chunk = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:chunk_size])
        if not chunk:
            return
        yield from chunk
        last_id = chunk[-1].pk
