"""Thin, idempotent Celery tasks: load by id and call a service.

Immediate tasks only make things quicker; ``access_reconcile_task`` (run by beat every
``JITPORTAL["RECONCILE_EVERY_SECONDS"]``) repairs anything a lost message left undone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from auditlog.context import set_actor, set_extra_data
from celery import shared_task
from django.contrib.auth import get_user_model

from jitportal.tasking import enqueue

from . import outbox, services


@contextlib.contextmanager
def task_actor(user=None) -> Iterator[None]:
    """django-auditlog's actor for what a task changes: the user, or ``system:beat``."""
    if user is not None:
        with set_actor(user):
            yield
    else:
        with set_extra_data({"actor_email": services.SYSTEM_BEAT}):
            yield


@shared_task(name="access.reconcile", ignore_result=True)
def access_reconcile_task(helper: bool = False) -> dict:
    """Beat's reconcile. With a backlog of more than one batch, it first queues helper runs
    (``helper=True``, which queue none themselves) for idle workers to share it; rows are
    claimed with SKIP LOCKED, so however many run at once each row is done once. Eager
    (tests, no worker) there is nobody to share with."""
    if not helper and not access_reconcile_task.app.conf.task_always_eager:
        for _ in range(services.access_reconcile_helpers_wanted()):
            enqueue(access_reconcile_task, helper=True)
    with task_actor():
        return services.access_reconcile()


@shared_task(name="access.grant_activate", ignore_result=True)
def grant_activate_task(grant_id: int, actor_id: int | None = None) -> None:
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    with task_actor(actor):
        services.grant_activate(grant_id=grant_id, actor=actor)


@shared_task(name="access.grant_mirror_sync", ignore_result=True)
def grant_mirror_sync_task(grant_id: int) -> None:
    with task_actor():
        services.grant_mirror_sync(grant_id=grant_id)


@shared_task(name="access.notify", ignore_result=True)
def access_notify(notice_id: int | str, object_id: int | None = None) -> str:
    """Send one notice of the outbox (``apps.access.outbox``); idempotent.

    A failure is recorded on the notice and retried by the reconcile with backoff (not by
    Celery), so a lost or repeated message neither loses nor doubles an email. A message
    queued before the outbox existed, ``(kind, object_id)``, is put in the outbox first.
    """
    if isinstance(notice_id, str) and object_id is not None:
        notice_id = outbox.notice_record(kind=notice_id, object_id=object_id).pk
    return outbox.notice_send(notice_id=int(notice_id))
