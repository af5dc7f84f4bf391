"""Services of access requests: submit, extend, cancel, approve, deny.

Each takes the ids of the rows it changes and the acting user, locks those rows, checks
their state, writes, records the audit event in the same transaction and queues its side
effects for after commit (docs/architecture.md, "Services, selectors, tasks").
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record
from apps.inventory.models import DataAsset, ProcessingActivity
from jitportal.durations import duration_text
from jitportal.formats import datetime_display
from jitportal.inputs import TEXT_MAX_LENGTH, has_visible_text, text_problem
from jitportal.timekeeping import as_utc, elapsed_between

from ..backends import grant_cache_clear
from ..models import (
    AccessRequest,
    AccessRole,
    Approval,
    Decision,
    DecisionCode,
    Grant,
    GrantStatus,
    RequestStatus,
)
from ..policies import ACTIONS, NO_TICKET_HINT, Policy, effective_policy, requestable_roles_for
from ..selectors import approvals_no_longer_counting, approvals_still_needed, counting_approvals
from ..signals import grant_window_changed
from ._common import (
    AUTO_APPROVED_REASON,
    START_SLACK,
    SYSTEM_POLICY,
    _has_ended,
    _is_aware,
    _lock_grant,
    _lock_request,
    _notify,
    _queue_activation,
    _refuse_control_characters,
    _window_data,
)
from .decisions import (
    _channel_checked,
    _decider_checked,
    _extension_reach_error,
    _open_decision,
    _record_decision,
    _refuse_if_ineligible,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _validate_text_fields(
    *,
    policy: Policy,
    justification: str,
    ticket: str,
    processing_activity: ProcessingActivity | None,
    errors: dict[str, str],
) -> None:
    if policy.require_justification and not has_visible_text(justification):
        errors["justification"] = _("Say why you need this access; this policy requires it.")
    elif problem := text_problem(justification, max_length=TEXT_MAX_LENGTH):
        errors["justification"] = problem
    ticket_max = AccessRequest._meta.get_field("ticket").max_length
    assert ticket_max is not None, "AccessRequest.ticket is a CharField with a max_length"
    if ticket and len(ticket) > ticket_max:
        errors["ticket"] = _("The ticket reference is too long (100 characters at most).")
    elif policy.require_ticket and not ticket:
        errors["ticket"] = _("Give the ticket this access is for; this policy requires one.")
    elif ticket and not policy.ticket_matches(ticket):
        # Staff are told what the DPO wrote for them (the role's ticket hint), never the pattern.
        errors["ticket"] = _(
            "“%(ticket)s” is not a ticket reference this policy accepts. Expected: %(hint)s."
        ) % {"ticket": ticket, "hint": (policy.ticket_hint_text or NO_TICKET_HINT).rstrip(".")}
    if problem := text_problem(ticket, multiline=False):
        errors["ticket"] = problem
    if processing_activity is not None and not processing_activity.is_active:
        errors["processing_activity"] = _(
            "“%(activity)s” is no longer an active processing activity."
        ) % {"activity": processing_activity}


def _check_window(
    *, policy: Policy, starts_at: Any, ends_at: Any, now: datetime, errors: dict[str, str]
) -> datetime | None:
    """Validate the window; returns the effective start (a start just past is now)."""
    if not _is_aware(starts_at):
        errors["starts_at"] = _("Give a start date and time.")
    if not _is_aware(ends_at):
        errors["ends_at"] = _("Give an end date and time.")
    if errors.keys() & {"starts_at", "ends_at"}:
        return None
    # Durations are elapsed time: compared in UTC, whatever zone the values carry.
    start, ends_at = as_utc(starts_at), as_utc(ends_at)
    if start < now - START_SLACK:
        errors["starts_at"] = _("The start cannot be in the past.")
        return None
    start = max(start, now)
    if start > now + START_SLACK:
        if not policy.allow_future_start:
            errors["starts_at"] = _("This policy does not allow a later start; start now.")
        elif start > now + policy.max_start_ahead:
            errors["starts_at"] = _("The start can be at most %(ahead)s ahead.") % {
                "ahead": duration_text(policy.max_start_ahead)
            }
    if ends_at <= start:
        errors["ends_at"] = _("The end must be after the start.")
    elif elapsed_between(start, ends_at) > policy.max_duration:
        errors["ends_at"] = _(
            "At most %(limit)s can be asked for at once (this asks for %(asked)s)."
        ) % {
            "limit": duration_text(policy.max_duration),
            "asked": duration_text(elapsed_between(start, ends_at)),
        }
    return start


def _snapshot(policy: Policy, **extra: Any) -> dict[str, Any]:
    data = policy.as_snapshot()
    data.update(extra)
    return data


def _request_open(
    request: AccessRequest, *, policy: Policy, now: datetime, data: dict[str, Any]
) -> None:
    """Validate and save a new request, record it, then approve it at once (a policy that
    needs nobody) or tell its approvers. ``data`` adds to the audit event's window and policy."""
    request.full_clean()
    request.save()
    audit_event_record(
        action="access.request.submitted",
        actor=request.requester,
        target=request,
        reason=request.justification,
        data={
            **_window_data(request.starts_at, request.ends_at),
            **data,
            "policy": request.policy_snapshot,
        },
    )
    if policy.is_automatic:
        _approve_final(request=request, approver=None, comment="", now=now)
    else:
        _notify("request_submitted", request.pk)


