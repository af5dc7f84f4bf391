"""Legal holds: place, review, lift. A hold keeps what it covers from every purge batch
that begins after it is placed (holds.py), until it is lifted with a reason."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record
from apps.inventory.models import DataAsset
from jitportal.formats import date_display
from jitportal.inputs import PROSE, checks_text, has_visible_text, line_of

from ..holds import holds_lock_exclusive
from ..models import HoldScope, LegalHold, LegalHoldRecord, RetentionRule
from ..validation import hold_record_ids_problem, parse_ids
from .common import Actor, _label, _portal_text, _user


@checks_text(
    reason=PROSE,
    reference=line_of(LegalHold, "reference"),
    raw_table=line_of(LegalHold, "raw_table"),
)
def legal_hold_place(
    *,
    scope: str,
    basis: str,
    reason: str,
    review_on: date,
    actor: Actor,
    reference: str = "",
    asset: DataAsset | None = None,
    rule: RetentionRule | None = None,
    content_type: ContentType | None = None,
    raw_table: str = "",
    object_ids: Iterable[Any] = (),
    actor_label: str = "",
) -> LegalHold:
    """Place a hold; from the next purge batch on, nothing it covers is purged.

    ``object_ids`` (a list, or text separated by commas or spaces) name the records of a
    hold on specific records (``scope`` records); they must exist. Raises ValidationError
    (field -> message) and writes nothing when the hold is not acceptable. Returns the
    saved hold. Legal source: Art. 17(3)(b) and (e), Art. 18 GDPR (``basis``).
    """
    hold = LegalHold(
        scope=scope,
        basis=basis,
        reason=(reason or "").strip(),
        reference=reference,
        review_on=review_on,
        asset=asset,
        rule=rule,
        content_type=content_type,
        raw_table=raw_table,
        placed_by=_user(actor),
        placed_by_label=_label(actor, actor_label),
    )
    hold.full_clean()
    ids = parse_ids(object_ids)
    if scope == HoldScope.RECORDS:
        problem = hold_record_ids_problem(content_type=content_type, raw_table=raw_table, ids=ids)
        if problem:
            raise ValidationError({"object_ids": problem})
    elif ids:
        raise ValidationError({"object_ids": _("Only a hold on specific records lists ids.")})
    with transaction.atomic(durable=True):
        # Wait for purge batches in flight: from here on every batch sees this hold.
        holds_lock_exclusive()
        hold.save()
        LegalHoldRecord.objects.bulk_create(
            [
                LegalHoldRecord(
                    hold=hold, content_type=content_type, raw_table=raw_table, object_id=pk
                )
                for pk in ids
            ]
        )
        audit_event_record(
            action="retention.hold.placed",
            actor=_user(actor),
            actor_label=_label(actor, actor_label),
            target=hold,
            reason=hold.reason,
            data={
                "scope": scope,
                "covers": _portal_text(lambda: hold.covers_label),
                "basis": basis,
                "reference": reference,
                "review_on": review_on,
                "object_ids": ids,
            },
        )
    return hold


@checks_text(reason=PROSE)
def legal_hold_lift(*, hold_id: int, actor: Actor, reason: str, actor_label: str = "") -> LegalHold:
    """Lift a hold; a reason is required. What it covered becomes purgeable again.

    Raises ValidationError when the reason is missing or not plain text, or the hold is
    already lifted; LegalHold.DoesNotExist when there is no such hold. Returns the hold.
    """
    reason = (reason or "").strip()
    if not has_visible_text(reason):
        raise ValidationError({"reason": _("Say why the hold is lifted.")})
    with transaction.atomic(durable=True):
        locked = LegalHold.objects.select_for_update().get(pk=hold_id)
        if locked.lifted_at is not None:
            raise ValidationError(
                _("Hold #%(id)s was already lifted on %(date)s.")
                % {"id": locked.pk, "date": date_display(locked.lifted_at)}
            )
        locked.lifted_at = timezone.now()
        locked.lifted_by = _user(actor)
        locked.lift_reason = reason
        locked.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        audit_event_record(
            action="retention.hold.lifted",
            actor=_user(actor),
            actor_label=_label(actor, actor_label),
            target=locked,
            reason=reason,
            data={
                "covers": _portal_text(lambda: locked.covers_label),
                "placed_at": locked.placed_at,
            },
        )
    return locked


@checks_text(note=PROSE)
def legal_hold_review(*, hold_id: int, actor: Actor, review_on: date, note: str = "") -> LegalHold:
    """Record that a hold was reviewed and when it is next reviewed.

    Raises ValidationError when the date is in the past or the hold is lifted;
    LegalHold.DoesNotExist when there is no such hold. Returns the hold.
    """
    if review_on < timezone.localdate():
        raise ValidationError({"review_on": _("The next review date cannot be in the past.")})
    with transaction.atomic(durable=True):
        locked = LegalHold.objects.select_for_update().get(pk=hold_id)
        if locked.lifted_at is not None:
            raise ValidationError(_("A lifted hold is not reviewed any more."))
        previous = locked.review_on
        locked.review_on = review_on
        locked.save(update_fields=["review_on"])
        audit_event_record(
            action="retention.hold.reviewed",
            actor=_user(actor),
            actor_label=_label(actor, ""),
            target=locked,
            reason=note,
            data={"previous_review_on": previous, "review_on": review_on},
        )
    return locked
