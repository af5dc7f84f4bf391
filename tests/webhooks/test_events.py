"""Webhook events derived from the audit trail: written with the event (outbox), one per
event and subscription, the same id on every try (docs/webhooks.md, "Events")."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from apps.access import services as access
from apps.access.models import Grant
from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from apps.webhooks.events import ACTION_EVENTS, DETAIL_FIELDS
from apps.webhooks.models import DeliveryStatus, EventType, WebhookDelivery
from apps.webhooks.tasks import webhook_deliveries_send_due_task
from tests.audit.conftest import make_events, tamper
from tests.webhooks.conftest import subscription_set

pytestmark = pytest.mark.django_db


def _types(receiver) -> list[str]:
    return [json.loads(r.body)["type"] for r in receiver.received]


def test_a_request_from_submission_to_give_back_sends_each_event_once(
    subscription, receiver, role, staff_user, approver, run_on_commit
):
    # Given a subscription to every event
    now = timezone.now()
    # When a request is submitted, approved (its grant starts now) and given back
    request = run_on_commit(
        access.access_request_submit,
        requester=staff_user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        justification="Complaint 4711 of Ada Lovelace",
    )
    run_on_commit(access.access_request_approve, request_id=request.pk, approver=approver)
    grant = Grant.objects.get(request=request)
    run_on_commit(access.grant_relinquish, grant_id=grant.pk, actor=staff_user)
    # Then the receiver got each event once, in order, each delivered on its first try
    assert _types(receiver) == [
        "request.submitted",
        "request.decided",
        "grant.activated",
        "grant.ended",
    ]
    assert set(WebhookDelivery.objects.values_list("status", "tries")) == {
        (DeliveryStatus.DELIVERED, 1)
    }
    decided = json.loads(receiver.received[1].body)
    assert decided["data"]["outcome"] == "approved"
    assert decided["data"]["target"] == {"type": "access.accessrequest", "id": str(request.pk)}
    ended = json.loads(receiver.received[3].body)
    assert ended["data"]["outcome"] == "given_back"
    assert ended["data"]["target"] == {"type": "access.grant", "id": str(grant.pk)}
    # and no name, email or free text of the people involved left the portal
    sent = b"".join(r.body for r in receiver.received).decode()
    for personal in ("Lovelace", staff_user.username, staff_user.email, staff_user.last_name):
        assert personal not in sent


@pytest.mark.parametrize("action", sorted(ACTION_EVENTS))
def test_every_mapped_audit_action_gives_its_event(subscription, action):
    # Given a subscription to every event, when an audit event of a mapped action is recorded
    event = audit_event_record(action=action, actor_label="system:test", data={"n": 1})
    # Then one delivery of its type waits, whose id comes from the event's digest
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == ACTION_EVENTS[action][0]
    assert delivery.event_id == uuid.UUID(hex=event.hash[:32])
    assert delivery.idempotency_key == str(delivery.event_id)
    body = json.loads(delivery.body)
    assert body["data"]["audit_event"] == {"id": event.pk, "hash": event.hash}
    # and its detail only the fields its type allows, never a key it does not know
    assert set(body["data"]["detail"]) == set(DETAIL_FIELDS[delivery.event_type])


def test_other_actions_and_other_subscribers_get_nothing(subscription, dpo, receiver):
    # Given a subscription to break-glass only
    sub, _secret = subscription
    subscription_set(sub, dpo, event_types=[EventType.BREAK_GLASS])
    # When events of other kinds are recorded, then nothing is queued for it
    audit_event_record(action="access.request.submitted", actor_label="system:test")
    audit_event_record(action="inventory.asset.archived", actor_label="system:test")
    assert not WebhookDelivery.objects.exists()
    audit_event_record(action="access.breakglass.used", actor_label="system:test")
    assert WebhookDelivery.objects.get().event_type == "breakglass.used"


def test_offboarding_gives_one_grant_ended_per_grant(subscription):
    # Given an offboarding event that revoked two grants
    audit_event_record(
        action="access.user.offboarded",
        actor_label="system:test",
        data={"grants_revoked": [11, 12], "requests_cancelled": []},
    )
    # Then each grant has its own grant.ended event, with its own stable id
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.event_type for d in deliveries] == ["grant.ended", "grant.ended"]
    assert len({d.event_id for d in deliveries}) == 2
    targets = [json.loads(d.body)["data"]["target"]["id"] for d in deliveries]
    assert targets == ["11", "12"]


def test_a_rolled_back_event_leaves_no_delivery(subscription):
    # Given a decision whose transaction fails after its audit event was written
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_event_record(action="access.request.submitted", actor_label="system:test")
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the decision failed")
    # Then the delivery went with it
    assert not WebhookDelivery.objects.exists()


def test_a_paused_subscription_gets_no_new_event_and_sends_nothing(subscription, dpo, receiver):
    # Given a waiting delivery, when the subscription is paused
    sub, _secret = subscription
    audit_event_record(action="access.breakglass.used", actor_label="system:test")
    subscription_set(sub, dpo, active=False)
    audit_event_record(action="access.breakglass.used", actor_label="system:test")
    # Then it gets no new delivery and the sweep sends nothing to it
    assert WebhookDelivery.objects.count() == 1
    webhook_deliveries_send_due_task.apply()
    assert receiver.received == []
    # and when active again, the waiting one is sent
    subscription_set(sub, dpo, active=True)
    webhook_deliveries_send_due_task.apply()
    assert _types(receiver) == ["breakglass.used"]


def test_a_lost_message_is_sent_by_the_beat_sweep(subscription, receiver):
    # Given a delivery whose queued message never ran (no on-commit here: the message is lost)
    audit_event_record(action="retention.purge.finished", actor_label="system:test")
    assert receiver.received == []
    # When beat's sweep runs, then it is sent
    webhook_deliveries_send_due_task.apply()
    assert _types(receiver) == ["purge.finished"]


def test_a_failed_verification_is_an_event(subscription, receiver, run_on_commit):
    # Given a chain with an edited event
    make_events(5)
    broken = AuditEvent.objects.order_by("id").values_list("id", flat=True)[2]
    tamper(broken, reason="rewritten")
    # When the verification runs
    with pytest.raises(CommandError):
        run_on_commit(call_command, command_name="audit_verify")
    # Then subscribers hear of it, with where the chain breaks
    [got] = receiver.received
    body = json.loads(got.body)
    assert body["type"] == "audit.verification_failed"
    assert body["data"]["detail"] == {"first_broken_id": broken, "checked": 2}


def test_the_reconcile_expiring_many_grants_queues_one_sweep_and_all_are_sent(
    subscription, receiver, asset, staff_user, run_on_commit
):
    # Given 60 grants whose window has ended (the bulk path writes their events with COPY)
    from tests.access.factories import GrantFactory

    now = timezone.now()
    for _ in range(60):
        GrantFactory(
            user=staff_user,
            assets=[asset],
            starts_at=now - timedelta(hours=2),
            ends_at=now - timedelta(minutes=5),
        )
    # When the reconcile runs
    run_on_commit(access.access_reconcile)
    # Then each grant gave one grant.ended event, all sent by the sweep queued after commit
    ended = [json.loads(r.body) for r in receiver.received]
    assert len(ended) == 60 and {e["type"] for e in ended} == {"grant.ended"}
    assert {e["data"]["outcome"] for e in ended} == {"expired"}
    assert len({e["id"] for e in ended}) == 60
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.DELIVERED
    }