def access_request_submit(
    *,
    requester: User,
    role: AccessRole | None = None,
    asset: DataAsset | None = None,
    starts_at: datetime,
    ends_at: datetime,
    justification: str = "",
    ticket: str = "",
    processing_activity: ProcessingActivity | None = None,
) -> AccessRequest:
    """Ask for ``role`` or a single ``asset`` for a window. A policy that needs no approval
    approves at once and creates the grant."""
    if not getattr(requester, "is_authenticated", False) or not requester.is_active:
        raise PermissionDenied(_("Only an active, signed-in user can ask for access."))
    if role is None and asset is None:
        raise ValidationError({"role": _("Choose a role or a single data asset.")})
    if role is not None and asset is not None:
        raise ValidationError({"role": _("Choose a role or a single data asset, not both.")})
    if role is not None:
        if not role.is_active:
            raise ValidationError(
                {"role": _("The role “%(role)s” is no longer offered.") % {"role": role}}
            )
        if not requestable_roles_for(requester).filter(pk=role.pk).exists():
            raise PermissionDenied(_("You may not ask for the role “%(role)s”.") % {"role": role})
    else:
        assert asset is not None
        if asset.archived_at is not None:
            raise ValidationError(
                {"asset": _("“%(asset)s” is archived: it is no longer offered.") % {"asset": asset}}
            )
        if not requestable_roles_for(requester).filter(assets=asset).exists():
            raise PermissionDenied(
                _("You may not ask for access to “%(asset)s”.") % {"asset": asset}
            )
    policy = effective_policy(role=role, asset=asset, user=requester)
    justification = (justification or "").strip()
    ticket = (ticket or "").strip()
    now = timezone.now()
    errors: dict[str, str] = {}
    start = _check_window(
        policy=policy, starts_at=starts_at, ends_at=ends_at, now=now, errors=errors
    )
    _validate_text_fields(
        policy=policy,
        justification=justification,
        ticket=ticket,
        processing_activity=processing_activity,
        errors=errors,
    )
    if errors:
        raise ValidationError(errors)
    assert start is not None
    ends_at = as_utc(ends_at)

    with transaction.atomic(durable=True):
        duplicate = (
            AccessRequest.objects.pending()
            .filter(requester=requester, role=role, asset=asset, extends_grant__isnull=True)
            .first()
        )
        if duplicate is not None:
            raise ValidationError(
                _(
                    "You already have a pending request for %(target)s (#%(number)s); cancel it "
                    "or wait for the decision."
                )
                % {"target": duplicate.target_label, "number": duplicate.pk}
            )
        request = AccessRequest(
            requester=requester,
            role=role,
            asset=asset,
            processing_activity=processing_activity,
            starts_at=start,
            ends_at=ends_at,
            justification=justification,
            ticket=ticket,
            approvals_required=policy.approvals_required,
            dpo_required=policy.dpo_required,
            policy_snapshot=_snapshot(
                policy, role_id=role.pk if role else None, asset_id=asset.pk if asset else None
            ),
            lapses_at=min(now + policy.pending_timeout, ends_at),
            remind_at=now + policy.remind_approvers_after,
            created_at=now,
        )
        _request_open(
            request,
            policy=policy,
            now=now,
            data={
                "ticket": ticket,
                "processing_activity": processing_activity.pk if processing_activity else None,
            },
        )
    return request


