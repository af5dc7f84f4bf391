"""Tasks: thin wrappers, broker outages, mail failures, the beat schedule, audit actors."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.apps import apps as django_apps
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.access import services, tasks
from apps.access.models import Grant, GrantStatus, RequestStatus
from tests.access.factories import GrantFactory

pytestmark = pytest.mark.django_db

REFUSING_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


class FailingEmailBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("mail server down")


def submit(user, role):
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        justification="x",
    )


def test_decision_is_saved_when_the_broker_is_down_and_the_next_tick_finishes(
    role, asset, staff_user, approver, celery_conf, django_capture_on_commit_callbacks
):
    # Given a broker that refuses connections (tasks are really sent, not run eagerly)
    celery_conf(task_always_eager=False, broker_url=REFUSING_BROKER)
    request = submit(staff_user, role)
    # When the approver approves: the activation task cannot be queued
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(request_id=request.pk, approver=approver)
    # Then the decision stands and access already counts (it is decided from times)
    request.refresh_from_db()
    grant = Grant.objects.get(request=request)
    assert request.status == RequestStatus.APPROVED
    assert grant.status == GrantStatus.SCHEDULED and not grant.mirrored
    user = type(staff_user).objects.get(pk=staff_user.pk)
    assert user.has_perm("inventory.view_data", asset)
    # And the next reconcile tick does what the lost message would have done
    assert services.access_reconcile()["activated"] == 1
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE and grant.mirrored


def test_revoke_with_the_broker_down_removes_the_mirror_on_the_next_tick(
    asset, staff_user, approver, celery_conf, django_capture_on_commit_callbacks
):
    grant = GrantFactory(user=staff_user, assets=[asset])
    services.mirror_add(grant_ids=[grant.pk])
    Grant.objects.filter(pk=grant.pk).update(mirrored=True)
    celery_conf(task_always_eager=False, broker_url=REFUSING_BROKER)
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Left")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED and grant.mirrored
    assert services.access_reconcile()["unmirrored"] == 1
    grant.refresh_from_db()
    assert not grant.mirrored


def test_a_mail_server_down_never_undoes_a_decision(
    role, staff_user, approver, settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.EMAIL_BACKEND = "tests.access.test_tasks.FailingEmailBackend"
    request = submit(staff_user, role)
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(request_id=request.pk, approver=approver)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Grant.objects.filter(request=request, status=GrantStatus.ACTIVE).exists()
    assert mailoutbox == []


def test_the_beat_schedule_is_in_the_database():
    # The data migration's function is idempotent: running it again keeps one schedule.
    import importlib

    migration = importlib.import_module("apps.access.migrations.0003_reconcile_schedule")
    migration.create_schedule(django_apps, None)
    migration.create_schedule(django_apps, None)
    task = PeriodicTask.objects.get(task="access.reconcile")
    assert task.enabled
    assert task.interval.every == settings.JITPORTAL["RECONCILE_EVERY_SECONDS"]
    assert task.interval.period == "seconds"
    assert "access.reconcile" in tasks.access_reconcile_task.app.tasks


def test_reconcile_task_calls_the_service(asset, staff_user):
    past = timezone.now() - timedelta(hours=2)
    grant = GrantFactory(
        user=staff_user,
        assets=[asset],
        starts_at=past,
        ends_at=past + timedelta(hours=1),
        status=GrantStatus.ACTIVE,
    )
    counts = tasks.access_reconcile_task.delay().get()
    assert counts["expired"] == 1
    grant.refresh_from_db()
    assert grant.status == GrantStatus.EXPIRED


def test_task_writes_are_recorded_in_the_audit_trail_with_their_actor(
    role, staff_user, approver, django_capture_on_commit_callbacks
):
    from apps.audit.models import AuditEvent

    request = submit(staff_user, role)
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get()
    # The activation task ran for the approver: the chain names them
    activated = AuditEvent.objects.for_target(grant).get(action="access.grant.activated")
    assert activated.actor == approver
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_revoke(grant_id=grant.pk, actor=approver, reason="done")
    # Grants are written by services and tasks: django-auditlog keeps no second history
    assert not LogEntry.objects.get_for_object(grant).exists()


def test_services_queue_tasks_by_name_and_import_no_tasks_module():
    """Services send tasks by their registered names (jitportal.tasking), so the import
    graph runs one way: tasks import services, never the other way."""
    import ast
    from pathlib import Path

    from apps.access.outbox import TASK_NOTIFY
    from apps.access.services._common import TASK_GRANT_ACTIVATE, TASK_GRANT_MIRROR_SYNC

    root = Path(settings.BASE_DIR) / "apps"
    offenders = []
    for path in [
        *root.glob("*/services/*.py"),
        *root.glob("*/services.py"),
        *root.glob("*/outbox.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(a.name for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == "tasks" or n.endswith(".tasks") for n in names):
                offenders.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    assert [o for o in offenders if o.startswith("apps/access/")] == []
    for name in (TASK_NOTIFY, TASK_GRANT_ACTIVATE, TASK_GRANT_MIRROR_SYNC):
        assert name in tasks.access_reconcile_task.app.tasks
