"""Writes of the reports app: freezing a record of processing."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record
from jitportal.inputs import checks_text, line_of

from .models import RopaRecord, RopaSnapshot
from .ropa import SCHEMA_VERSION, ropa_build
from .snapshots import content_digest


@checks_text(note=line_of(RopaSnapshot, "note"))
def ropa_snapshot_take(
    *,
    taken_by: User | None,
    processor: bool = False,
    note: str = "",
    actor_label: str = "",
) -> RopaSnapshot:
    """Freeze the record of processing as it is now, with the SHA-256 of its canonical JSON.

    The frozen record is in the organisation's language (``LANGUAGE_CODE``) whoever takes
    it, so that two snapshots compare value with value. Raises ``PermissionDenied`` when
    ``taken_by`` may not take snapshots.
    """
    if taken_by is not None and not taken_by.has_perm("reports.add_ropasnapshot"):
        raise PermissionDenied(_("You may not take ROPA snapshots."))
    now = timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        content = ropa_build(processor=processor, now=now)
    label = actor_label or (taken_by.get_username() if taken_by is not None else "system")
    snapshot = RopaSnapshot(
        taken_at=now,
        taken_by=taken_by,
        taken_by_label=label[:150],
        record=RopaRecord.PROCESSOR if processor else RopaRecord.CONTROLLER,
        note=(note or "").strip(),
        schema_version=SCHEMA_VERSION,
        content=content,
        digest=content_digest(content),
        activity_count=content["summary"]["activities"],
        gaps_total=content["summary"]["gaps_total"],
    )
    snapshot.full_clean()
    with transaction.atomic(durable=True):
        snapshot.save()
        audit_event_record(
            action="reports.ropa.snapshot_taken",
            actor=taken_by,
            actor_label=actor_label,
            target=snapshot,
            reason=snapshot.note,
            data={
                "record": snapshot.record,
                "digest": snapshot.digest,
                "activities": snapshot.activity_count,
                "gaps": snapshot.gaps_total,
            },
        )
    return snapshot
