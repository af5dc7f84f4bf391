"""The checks every decision makes at the moment it is taken (docs/architecture.md,
invariant 9), and the writes a decision shares: lapse, refusal texts, ending a grant whose
holder is no longer entitled, cancelling pending extensions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_event_record
from jitportal.durations import duration_text
from jitportal.formats import datetime_display

from ..backends import grant_cache_clear
from ..models import AccessRequest, Grant, GrantStatus, RequestStatus
from ..policies import Policy
from ..selectors import decider_capacity, request_ineligibility, request_lapse_time
from ._common import (
    LAPSE_COMMENT,
    SYSTEM_POLICY,
    _fresh_user,
    _lock_request,
    _notify,
    _window_data,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _check_decidable(*, request: AccessRequest, approver: User, now: datetime) -> set[str]:
    if request.requester_id == approver.pk:
        raise PermissionDenied("Nobody can decide their own request.")
    if request.status != RequestStatus.PENDING:
        raise ValidationError(
            f"Request #{request.pk} was already {request.get_status_display().lower()}; "
            "nothing was changed."
        )
    capacity = decider_capacity(request=request, user=approver)
    if not capacity:
        raise PermissionDenied(
            f"You are not an approver for {request.target_label}; nothing was changed."
        )
    if request.approvals.filter(approver=approver).exists():
        raise ValidationError(
            "You have already decided on this request; another approver has to decide now."
        )
    return capacity


# --- re-checks at the moment of a decision (docs/access.md, "Decisions are re-checked") ---


def _request_lapse(request: AccessRequest, *, now: datetime, noticed_by: User | None) -> None:
    """Mark a pending request lapsed now, as the reconcile's sweep would."""
    lapse = request_lapse_time(request)
    _record_decision(
        request, status=RequestStatus.LAPSED, decider=None, comment=LAPSE_COMMENT, now=now
    )
    audit_event_record(
        action="access.request.lapsed",
        actor_label=SYSTEM_POLICY,
        target=request,
        reason=LAPSE_COMMENT,
        data={
            "lapses_at": lapse.isoformat(),
            "noticed_by": noticed_by.get_username() if noticed_by else None,
        },
    )
    _notify("request_decided", request.pk)


def _lapse_if_due(*, request_id: int, decider: User) -> None:
    """Before a decision, read the clock: a pending request past its lapse time
    (``selectors.request_lapse_time``, whatever the status column says) is lapsed now, with
    its audit event and notice, in a transaction of its own that commits before the
    decision is refused (called outside a transaction, as views and tasks do)."""
    with transaction.atomic(durable=True):
        request = _lock_request(request_id)
        now = timezone.now()
        _check_decidable(request=request, approver=decider, now=now)
        lapse = request_lapse_time(request)
        if lapse > now:
            return
        _request_lapse(request, now=now, noticed_by=decider)
    raise ValidationError(_lapsed_message(request_id, lapse))


def _lapsed_message(request_id: int, lapse: datetime) -> str:
    return (
        f"Request #{request_id} lapsed at {datetime_display(lapse)}: nobody "
        "decided it in time, so it can no longer be decided. It is now marked lapsed; "
        "nothing else was changed."
    )


def _refuse_if_lapsed(request: AccessRequest, *, now: datetime) -> None:
    """The same clock check inside the decision's own transaction (a lapse time passed
    while waiting for the lock): refused; the sweep marks it."""
    lapse = request_lapse_time(request)
    if lapse <= now:
        raise ValidationError(_lapsed_message(request.pk, lapse))


def _refuse_if_ineligible(request: AccessRequest, *, doing: str, what: str = "") -> None:
    """Refuse when the requester is no longer active or no longer eligible for what the
    request asks for (``selectors.request_ineligibility``); nothing is changed."""
    if why := request_ineligibility(request):
        what = what or f"Request #{request.pk}"
        raise ValidationError(f"{what} cannot be {doing}: {why}. Nothing was changed.")


def _extension_reach_error(*, grant: Grant, ends_at: datetime, policy: Policy) -> str:
    """Why moving ``grant``'s end to ``ends_at`` would reach further from its start than
    the policy's ``max_total_duration`` allows ('' when it does not)."""
    limit = policy.max_total_duration
    reach = ends_at - grant.starts_at
    if reach <= limit:
        return ""
    latest = timezone.localtime(grant.starts_at + limit)
    return (
        f"One grant may reach at most {duration_text(limit)} from its start through "
        f"extensions (this would reach {duration_text(reach)}); the latest end is "
        f"{datetime_display(latest)}. Ask for access again instead."
    )


def _grant_end_unentitled(grant: Grant, *, why: str, now: datetime) -> None:
    """A scheduled grant whose holder is no longer entitled at its start never becomes
    live: it is revoked (no one revoked it: ``revoked_by`` stays empty), with the reason,
    an ``access.grant.revoked`` event, its pending extensions cancelled and the holder told."""
    reason = f"Ended at its start: {why}."
    grant.revoked_at = now
    grant.revoke_reason = reason
    grant.status = GrantStatus.REVOKED
    grant.save(update_fields=["revoked_at", "revoke_reason", "status"])
    audit_event_record(
        action="access.grant.revoked",
        actor_label=SYSTEM_POLICY,
        target=grant,
        reason=reason,
        data={
            "holder": grant.user_id,
            "not_entitled": True,
            **_window_data(grant.starts_at, grant.ends_at),
        },
    )
    _cancel_pending_extensions(grant=grant, actor=None, why=reason, now=now)
    grant_cache_clear(grant.user)
    _notify("grant_revoked", grant.pk)


def _cancel_pending_extensions(
    *, grant: Grant, actor: User | None, why: str, now: datetime | None = None
) -> None:
    """Cancel the extensions of ``grant`` still waiting for a decision (it ended or was
    taken away); ``actor`` None is the policy's doing."""
    now = now or timezone.now()
    for request in AccessRequest.objects.pending().filter(extends_grant=grant).select_for_update():
        _record_decision(
            request, status=RequestStatus.CANCELLED, decider=actor, comment=why, now=now
        )
        audit_event_record(
            action="access.request.cancelled",
            actor=actor,
            actor_label="" if actor else SYSTEM_POLICY,
            target=request,
            reason=why,
        )


def _record_decision(
    request: AccessRequest,
    *,
    status: RequestStatus,
    decider: User | None,
    comment: str,
    now: datetime,
) -> None:
    """Write a request's outcome: its status, when, who decided (None: nobody, the policy
    or the clock) and the comment shown with it."""
    request.status = status
    request.decided_at = now
    request.decided_by = decider
    request.decision_comment = comment
    request.save(update_fields=["status", "decided_at", "decided_by", "decision_comment"])


def _decider_checked(*, request_id: int, approver: User) -> User:
    """Before an approval or a denial, outside its transaction: ``approver`` as the
    database has them now, and the request lapsed (and the decision refused) if its time
    has passed (``_lapse_if_due``)."""
    approver = _fresh_user(approver)
    _lapse_if_due(request_id=request_id, decider=approver)
    return approver


def _open_decision(*, request_id: int, approver: User) -> tuple[AccessRequest, set[str], datetime]:
    """The start of an approval or a denial, inside its transaction: lock the request, read
    the clock, check ``approver`` may decide it now and that it has not lapsed while waiting
    for the lock. Returns (the locked request, the approver's capacity, now)."""
    request = _lock_request(request_id)
    now = timezone.now()
    capacity = _check_decidable(request=request, approver=approver, now=now)
    _refuse_if_lapsed(request, now=now)
    return request, capacity, now