def access_request_extend(
    *,
    grant_id: int,
    requester: User,
    ends_at: datetime,
    justification: str = "",
    ticket: str = "",
) -> AccessRequest:
    """Ask for a live or scheduled grant to run until ``ends_at``; decided like any request,
    and its approval moves the grant's end (recorded as ``access.grant.extended``)."""
    try:
        grant = Grant.objects.select_related("request__role", "request__asset").get(pk=grant_id)
    except Grant.DoesNotExist:
        raise ValidationError(
            _("Grant #%(number)s does not exist.") % {"number": grant_id}
        ) from None
    if grant.user_id != requester.pk or not requester.is_active:
        raise PermissionDenied(_("Only the holder of a grant can ask to extend it."))
    now = timezone.now()
    if _has_ended(grant, now):
        raise ValidationError(_("This access has already ended; ask for access again instead."))
    if grant.is_break_glass:
        raise ValidationError(_("Break-glass access cannot be extended; ask for access instead."))
    original = grant.request
    role, asset = original.role, original.asset
    if role is not None and not role.is_active:
        raise ValidationError(
            _("The role “%(role)s” is no longer offered; it cannot be extended.") % {"role": role}
        )
    _refuse_if_ineligible(original, grant_id=grant.pk)
    policy = effective_policy(role=role, asset=asset, user=requester)
    justification = (justification or "").strip()
    ticket = (ticket or "").strip()
    errors: dict[str, str] = {}
    if not _is_aware(ends_at):
        errors["ends_at"] = _("Give the new end date and time.")
    elif ends_at <= grant.ends_at:
        errors["ends_at"] = _("The new end must be after the current end (%(end)s).") % {
            "end": datetime_display(grant.ends_at)
        }
    elif elapsed_between(grant.ends_at, ends_at) > policy.max_duration:
        errors["ends_at"] = _("An extension can add at most %(limit)s.") % {
            "limit": duration_text(policy.max_duration)
        }
    elif reach_error := _extension_reach_error(grant=grant, ends_at=ends_at, policy=policy):
        errors["ends_at"] = reach_error
    _validate_text_fields(
        policy=policy,
        justification=justification,
        ticket=ticket,
        processing_activity=None,
        errors=errors,
    )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic(durable=True):
        grant = _lock_grant(grant_id)
        if _has_ended(grant, now):
            raise ValidationError(_("This access has already ended; ask for access again instead."))
        if AccessRequest.objects.pending().filter(extends_grant=grant).exists():
            raise ValidationError(
                _("An extension of this access is already waiting for a decision.")
            )
        request = AccessRequest(
            requester=requester,
            role=role,
            asset=asset,
            processing_activity=original.processing_activity,
            starts_at=grant.ends_at,
            ends_at=ends_at,
            justification=justification,
            ticket=ticket,
            extends_grant=grant,
            approvals_required=policy.approvals_required,
            dpo_required=policy.dpo_required,
            policy_snapshot=_snapshot(
                policy,
                role_id=role.pk if role else None,
                asset_id=asset.pk if asset else None,
                extends_grant=grant.pk,
            ),
            # It has to be decided while the grant still runs.
            lapses_at=min(now + policy.pending_timeout, grant.ends_at),
            remind_at=now + policy.remind_approvers_after,
            created_at=now,
        )
        _request_open(
            request, policy=policy, now=now, data={"extends_grant": grant.pk, "ticket": ticket}
        )
    return request


def access_request_cancel(*, request_id: int, actor: User) -> AccessRequest:
    """The requester withdraws a pending request."""
    with transaction.atomic(durable=True):
        request = _lock_request(request_id)
        if request.requester_id != actor.pk:
            raise PermissionDenied(_("Only the person who asked can cancel a request."))
        if request.status != RequestStatus.PENDING:
            raise ValidationError(
                _(
                    "Request #%(number)s is already %(status)s; only a pending request can be "
                    "cancelled."
                )
                % {"number": request.pk, "status": request.get_status_display().lower()}
            )
        now = timezone.now()
        request.status = RequestStatus.CANCELLED
        request.decided_at = now
        request.decided_by = actor
        request.save(update_fields=["status", "decided_at", "decided_by"])
        audit_event_record(
            action="access.request.cancelled",
            actor=actor,
            target=request,
            data={"policy": request.policy_snapshot},
        )
    return request


