"""The checks every decision makes at the moment it is taken (docs/architecture.md,
invariant 9), and the writes a decision shares: lapse, refusal texts, ending a grant whose
holder is no longer entitled, cancelling pending extensions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record
from jitportal.durations import duration_text
from jitportal.formats import datetime_display

from ..backends import grant_cache_clear
from ..models import AccessRequest, DecisionCode, Grant, GrantStatus, RequestStatus, RevokeCode
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


#: Where a decision can be taken (recorded as ``channel`` in its audit event): the portal's
#: pages, the admin, the REST API and Slack's interactive messages.
DECISION_CHANNELS = ("portal", "admin", "api", "slack")


def _channel_checked(channel: str) -> str:
    """``channel`` when it is one of ``DECISION_CHANNELS``; else ValueError (a programming
    error of the caller, never something a person typed)."""
    if channel not in DECISION_CHANNELS:
        raise ValueError(f"Unknown decision channel {channel!r}; one of {DECISION_CHANNELS}")
    return channel


def _check_decidable(*, request: AccessRequest, approver: User, now: datetime) -> set[str]:
    if request.requester_id == approver.pk:
        raise PermissionDenied(_("Nobody can decide their own request."))
    if request.status != RequestStatus.PENDING:
        raise ValidationError(
            _("Request #%(number)s was already %(status)s; nothing was changed.")
            % {"number": request.pk, "status": request.get_status_display().lower()}
        )
    capacity = decider_capacity(request=request, user=approver)
    if not capacity:
        raise PermissionDenied(
            _("You are not an approver for %(target)s; nothing was changed.")
            % {"target": request.target_label}
        )
    if request.approvals.filter(approver=approver).exists():
        raise ValidationError(
            _("You have already decided on this request; another approver has to decide now.")
        )
    return capacity


# --- re-checks at the moment of a decision (docs/access.md, "Decisions are re-checked") ---


def _request_lapse(request: AccessRequest, *, now: datetime, noticed_by: User | None) -> None:
    """Mark a pending request lapsed now, as the reconcile's sweep would."""
    lapse = request_lapse_time(request)
    _record_decision(
        request, status=RequestStatus.LAPSED, decider=None, code=DecisionCode.LAPSED, now=now
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
    return _(
        "Request #%(number)s lapsed at %(lapse)s: nobody decided it in time, so it can no "
        "longer be decided. It is now marked lapsed; nothing else was changed."
    ) % {"number": request_id, "lapse": datetime_display(lapse)}


def _refuse_if_lapsed(request: AccessRequest, *, now: datetime) -> None:
    """The same clock check inside the decision's own transaction (a lapse time passed
    while waiting for the lock): refused; the sweep marks it."""
    lapse = request_lapse_time(request)
    if lapse <= now:
        raise ValidationError(_lapsed_message(request.pk, lapse))


def _refuse_if_ineligible(request: AccessRequest, *, grant_id: int | None = None) -> None:
    """Refuse when the requester is no longer active or no longer eligible for what the
    request asks for (``selectors.request_ineligibility``); nothing is changed."""
    if why := request_ineligibility(request):
        if grant_id is not None:
            text = _("Grant #%(number)s cannot be extended: %(why)s. Nothing was changed.")
            raise ValidationError(text % {"number": grant_id, "why": why})
        text = _("Request #%(number)s cannot be approved: %(why)s. Nothing was changed.")
        raise ValidationError(text % {"number": request.pk, "why": why})


def _extension_reach_error(*, grant: Grant, ends_at: datetime, policy: Policy) -> str:
    """Why moving ``grant``'s end to ``ends_at`` would reach further from its start than
    the policy's ``max_total_duration`` allows ('' when it does not)."""
    limit = policy.max_total_duration
    reach = ends_at - grant.starts_at
    if reach <= limit:
        return ""
    latest = timezone.localtime(grant.starts_at + limit)
    return _(
        "One grant may reach at most %(limit)s from its start through extensions (this "
        "would reach %(reach)s); the latest end is %(latest)s. Ask for access again instead."
    ) % {
        "limit": duration_text(limit),
        "reach": duration_text(reach),
        "latest": datetime_display(latest),
    }


def _grant_end_unentitled(grant: Grant, *, why: str, now: datetime) -> None:
    """A scheduled grant whose holder is no longer entitled at its start never becomes
    live: it is revoked (no one revoked it: ``revoked_by`` stays empty), with the reason,
    an ``access.grant.revoked`` event, its pending extensions cancelled and the holder told."""
    # The record keeps the reason in the portal's own words (people read revoke_code).
    with translation.override(None):
        why = request_ineligibility(grant.request) or why
    reason = f"Ended at its start: {why}."
    grant.revoked_at = now
    grant.revoke_reason = reason
    grant.revoke_code = RevokeCode.NOT_ENTITLED
    grant.status = GrantStatus.REVOKED
    grant.save(update_fields=["revoked_at", "revoke_reason", "revoke_code", "status"])
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
    _cancel_pending_extensions(
        grant=grant, actor=None, why=reason, code=DecisionCode.GRANT_NOT_ENTITLED, now=now
    )
    grant_cache_clear(grant.user)
    _notify("grant_revoked", grant.pk)


def _cancel_pending_extensions(
    *,
    grant: Grant,
    actor: User | None,
    why: str,
    code: DecisionCode,
    now: datetime | None = None,
) -> None:
    """Cancel the extensions of ``grant`` still waiting for a decision (it ended or was
    taken away): people read ``code``, the audit trail records ``why``; ``actor`` None is the
    policy's doing."""
    now = now or timezone.now()
    for request in AccessRequest.objects.pending().filter(extends_grant=grant).select_for_update():
        _record_decision(request, status=RequestStatus.CANCELLED, decider=actor, code=code, now=now)
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
    now: datetime,
    comment: str = "",
    code: DecisionCode | str = "",
) -> None:
    """Write a request's outcome: its status, when, who decided (None: nobody, the policy
    or the clock), the decider's own comment, or the code of the portal's reason (shown in
    the reader's language, ``AccessRequest.decision_text``)."""
    request.status = status
    request.decided_at = now
    request.decided_by = decider
    request.decision_comment = comment
    request.decision_code = code
    request.save(
        update_fields=["status", "decided_at", "decided_by", "decision_comment", "decision_code"]
    )


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
