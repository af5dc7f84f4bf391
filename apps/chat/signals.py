"""The one way the access app's decisions reach Slack without access importing chat.

Every decision that concerns a request's approvers writes a notice row in its own
transaction (``apps.access.outbox.notice_record``). When such a row is created, the Slack
side is queued for after that transaction commits: nothing is decided here, and a lost
message is made up by beat's ``chat.sync_due``.
"""

from __future__ import annotations

from typing import Any

from apps.access.models import NoticeKind

from .services import slack_request_sync_queue

#: Notices about a request: it needs a decision (submitted, reminder) or got one.
REQUEST_NOTICES = {
    NoticeKind.REQUEST_SUBMITTED,
    NoticeKind.REQUEST_REMINDER,
    NoticeKind.REQUEST_DECIDED,
}


def notice_saved(sender: Any, instance: Any, created: bool = False, raw: bool = False, **_: Any):
    if created and not raw and instance.kind in REQUEST_NOTICES:
        slack_request_sync_queue(request_id=instance.object_id)
