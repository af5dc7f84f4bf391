"""The notice outbox: every email notice is a row written with the decision it reports.

The transactional outbox pattern: ``notice_record`` inserts a ``Notice`` in the caller's
transaction and queues the ``access.notify`` task for after commit. Whether or not that
message reaches the broker, the row is there: the periodic reconcile
(``notice_send_due``) sends every pending notice whose ``next_try_at`` has come.

Delivery is at least once, made as close to exactly once as email allows:

- A sender claims the row with ``SELECT ... FOR UPDATE SKIP LOCKED`` and only while it is
  ``pending``; it marks it ``sent`` in the same transaction that holds the claim. A second
  worker (a duplicate message, the reconcile, an admin re-send) skips a row being sent and
  finds a sent one no longer pending, so one notice gives one email per recipient.
- The edge: if the process dies, or the database is lost, after the mail server accepted the
  messages but before the commit, the claim is released with the row still pending and the
  notice is sent again on a later try. SMTP has no transaction to join, so this window
  cannot be closed; it is one SMTP conversation long.

Failures (mail server down, a template error) are counted in ``tries`` with the error kept
in ``last_error``; the next try waits ``NOTICE_RETRY_SECONDS`` doubled per try, at most
``NOTICE_RETRY_MAX_SECONDS``. After ``NOTICE_MAX_TRIES`` a notice is given up (``failed``,
logged at ERROR, shown in the admin with a re-send action), except a break-glass notice:
the DPO must learn of every break-glass use (GDPR Art. 32 and 33: the controller must be
able to detect and assess an unauthorised access), so it is never given up. It is retried at
the longest interval for as long as it takes, ``escalated_at`` records when it passed the
bound, and every further failure is logged at CRITICAL. A break-glass notice that finds no
active DPO with an email address counts as a failure, not as sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jitportal.tasking import enqueue_on_commit

from . import notifications
from .models import Notice, NoticeKind, NoticeStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

SENT = "sent"
RETRY = "retry"
GAVE_UP = "gave_up"
SKIPPED = "skipped"
# The registered name of the task that sends one notice (apps/access/tasks.py).
TASK_NOTIFY = "access.notify"


def _conf(name: str) -> int:
    return int(settings.JITPORTAL[name])


def notice_retry_delay(tries: int) -> timedelta:
    """The wait before the try after ``tries`` attempts: ``NOTICE_RETRY_SECONDS`` doubled per
    attempt, at most ``NOTICE_RETRY_MAX_SECONDS`` (exponential backoff)."""
    base, cap = _conf("NOTICE_RETRY_SECONDS"), _conf("NOTICE_RETRY_MAX_SECONDS")
    return timedelta(seconds=min(cap, base * 2 ** max(tries - 1, 0)))


def notice_record(*, kind: str, object_id: int) -> Notice:
    """Put the notice ``kind`` about request or grant ``object_id`` in the outbox.

    Call inside the transaction of the decision: the row commits or rolls back with it. Its
    send is queued for after commit; if the broker is down the reconcile sends it.

    Raises ValueError for a kind that is not a ``NoticeKind``.
    """
    if kind not in NoticeKind.values:
        raise ValueError(f"Unknown notice {kind!r}")
    now = timezone.now()
    notice = Notice.objects.create(
        kind=kind, object_id=object_id, created_at=now, next_try_at=now + notice_retry_delay(1)
    )
    enqueue_on_commit(TASK_NOTIFY, notice.pk)
    return notice


def _attempt(notice: Notice, now: datetime) -> str:
    """Send a claimed notice once and record the outcome on it (caller holds the lock)."""
    notice.tries += 1
    try:
        # A savepoint: a database error while rendering leaves the row writable.
        with transaction.atomic():
            sent = notifications.notification_send(kind=notice.kind, object_id=notice.object_id)
            if sent == 0 and notice.kind == NoticeKind.BREAK_GLASS:
                raise LookupError("no active DPO has an email address")
    except Exception as exc:
        notice.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        notice.next_try_at = now + notice_retry_delay(notice.tries + 1)
        outcome = RETRY
        if notice.tries >= _conf("NOTICE_MAX_TRIES"):
            if notice.kind == NoticeKind.BREAK_GLASS:
                notice.escalated_at = notice.escalated_at or now
                logger.critical(
                    "break-glass notice %s still unsent after %s tries (%s); retrying",
                    notice.pk,
                    notice.tries,
                    notice.last_error,
                )
            else:
                notice.status = NoticeStatus.FAILED
                outcome = GAVE_UP
                logger.error(
                    "notice %s (%s) given up after %s tries: %s",
                    notice.pk,
                    notice.kind,
                    notice.tries,
                    notice.last_error,
                )
        else:
            logger.warning(
                "notice %s (%s) not sent, try %s: %s",
                notice.pk,
                notice.kind,
                notice.tries,
                notice.last_error,
            )
        notice.save(update_fields=["tries", "last_error", "next_try_at", "status", "escalated_at"])
        return outcome
    notice.status = NoticeStatus.SENT
    notice.sent_at = now
    notice.recipients = sent
    notice.save(update_fields=["tries", "status", "sent_at", "recipients"])
    return SENT


def notice_send(*, notice_id: int, now: datetime | None = None) -> str:
    """Send one notice if it is still pending and nobody else is sending it.

    Returns "sent", "retry" (failed, will be tried again), "gave_up" or "skipped" (already
    sent or given up, unknown, or claimed by another worker at this moment).
    """
    with transaction.atomic(durable=True):
        notice = (
            Notice.objects.select_for_update(skip_locked=True)
            .filter(pk=notice_id, status=NoticeStatus.PENDING)
            .first()
        )
        if notice is None:
            return SKIPPED
        return _attempt(notice, now or timezone.now())


def notice_send_due(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Send every pending notice whose ``next_try_at`` has come (the reconcile's step).

    One transaction per notice, so a sent one stays sent whatever happens to the next;
    rows other workers hold are skipped. At most ``limit`` attempts (default
    ``RECONCILE_BATCH_SIZE``) per call. Returns counts by outcome.
    """
    now = now or timezone.now()
    limit = limit or _conf("RECONCILE_BATCH_SIZE")
    counts = {SENT: 0, RETRY: 0, GAVE_UP: 0}
    after = 0
    for _attempt_number in range(limit):
        with transaction.atomic():
            notice = (
                Notice.objects.filter(
                    status=NoticeStatus.PENDING, next_try_at__lte=now, pk__gt=after
                )
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .first()
            )
            if notice is None:
                break
            after = notice.pk
            counts[_attempt(notice, now)] += 1
    return counts


def notices_resend(*, notice_ids: Iterable[int], actor: User) -> tuple[list[Notice], list[str]]:
    """Queue given-up or waiting notices again now, with a fresh count of tries.

    A notice already sent is refused (sending it again would mail its recipients twice).
    Returns (the notices queued, one message per refusal). Raises PermissionDenied for a
    user who may not change notices.
    """
    if not actor.is_active or not actor.has_perm("access.resend_notice"):
        raise PermissionDenied(_("You may not re-send notices."))
    queued: list[Notice] = []
    refused: list[str] = []
    now = timezone.now()
    with transaction.atomic(durable=True):
        for notice in Notice.objects.select_for_update().filter(pk__in=list(notice_ids)):
            if notice.status == NoticeStatus.SENT:
                refused.append(
                    _("Notice #%(number)s was already sent; it is not sent twice.")
                    % {"number": notice.pk}
                )
                continue
            notice.status = NoticeStatus.PENDING
            notice.tries = 0
            notice.next_try_at = now
            notice.save(update_fields=["status", "tries", "next_try_at"])
            logger.info("notice %s queued again by %s", notice.pk, actor.get_username())
            enqueue_on_commit(TASK_NOTIFY, notice.pk)
            queued.append(notice)
    return queued, refused
