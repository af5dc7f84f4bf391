"""What the access services share: the system actors, settings, locks, queueing, checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from jitportal.inputs import TEXT_MAX_LENGTH, text_problem
from jitportal.tasking import enqueue_on_commit

from ..models import AccessRequest, Grant, GrantStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SYSTEM_BEAT = "system:beat"
SYSTEM_POLICY = "system:policy"
# The audit trail's reasons for what the portal decides (records stay in English; people
# read the decision's code in their language: models.DecisionCode, models.RevokeCode).
LAPSE_COMMENT = "Nobody decided before the request's deadline."
AUTO_APPROVED_REASON = "Approved automatically by the policy."
# A start a little in the past is "now": the form computed it a moment before posting.
START_SLACK = timedelta(minutes=5)

# The registered names of the tasks the services queue (apps/access/tasks.py).
TASK_GRANT_ACTIVATE = "access.grant_activate"
TASK_GRANT_MIRROR_SYNC = "access.grant_mirror_sync"


def _conf(name: str) -> Any:
    return settings.JITPORTAL[name]


def _is_aware(value: Any) -> bool:
    return isinstance(value, datetime) and timezone.is_aware(value)


def _notify(kind: str, object_id: int) -> None:
    from ..outbox import notice_record

    notice_record(kind=kind, object_id=object_id)


def _queue_activation(grant_id: int, actor_id: int | None) -> None:
    enqueue_on_commit(TASK_GRANT_ACTIVATE, grant_id, actor_id)


def _queue_mirror_sync(grant_id: int) -> None:
    enqueue_on_commit(TASK_GRANT_MIRROR_SYNC, grant_id)


def _refuse_control_characters(**fields: str) -> None:
    """Raise ValidationError ``{field: message}`` for free text holding control characters
    (ESC and the like reach emails, logs and terminals as they are; see jitportal.inputs) or
    longer than ``TEXT_MAX_LENGTH`` (2,000 characters: it is stored, audited and emailed).
    Every channel (portal, admin, commands) passes through here."""
    errors = {
        name: problem
        for name, value in fields.items()
        if (problem := text_problem(value, max_length=TEXT_MAX_LENGTH))
    }
    if errors:
        raise ValidationError(errors)


def _lock_request(request_id: int) -> AccessRequest:
    try:
        return AccessRequest.objects.select_for_update(of=("self",)).get(pk=request_id)
    except AccessRequest.DoesNotExist:
        raise ValidationError(
            _("Access request #%(number)s does not exist.") % {"number": request_id}
        ) from None


def _lock_grant(grant_id: int) -> Grant:
    try:
        return Grant.objects.select_for_update(of=("self",)).get(pk=grant_id)
    except Grant.DoesNotExist:
        raise ValidationError(
            _("Grant #%(number)s does not exist.") % {"number": grant_id}
        ) from None


def _has_ended(grant: Grant, now: datetime) -> bool:
    return (
        grant.revoked_at is not None
        or grant.ends_at <= now
        or grant.status in {GrantStatus.EXPIRED, GrantStatus.REVOKED}
    )


def _window_data(starts_at: datetime, ends_at: datetime) -> dict[str, str]:
    return {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}


def _fresh_user(user: User) -> User:
    """``user`` as the database has it now: an object loaded earlier keeps its old
    ``is_active`` and its cached permissions."""
    found = get_user_model()._default_manager.filter(pk=user.pk).first()
    return found if found is not None else user