def access_request_approve(
    *,
    request_id: int,
    approver: User,
    comment: str = "",
    ends_at: datetime | None = None,
    channel: str = "portal",
) -> AccessRequest:
    """Record one approval. When enough distinct eligible approvals (and the DPO's, when
    required) are in, the request is approved and exactly one grant is created (or, for an
    extension, the grant's end moves). ``ends_at`` may only shorten the window. ``channel``
    (one of ``decisions.DECISION_CHANNELS``, else ValueError) is where it was taken; the
    audit events record it."""
    channel = _channel_checked(channel)
    comment = (comment or "").strip()
    _refuse_control_characters(comment=comment)
    approver = _decider_checked(request_id=request_id, approver=approver)
    with transaction.atomic(durable=True):
        request, capacity, now = _open_decision(request_id=request_id, approver=approver)
        _refuse_if_ineligible(request)
        if request.ends_at <= now:
            raise ValidationError(
                _("The requested window has already ended; the request can only be denied.")
            )
        grant = None
        if request.extends_grant_id:
            grant = _lock_grant(request.extends_grant_id)
            if _has_ended(grant, now):
                raise ValidationError(
                    _("The access this request extends has already ended; deny it instead.")
                )
        # Only approvals that still count fill a slot (selectors.counting_approvals).
        has_dpo = counting_approvals().filter(request_id=request.pk, as_dpo=True).exists()
        if "dpo" in capacity and request.dpo_required and not has_dpo:
            as_dpo = True
        elif "approver" in capacity:
            as_dpo = False
        else:
            raise PermissionDenied(
                _(
                    "The DPO's approval is already in; an approver for %(target)s has to "
                    "approve now."
                )
                % {"target": request.target_label}
            )
        original_end = request.ends_at
        if ends_at is not None:
            floor = max(request.starts_at, now)
            if not _is_aware(ends_at):
                raise ValidationError({"ends_at": _("Give a date and time for the new end.")})
            if ends_at > request.ends_at:
                raise ValidationError(
                    {"ends_at": _("An approver can shorten the window, not lengthen it.")}
                )
            if ends_at <= floor:
                raise ValidationError(
                    {"ends_at": _("The shortened end must be after the start (and in the future).")}
                )
            if ends_at != request.ends_at:
                request.ends_at = ends_at
                request.save(update_fields=["ends_at"])
        approval = Approval(
            request=request,
            approver=approver,
            decision=Decision.APPROVE,
            as_dpo=as_dpo,
            comment=comment,
            created_at=now,
        )
        approval.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                approval.save()
        except IntegrityError:
            raise ValidationError(_("You have already decided on this request.")) from None
        missing = approvals_still_needed(request).total
        audit_event_record(
            action="access.approval.given",
            actor=approver,
            target=request,
            reason=comment,
            data={
                "as_dpo": as_dpo,
                "channel": channel,
                "approvals_still_needed": missing,
                "shortened_from": original_end.isoformat()
                if request.ends_at != original_end
                else None,
                "ends_at": request.ends_at.isoformat(),
                "no_longer_counting": [
                    a.approver.get_username() for a in approvals_no_longer_counting(request)
                ],
            },
        )
        if missing == 0:
            _approve_final(
                request=request,
                approver=approver,
                comment=comment,
                now=now,
                grant=grant,
                channel=channel,
            )
    return request


