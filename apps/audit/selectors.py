"""Reading and verifying the audit chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import CHAIN_FIELDS, AuditEvent
from .services import GENESIS_HASH, chain_digest

# What ``_iterate`` reads of each event: id, link, digest, then what the digest covers.
_WALK_FIELDS = ("id", "prev_hash", "hash", *CHAIN_FIELDS)


@dataclass(frozen=True)
class ChainVerification:
    """What a walk of the chain found.

    ``checked`` counts the events whose link and digest held before the walk stopped.
    ``anchor`` is the ``prev_hash`` of the oldest remaining event: the genesis value while
    nothing has been purged, otherwise the digest of the last event retention removed.
    """

    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str = ""
    first_id: int | None = None
    last_id: int | None = None
    anchor: str = GENESIS_HASH
    last_hash: str = ""
    # For a purged chain: whether an ``audit.trail.purged`` event vouches for the anchor.
    anchor_confirmed: bool | None = None

    @property
    def from_genesis(self) -> bool:
        """True when the walk started at the first event ever written (nothing purged)."""
        return self.anchor == GENESIS_HASH

    def describe(self) -> str:
        """One line for people, in their language: what was verified, or where the chain
        breaks."""
        if self.checked == 0 and self.ok:
            return _("The audit trail is empty: nothing to verify.")
        if self.from_genesis:
            start = _("from the first event ever written")
        elif self.anchor_confirmed:
            start = _(
                "from the oldest remaining event #%(id)s (older events were purged; anchor "
                "%(anchor)s…, vouched for by a purge event)"
            ) % {"id": self.first_id, "anchor": self.anchor[:16]}
        else:
            start = _(
                "from the oldest remaining event #%(id)s (older events were purged; anchor "
                "%(anchor)s…, NOT vouched for by any audit.trail.purged event)"
            ) % {"id": self.first_id, "anchor": self.anchor[:16]}
        if self.ok:
            return _(
                "Chain intact: %(n)s event(s) verified %(start)s to #%(last)s (head %(head)s…)."
            ) % {
                "n": self.checked,
                "start": start,
                "last": self.last_id,
                "head": self.last_hash[:16],
            }
        return _(
            "Chain BROKEN at event #%(id)s: %(problem)s. %(n)s event(s) before it verified "
            "%(start)s."
        ) % {"id": self.first_broken_id, "problem": self.problem, "n": self.checked, "start": start}


ProgressCallback = Callable[[int, int], None]


def audit_chain_verify(
    *,
    chunk_size: int = 5000,
    progress: ProgressCallback | None = None,
    progress_every: int = 50_000,
) -> ChainVerification:
    """Walk the chain in id order and name the first event whose link does not hold.

    The walk starts at the oldest remaining event and takes its ``prev_hash`` as the
    anchor, so a chain whose oldest events were purged by retention still verifies.
    ``progress(checked, last_id)`` is called every ``progress_every`` events.
    """
    anchor: str | None = None
    prev = GENESIS_HASH
    checked = 0
    first_id: int | None = None
    last_id: int | None = None
    for row in _iterate(chunk_size):
        (pk, prev_hash, stored_hash, *values) = row
        if anchor is None:
            anchor = prev = prev_hash
            first_id = pk
        if prev_hash != prev:
            return ChainVerification(
                False,
                checked,
                pk,
                _(
                    "prev_hash does not match the digest of the event before it "
                    "(an event was edited, inserted or deleted)"
                ),
                first_id=first_id,
                last_id=last_id,
                anchor=anchor,
                last_hash=prev,
            )
        if chain_digest(prev_hash, values) != stored_hash:
            return ChainVerification(
                False,
                checked,
                pk,
                _("content does not match its stored digest (the event was edited)"),
                first_id=first_id,
                last_id=last_id,
                anchor=anchor,
                last_hash=prev,
            )
        prev = stored_hash
        last_id = pk
        checked += 1
        if progress is not None and checked % progress_every == 0:
            progress(checked, pk)
    anchor = anchor if anchor is not None else GENESIS_HASH
    return ChainVerification(
        True,
        checked,
        first_id=first_id,
        last_id=last_id,
        anchor=anchor,
        last_hash=prev if checked else "",
        anchor_confirmed=None if anchor == GENESIS_HASH else _anchor_vouched(anchor),
    )


PURGE_ACTION = "audit.trail.purged"


def _anchor_vouched(anchor: str) -> bool:
    # Whoever purges old events records the digest of the last one removed as data["anchor"].
    return AuditEvent.objects.filter(action=PURGE_ACTION, data__anchor=anchor).exists()


def audit_chain_count() -> int:
    """How many events the chain holds now (for progress reports)."""
    return AuditEvent.objects.count()


def _iterate(chunk_size: int) -> Iterator[tuple]:
    # Keyset chunks: constant memory, and each chunk is an index range scan.
    last_id = 0
    while True:
        chunk = list(
            AuditEvent.objects.filter(id__gt=last_id)
            .order_by("id")
            .values_list(*_WALK_FIELDS)[:chunk_size]
        )
        if not chunk:
            return
        yield from chunk
        last_id = chunk[-1][0]
