"""Offboarding: what ends when a user's account is deactivated (docs/access.md, "Offboarding").

Deactivating an account (``is_active`` going from True to False, in the admin, a shell
``user.save()`` or at an OpenID Connect sign-in the identity provider refuses) calls
``user_offboard`` after the save commits (``apps/access/signals.py``). It ends:

- the user's live and scheduled grants: revoked now (``RevokeCode.HOLDER_OFFBOARDED``); their
  django-guardian mirror rows are removed by the mirror sync queued after commit (and by the
  reconcile if the broker is down); their accounts in other systems are removed by the
  connectors, which receive ``signals.grant_ended`` sent here (docs/connectors.md);
- the user's pending requests (their own, extensions included): cancelled
  (``DecisionCode.REQUESTER_OFFBOARDED``).

Requests the user was asked to approve stay pending: an approval given by a deactivated
approver stops counting at once (``selectors.counting_approvals`` keeps only active
approvers; invariant 9), so others have to decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record

from ..backends import grant_cache_clear
from ..models import AccessRequest, DecisionCode, Grant, GrantStatus, RequestStatus, RevokeCode
from ..signals import grant_ended
from ._common import _queue_mirror_sync, _refuse_control_characters
from .decisions import _record_decision

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: The audit action of an offboarding (one event per offboarding that ended something).
OFFBOARDED_ACTION = "access.user.offboarded"
#: Who offboarded when nobody signed in did it (a shell save, the sign-in backend).
SYSTEM_OFFBOARDING = "system:offboarding"


@dataclass(frozen=True)
class Offboarding:
    """What one ``user_offboard`` call ended: the ids of the grants revoked and of the
    requests cancelled, and its audit event (None when there was nothing left to end)."""

    user: User
    grant_ids: list[int]
    request_ids: list[int]
    event: AuditEvent | None


def user_offboard(*, user_id: int, actor: User | None, reason: str) -> Offboarding:
    """End what a deactivated user still holds or waits for, as one audit event.

    ``user_id``: the account (deactivated here too, without signals, if it is still
    active). ``actor``: who deactivated it (None: the system, ``SYSTEM_OFFBOARDING``).
    ``reason``: the record's free text (English, for the audit trail).

    Idempotent: a second call finds nothing live, scheduled or pending and writes no event
    (the first offboarding of a user with nothing to end still writes its event, with empty
    lists, so the deactivation is on the chain). Returns an ``Offboarding``; raises
    ``ValidationError`` if the user does not exist or the reason holds control characters.
    """
    reason = (reason or "").strip() or "The account was deactivated."
    _refuse_control_characters(reason=reason)
    user_model = get_user_model()
    with transaction.atomic(durable=True):
        user = user_model._default_manager.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise ValidationError(_("User #%(number)s does not exist.") % {"number": user_id})
        if user.is_active:
            user_model._default_manager.filter(pk=user_id).update(is_active=False)
            user.is_active = False
        now = timezone.now()
        grants = list(
            Grant.objects.select_for_update(of=("self",))
            .filter(user_id=user_id, revoked_at__isnull=True, ends_at__gt=now)
            .order_by("pk")
        )
        for grant in grants:
            grant.revoked_at = now
            grant.revoked_by = actor
            grant.revoke_reason = f"The holder was offboarded: {reason}"
            grant.revoke_code = RevokeCode.HOLDER_OFFBOARDED
            grant.status = GrantStatus.REVOKED
            grant.save(
                update_fields=["revoked_at", "revoked_by", "revoke_reason", "revoke_code", "status"]
            )
            _queue_mirror_sync(grant.pk)
        requests = list(
            AccessRequest.objects.pending()
            .select_for_update(of=("self",))
            .filter(requester_id=user_id)
            .order_by("pk")
        )
        for request in requests:
            _record_decision(
                request,
                status=RequestStatus.CANCELLED,
                decider=actor,
                code=DecisionCode.REQUESTER_OFFBOARDED,
                now=now,
            )
        grant_ids = [grant.pk for grant in grants]
        grant_ended.send(sender=Grant, grant_ids=grant_ids)
        request_ids = [request.pk for request in requests]
        event = None
        already = AuditEvent.objects.for_target(user).filter(action=OFFBOARDED_ACTION).exists()
        if grant_ids or request_ids or not already:
            event = audit_event_record(
                action=OFFBOARDED_ACTION,
                actor=actor,
                actor_label="" if actor else SYSTEM_OFFBOARDING,
                target=user,
                reason=reason,
                data={"grants_revoked": grant_ids, "requests_cancelled": request_ids},
            )
        grant_cache_clear(user)
    return Offboarding(user=user, grant_ids=grant_ids, request_ids=request_ids, event=event)