def _approve_final(
    *,
    request: AccessRequest,
    approver: User | None,
    comment: str,
    now: datetime,
    grant: Grant | None = None,
    channel: str = "",
) -> None:
    # ``channel``: where the last approval was taken ('' for the policy's own approval).
    # Every path to a grant passes here: the requester's facts are read again now.
    _refuse_if_ineligible(request)
    _record_decision(
        request,
        status=RequestStatus.APPROVED,
        decider=approver,
        comment=comment if approver else "",
        code="" if approver else DecisionCode.AUTO_APPROVED,
        now=now,
    )
    reason = comment if approver else AUTO_APPROVED_REASON
    actor_label = "" if approver else SYSTEM_POLICY
    if request.extends_grant_id:
        grant = grant or _lock_grant(request.extends_grant_id)
        if _has_ended(grant, now):
            raise ValidationError(_("The access this request extends has already ended."))
        policy = effective_policy(role=request.role, asset=request.asset, user=request.requester)
        if reach_error := _extension_reach_error(
            grant=grant, ends_at=request.ends_at, policy=policy
        ):
            raise ValidationError(
                _("Request #%(number)s cannot be approved: %(why)s")
                % {"number": request.pk, "why": reach_error}
            )
        previous = grant.ends_at
        grant.ends_at = max(grant.ends_at, request.ends_at)
        grant.expiry_warned_at = None
        grant.full_clean(exclude=["request", "user", "assets"])
        grant.save(update_fields=["ends_at", "expiry_warned_at"])
        audit_event_record(
            action="access.request.approved",
            actor=approver,
            actor_label=actor_label,
            target=request,
            reason=reason,
            data={
                "extends_grant": grant.pk,
                "channel": channel,
                "policy": request.policy_snapshot,
            },
        )
        audit_event_record(
            action="access.grant.extended",
            actor=approver,
            actor_label=actor_label,
            target=grant,
            reason=request.justification,
            data={
                "request": request.pk,
                "previous_ends_at": previous.isoformat(),
                "ends_at": grant.ends_at.isoformat(),
            },
        )
        grant_cache_clear(grant.user)
        grant_window_changed.send(sender=Grant, grant_ids=[grant.pk])
        _notify("request_decided", request.pk)
        return
    snap = request.policy_snapshot or {}
    new = Grant(
        request=request,
        user_id=request.requester_id,
        can_view=bool(snap.get("can_view", True)),
        can_change=bool(snap.get("can_change", False)),
        can_export=bool(snap.get("can_export", False)),
        starts_at=max(request.starts_at, now),
        ends_at=request.ends_at,
        status=GrantStatus.SCHEDULED,
        created_at=now,
    )
    new.full_clean(exclude=["assets"])
    new.save()
    if request.role is not None:
        # An asset archived since the role was set up is not granted any more.
        assets = list(request.role.assets.current())
    else:
        assert request.asset is not None, (
            "a request names a role or an asset (request_role_xor_asset)"
        )
        assets = [request.asset]
    new.assets.set(assets)
    audit_event_record(
        action="access.request.approved",
        actor=approver,
        actor_label=actor_label,
        target=request,
        reason=reason,
        data={
            "grant": new.pk,
            **_window_data(new.starts_at, new.ends_at),
            "assets": [a.pk for a in assets],
            "rights": [a for a in ACTIONS if getattr(new, f"can_{a}")],
            "approvers": list(
                request.approvals.filter(decision=Decision.APPROVE).values_list(
                    "approver__username", flat=True
                )
            ),
            "policy": request.policy_snapshot,
            "channel": channel,
        },
    )
    grant_cache_clear(request.requester)
    _queue_activation(new.pk, approver.pk if approver else None)
    _notify("request_decided", request.pk)


def access_request_deny(
    *, request_id: int, approver: User, reason: str, channel: str = "portal"
) -> AccessRequest:
    """One eligible approver's denial ends a pending request; a reason is required.
    ``channel`` (one of ``decisions.DECISION_CHANNELS``, else ValueError) is where it was
    taken; the audit event records it."""
    channel = _channel_checked(channel)
    reason = (reason or "").strip()
    if not has_visible_text(reason):
        raise ValidationError({"reason": _("Give a reason for the denial.")})
    _refuse_control_characters(reason=reason)
    approver = _decider_checked(request_id=request_id, approver=approver)
    with transaction.atomic(durable=True):
        request, capacity, now = _open_decision(request_id=request_id, approver=approver)
        approval = Approval(
            request=request,
            approver=approver,
            decision=Decision.DENY,
            as_dpo="approver" not in capacity,
            comment=reason,
            created_at=now,
        )
        approval.full_clean(validate_unique=False)
        approval.save()
        _record_decision(
            request, status=RequestStatus.DENIED, decider=approver, comment=reason, now=now
        )
        audit_event_record(
            action="access.request.denied",
            actor=approver,
            target=request,
            reason=reason,
            data={
                "as_dpo": approval.as_dpo,
                "channel": channel,
                "policy": request.policy_snapshot,
            },
        )
        _notify("request_decided", request.pk)
    return request
