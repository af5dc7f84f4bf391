"""Services of grants: activate, mirror sync, revoke, give back, break-glass, review, and
the log of a governed record read under a grant.

Access is decided from grant times at the moment of use (``backends.GrantBackend``); the
tasks and the periodic reconcile only tidy up (docs/architecture.md, invariants 1 and 2).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from apps.inventory.models import DataAsset
from jitportal.durations import duration_text
from jitportal.inputs import TEXT_MAX_LENGTH, has_visible_text, text_problem

from ..backends import grant_cache_clear
from ..models import (
    AccessRequest,
    DecisionCode,
    Grant,
    GrantStatus,
    RequestStatus,
    RevokeCode,
)
from ..policies import ACTIONS
from ..selectors import request_ineligibility
from ..signals import grant_ended, grant_live
from ._common import (
    SYSTEM_BEAT,
    _conf,
    _fresh_user,
    _has_ended,
    _lock_grant,
    _notify,
    _queue_mirror_sync,
    _refuse_control_characters,
    _window_data,
)
from .decisions import _cancel_pending_extensions, _grant_end_unentitled
from .mirror import mirror_add, mirror_remove

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def grant_activate(
    *, grant_id: int, now: datetime | None = None, actor: User | None = None
) -> Grant | None:
    """Mark a scheduled grant whose window has begun active and mirror it. Idempotent."""
    with transaction.atomic(durable=True):
        grant = Grant.objects.select_for_update(of=("self",)).filter(pk=grant_id).first()
        if grant is None:
            return None
        now = now or timezone.now()
        if grant.status != GrantStatus.SCHEDULED or not grant.is_live(now):
            return grant
        if why := request_ineligibility(grant.request):
            _grant_end_unentitled(grant, why=why, now=now)
            return grant
        mirror_add(grant_ids=[grant.pk])
        grant.status = GrantStatus.ACTIVE
        grant.mirrored = True
        grant.save(update_fields=["status", "mirrored"])
        audit_event_record(
            action="access.grant.activated",
            actor=actor,
            actor_label="" if actor else SYSTEM_BEAT,
            target=grant,
            data=_window_data(grant.starts_at, grant.ends_at),
        )
        grant_live.send(sender=Grant, grant_ids=[grant.pk])
    return grant


def grant_mirror_sync(*, grant_id: int, now: datetime | None = None) -> Grant | None:
    """Remove the guardian rows of a grant that no longer gives access. Idempotent."""
    with transaction.atomic(durable=True):
        grant = Grant.objects.select_for_update(of=("self",)).filter(pk=grant_id).first()
        if grant is None:
            return None
        now = now or timezone.now()
        if grant.is_live(now) or not grant.mirrored:
            return grant
        mirror_remove(grant_ids=[grant.pk], now=now)
        grant.mirrored = False
        grant.save(update_fields=["mirrored"])
    return grant


def grant_revoke(*, grant_id: int, actor: User, reason: str) -> Grant:
    """Take a scheduled or live grant away at once; a reason is required."""
    reason = (reason or "").strip()
    if not actor.is_active or not actor.has_perm("access.revoke_grant"):
        raise PermissionDenied(_("You may not revoke access."))
    if not has_visible_text(reason):
        raise ValidationError({"reason": _("Give a reason for revoking this access.")})
    _refuse_control_characters(reason=reason)
    with transaction.atomic(durable=True):
        grant = _lock_grant(grant_id)
        now = timezone.now()
        if _has_ended(grant, now):
            raise ValidationError(
                _("Grant #%(number)s has already ended; nothing was changed.")
                % {"number": grant.pk}
            )
        grant.revoked_at = now
        grant.revoked_by = actor
        grant.revoke_reason = reason
        grant.status = GrantStatus.REVOKED
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "status"])
        audit_event_record(
            action="access.grant.revoked",
            actor=actor,
            target=grant,
            reason=reason,
            data={"holder": grant.user_id, **_window_data(grant.starts_at, grant.ends_at)},
        )
        _cancel_pending_extensions(
            grant=grant, actor=actor, why="The access was revoked.", code=DecisionCode.GRANT_REVOKED
        )
        grant_cache_clear(grant.user)
        _queue_mirror_sync(grant.pk)
        grant_ended.send(sender=Grant, grant_ids=[grant.pk])
        _notify("grant_revoked", grant.pk)
    return grant


def grant_relinquish(*, grant_id: int, actor: User) -> Grant:
    """The holder gives access back early: it ends now, or never starts.

    Either way the grant is ``revoked`` (an end someone chose, not a lapse: the DPO's
    register tells it apart from ``expired``), ``revoked_at`` now and ``revoked_by`` the
    holder, with ``revoke_code`` ``given_back`` (it was live) or ``given_back_early`` (it
    had not started); its window (``ends_at``) keeps the planned end, as every revoke does.
    One ``access.grant.relinquished`` event (data: ``holder``, ``previous_ends_at``,
    ``ended_at``, ISO 8601). Raises ``PermissionDenied`` for anyone but the holder and
    ``ValidationError`` once it has ended.
    """
    with transaction.atomic(durable=True):
        grant = _lock_grant(grant_id)
        if grant.user_id != actor.pk:
            raise PermissionDenied(_("Only the holder can give this access back."))
        now = timezone.now()
        if _has_ended(grant, now):
            raise ValidationError(_("This access has already ended; nothing was changed."))
        started = grant.starts_at < now
        grant.revoked_at = now
        grant.revoked_by = actor
        # The record keeps the portal's own words; people read revoke_code's text.
        if started:
            grant.revoke_reason = "Given back by the holder before its end."
            grant.revoke_code = RevokeCode.GIVEN_BACK
        else:
            # Not started yet: it is withdrawn and never gives access.
            grant.revoke_reason = "Given back by the holder before it started."
            grant.revoke_code = RevokeCode.GIVEN_BACK_EARLY
        grant.status = GrantStatus.REVOKED
        grant.save(
            update_fields=["revoked_at", "revoked_by", "revoke_reason", "revoke_code", "status"]
        )
        audit_event_record(
            action="access.grant.relinquished",
            actor=actor,
            target=grant,
            data={
                "holder": grant.user_id,
                "previous_ends_at": grant.ends_at.isoformat(),
                "ended_at": now.isoformat(),
            },
        )
        _cancel_pending_extensions(
            grant=grant,
            actor=actor,
            why="The access was given back.",
            code=DecisionCode.GRANT_GIVEN_BACK,
        )
        grant_cache_clear(actor)
        _queue_mirror_sync(grant.pk)
        grant_ended.send(sender=Grant, grant_ids=[grant.pk])
    return grant


def grant_break_glass(
    *,
    user: User,
    asset: DataAsset,
    duration: timedelta,
    reason: str,
    can_change: bool = False,
    can_export: bool = False,
) -> Grant:
    """Immediate self-granted access for an emergency: short, reasoned, flagged for the
    DPO's review, and the DPO group is emailed at once."""
    current = _fresh_user(user)
    if not current.is_active or not current.has_perm("access.break_glass"):
        raise PermissionDenied(_("You may not take break-glass access."))
    reason = (reason or "").strip()
    limit: timedelta = _conf("BREAK_GLASS_MAX")
    errors: dict[str, str] = {}
    if not has_visible_text(reason):
        errors["reason"] = _("Say what the emergency is; break-glass access needs a reason.")
    elif problem := text_problem(reason, max_length=TEXT_MAX_LENGTH):
        errors["reason"] = problem
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        errors["duration"] = _("Give a duration longer than zero.")
    elif duration > limit:
        errors["duration"] = _("Break-glass access lasts at most %(limit)s.") % {
            "limit": duration_text(limit)
        }
    if not isinstance(asset, DataAsset):
        errors["asset"] = _("Choose the data asset.")
    elif asset.archived_at is not None:
        errors["asset"] = _("“%(asset)s” is archived: it is no longer offered.") % {"asset": asset}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(durable=True):
        now = timezone.now()
        request = AccessRequest(
            requester=user,
            asset=asset,
            starts_at=now,
            ends_at=now + duration,
            justification=reason,
            is_break_glass=True,
            status=RequestStatus.APPROVED,
            approvals_required=0,
            dpo_required=False,
            policy_snapshot={
                "break_glass": True,
                "break_glass_max": int(limit.total_seconds()),
                "can_view": True,
                "can_change": can_change,
                "can_export": can_export,
            },
            created_at=now,
            decided_at=now,
            decided_by=user,
            decision_code=DecisionCode.BREAK_GLASS,
        )
        request.full_clean()
        request.save()
        grant = Grant(
            request=request,
            user=user,
            can_view=True,
            can_change=can_change,
            can_export=can_export,
            starts_at=now,
            ends_at=now + duration,
            status=GrantStatus.ACTIVE,
            is_break_glass=True,
            needs_review=True,
            mirrored=True,
            created_at=now,
        )
        grant.full_clean(exclude=["assets"])
        grant.save()
        grant.assets.set([asset])
        mirror_add(grant_ids=[grant.pk])
        audit_event_record(
            action="access.breakglass.used",
            actor=user,
            target=grant,
            reason=reason,
            data={
                "asset": asset.pk,
                "asset_name": str(asset),
                "special": asset.is_special,
                "request": request.pk,
                "rights": [a for a in ACTIONS if getattr(grant, f"can_{a}")],
                **_window_data(grant.starts_at, grant.ends_at),
                "policy": request.policy_snapshot,
            },
        )
        grant_cache_clear(user)
        grant_live.send(sender=Grant, grant_ids=[grant.pk])
        _notify("break_glass", grant.pk)
    return grant


