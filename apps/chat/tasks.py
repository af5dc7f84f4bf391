"""Thin, idempotent Celery tasks of the Slack side: load by id and call a service."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="chat.request_sync", ignore_result=True)
def slack_request_sync_task(request_id: int) -> dict[str, int]:
    """Post a pending request to its approvers and show every message's current state."""
    return {
        "posted": services.slack_messages_post(request_id=request_id),
        "updated": services.slack_messages_update(request_id=request_id),
    }


@shared_task(name="chat.sync_due", ignore_result=True)
def slack_sync_due_task() -> dict[str, int]:
    """Beat's backstop for a lost ``chat.request_sync``."""
    return services.slack_messages_sync_due()