def grant_mark_reviewed(*, grant_id: int, reviewer: User, comment: str = "") -> Grant:
    """The DPO confirms a break-glass use was looked at."""
    if not reviewer.is_active or not reviewer.has_perm("access.review_grant"):
        raise PermissionDenied(_("You may not review break-glass access."))
    _refuse_control_characters(comment=(comment or "").strip())
    with transaction.atomic(durable=True):
        grant = _lock_grant(grant_id)
        if grant.user_id == reviewer.pk:
            raise PermissionDenied(_("Someone else has to review your own break-glass access."))
        if not grant.is_break_glass or not grant.needs_review:
            raise ValidationError(
                _("Grant #%(number)s does not wait for a review.") % {"number": grant.pk}
            )
        grant.needs_review = False
        grant.reviewed_at = timezone.now()
        grant.reviewed_by = reviewer
        grant.save(update_fields=["needs_review", "reviewed_at", "reviewed_by"])
        audit_event_record(
            action="access.breakglass.reviewed",
            actor=reviewer,
            target=grant,
            reason=(comment or "").strip(),
            data={"holder": grant.user_id},
        )
    return grant


def access_record_view_log(*, user: User, obj: models.Model, grant: Grant) -> AuditEvent:
    """Record that ``user`` looked at a governed record under ``grant``."""
    ct = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    asset_ids = list(grant.assets.filter(governed_model=ct).values_list("pk", flat=True))
    return audit_event_record(
        action="access.record.viewed",
        actor=user,
        target=obj,
        data={"grant": grant.pk, "assets": asset_ids, "model": obj._meta.label_lower},
    )
