"""The signed webhook connector against a local HTTP receiver the test starts: a signed
JSON POST per provision and removal, an idempotency key that stays the same across tries,
retries with backoff, and nothing counted done before the endpoint answered 2xx
(docs/connectors.md, "Signed webhook")."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.access import services as access_services
from apps.audit.models import AuditEvent
from apps.connectors.base import ConnectorError, GrantContext
from apps.connectors.connectors.webhook import EVENT_DEPROVISION, EVENT_PROVISION, idempotency_key
from apps.connectors.models import Provisioning, ProvisioningState, Target, TargetBinding
from apps.connectors.registry import connector_for
from apps.webhooks.models import DeliveryStatus, WebhookDelivery
from apps.webhooks.services import (
    webhook_deliveries_prune,
    webhook_deliveries_send_due,
    webhook_subscription_create,
)
from apps.webhooks.signing import webhook_signature_verify
from tests.access.factories import GrantFactory
from tests.connectors.helpers import activate, committed
from tests.factories import DataAssetFactory

PREFIX = "jpwh_"


@pytest.fixture
def endpoint(dpo, receiver, local_targets):
    """A connector-only subscription (no event types) sending to the local receiver."""
    return webhook_subscription_create(
        name="HR system", url=receiver.url, event_types=[], actor=dpo
    )


@pytest.fixture
def target(endpoint):
    return Target.objects.create(
        name="HR system",
        kind="webhook",
        account_prefix=PREFIX,
        options={"subscription": "HR system"},
    )


@pytest.fixture
def grant(target):
    asset = DataAssetFactory(name="Payroll")
    TargetBinding.objects.create(target=target, asset=asset, options={"role": "payroll-read"})
    return GrantFactory(assets=[asset])


def _context(target, grant) -> GrantContext:
    return GrantContext(
        grant_id=grant.pk,
        user_id=grant.user_id,
        username=grant.user.username,
        email=grant.user.email,
        starts_at=grant.starts_at,
        ends_at=grant.ends_at,
        actions=frozenset({"view"}),
        account=f"{PREFIX}g{grant.pk}_abc123",
        bindings=tuple(target.bindings.all()),
    )


def test_provision_posts_a_signed_payload_and_counts_only_after_the_answer(
    target, grant, endpoint, receiver, django_capture_on_commit_callbacks
):
    # Given a grant of an asset bound to the webhook target
    _sub, secret = endpoint
    connector = connector_for(target)
    context = _context(target, grant)

    # When it is provisioned for the first time, then the portal waits for the endpoint
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ConnectorError) as wait:
        connector.provision(context)
    assert wait.value.retryable and "waiting" in str(wait.value)

    # and the endpoint got one signed JSON POST (sent on commit)
    [got] = receiver.received
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert webhook_signature_verify(
        secret=secret,
        timestamp=headers["x-jitportal-timestamp"],
        body=got.body,
        signature=headers["x-jitportal-signature"],
    )
    assert headers["idempotency-key"] == idempotency_key(target.pk, context.account, "provision")
    payload = json.loads(got.body)
    assert payload["type"] == EVENT_PROVISION
    assert payload["data"] == {
        "action": "provision",
        "target": "HR system",
        "account": context.account,
        "grant": grant.pk,
        "user": {"id": grant.user_id, "username": grant.user.username},
        "actions": ["view"],
        "assets": [{"id": grant.assets.get().pk, "options": {"role": "payroll-read"}}],
        "starts_at": grant.starts_at.isoformat(),
        "ends_at": grant.ends_at.isoformat(),
    }

    # When asked again (the retry), then it is done, with no secret and no second POST
    result = connector.provision(context)
    assert (result.account, result.secret) == (context.account, None)
    assert len(receiver.received) == 1


def test_a_failing_endpoint_is_retried_with_backoff_under_the_same_key(
    target, grant, receiver, django_capture_on_commit_callbacks
):
    # Given an endpoint that answers 503 twice, then 200
    receiver.statuses = [503, 503]
    connector = connector_for(target)
    context = _context(target, grant)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ConnectorError):
        connector.provision(context)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.tries, delivery.response_code) == ("pending", 1, 503)
    # 30 s after the try (WEBHOOKS["RETRY_SECONDS"] in the tests' settings)
    assert delivery.next_try_at - delivery.last_tried_at == timedelta(seconds=30)

    # When the connector is asked again before the endpoint said yes, then it still waits
    with pytest.raises(ConnectorError):
        connector.provision(context)

    # When the sweep runs after each backoff (30 s, then 60 s)
    webhook_deliveries_send_due(now=timezone.now() + timedelta(seconds=31))
    delivery.refresh_from_db()
    assert delivery.next_try_at - delivery.last_tried_at == timedelta(seconds=60)
    webhook_deliveries_send_due(now=timezone.now() + timedelta(seconds=200))

    # Then the third try got through, every try carried the same key and event id
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.tries == 3
    keys = {r.headers["Idempotency-Key"] for r in receiver.received}
    ids = {json.loads(r.body)["id"] for r in receiver.received}
    assert len(receiver.received) == 3 and len(keys) == 1 and len(ids) == 1
    # and the connector counts it done
    assert connector.provision(context).account == context.account


def test_a_delivery_given_up_is_an_error_pointing_at_the_log(
    target, grant, receiver, django_capture_on_commit_callbacks
):
    # Given an endpoint that always fails, until the delivery is given up (4 tries here)
    receiver.statuses = [500] * 10
    connector = connector_for(target)
    context = _context(target, grant)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ConnectorError):
        connector.provision(context)
    for hours in (1, 2, 3):
        webhook_deliveries_send_due(now=timezone.now() + timedelta(hours=hours))
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED

    # When the connector is asked, then it says so and where to re-send it
    with pytest.raises(ConnectorError) as error:
        connector.provision(context)
    assert "re-send it from the webhook delivery log" in str(error.value)


def test_removal_posts_one_delivery_per_account_and_waits_for_each(
    target, receiver, django_capture_on_commit_callbacks
):
    # Given two accounts to remove, the endpoint answering 500 for the second
    receiver.statuses = [200, 500]
    connector = connector_for(target)
    names = [f"{PREFIX}g1_aaaaaa", f"{PREFIX}g2_bbbbbb"]

    # When removed, then the portal waits
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ConnectorError):
        connector.deprovision(names)
    bodies = [json.loads(r.body) for r in receiver.received]
    assert [(b["type"], b["data"]["account"]) for b in bodies] == [
        (EVENT_DEPROVISION, names[0]),
        (EVENT_DEPROVISION, names[1]),
    ]
    # and still waits while one of them is not confirmed
    with pytest.raises(ConnectorError) as waiting:
        connector.deprovision(names)
    assert "1 removal(s)" in str(waiting.value)

    # When the failed one gets through on its retry, then the removal is done
    with committed():
        webhook_deliveries_send_due(now=timezone.now() + timedelta(minutes=5))
    connector.deprovision(names)
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 2


def test_observe_says_it_cannot_see_the_endpoint(target):
    with pytest.raises(ConnectorError) as error:
        connector_for(target).observe()
    assert not error.value.retryable


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({}, "Name the webhook subscription"),
        ({"subscription": "Nobody"}, "There is no webhook subscription “Nobody”"),
    ],
)
def test_a_target_without_its_subscription_is_refused(endpoint, options, text):
    target = Target(name="X", kind="webhook", account_prefix=PREFIX, options=options)
    problems = connector_for(target).check_target()
    assert [p.field for p in problems] == ["options"]
    assert text in problems[0].message


def test_a_paused_subscription_refuses_the_target_and_its_bindings(target, endpoint):
    sub, _secret = endpoint
    sub.active = False
    sub.save(update_fields=["active"])
    connector = connector_for(target)
    assert "is paused" in connector.check_target()[0].message
    binding = TargetBinding(target=target, asset=DataAssetFactory(), options={})
    assert [p.field for p in connector.check_binding(binding)] == ["target"]


def _bound_payroll():
    """A webhook target sending to the "HR system" subscription, and an asset bound to it."""
    target = Target.objects.create(
        name="HR system",
        kind="webhook",
        account_prefix=PREFIX,
        options={"subscription": "HR system"},
    )
    asset = DataAssetFactory(name="Payroll")
    TargetBinding.objects.create(target=target, asset=asset)
    return asset


def _activated(target, user):
    """A grant of an asset bound to ``target``, activated through the access service."""
    asset = DataAssetFactory(name="Payroll")
    TargetBinding.objects.create(target=target, asset=asset)
    return activate(user, asset)


def test_through_the_grants_life_the_account_counts_once_the_endpoint_answered(
    target, receiver, staff_user, approver
):
    # Given a webhook target bound to an asset, when a grant of it is activated (the
    # delivery is sent on commit, and its settling queues the provisioning step again)
    grant = _activated(target, staff_user)

    # Then the endpoint got the provision and the account counts as made
    row = Provisioning.objects.get(grant=grant)
    assert row.state == ProvisioningState.PROVISIONED, row.error
    assert [json.loads(r.body)["type"] for r in receiver.received] == [EVENT_PROVISION]

    # When the grant is revoked, then the removal is sent and recorded once answered
    with committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED, row.error
    assert [json.loads(r.body)["type"] for r in receiver.received] == [
        EVENT_PROVISION,
        EVENT_DEPROVISION,
    ]
    assert AuditEvent.objects.filter(action="connectors.account.removed").count() == 1


def test_an_endpoint_down_at_the_end_keeps_the_removal_pending_until_it_answers(
    target, receiver, staff_user, approver
):
    # Given a provisioned webhook account, and an endpoint that then fails
    grant = _activated(target, staff_user)
    assert Provisioning.objects.get(grant=grant).state == ProvisioningState.PROVISIONED
    receiver.statuses = [503]

    # When the grant is revoked
    with committed():
        access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")

    # Then the removal is not recorded: the endpoint did not say yes
    row = Provisioning.objects.get(grant=grant)
    assert row.removal_pending and row.state == ProvisioningState.FAILED

    # When the delivery's retry gets through, then the removal is recorded
    with committed():
        webhook_deliveries_send_due(now=timezone.now() + timedelta(minutes=5))
    row.refresh_from_db()
    assert row.state == ProvisioningState.DEPROVISIONED, row.error


def test_connector_deliveries_are_in_the_admin_delivery_log(
    target, grant, receiver, admin_client, django_capture_on_commit_callbacks
):
    # Given a provision sent to the endpoint
    context = _context(target, grant)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ConnectorError):
        connector_for(target).provision(context)

    # When the delivery log is searched for the account's key, then it lists the delivery
    # with the endpoint's answer
    page = admin_client.get(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"q": idempotency_key(target.pk, context.account, "provision")},
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert EVENT_PROVISION in text and "200" in text


def test_the_delivery_logs_retention_keeps_the_steps_of_accounts_not_yet_removed(
    target, receiver, staff_user, approver
):
    # Given a webhook account made through a grant's life (its provision was delivered)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        asset = DataAssetFactory(name="Payroll")
        TargetBinding.objects.create(target=target, asset=asset)
        grant = activate(staff_user, asset, seconds=400 * 86400)
        row = Provisioning.objects.get(grant=grant)
        assert row.state == ProvisioningState.PROVISIONED, row.error
        # When the log's retention (90 days) runs 100 days later
        clock.shift(timedelta(days=100))
        done = webhook_deliveries_prune()
        # Then the provision step's delivery is kept (the account is not removed yet), so
        # the step run again finds it and sends nothing a second time
        assert (done.deleted, done.kept) == (0, 1)
        key = idempotency_key(target.pk, row.account, "provision")
        assert WebhookDelivery.objects.filter(idempotency_key=key).exists()
        connector_for(target).provision(replace(_context(target, grant), account=row.account))
        assert len(receiver.received) == 1
        # When the grant ends and the removal is confirmed
        with committed():
            access_services.grant_revoke(grant_id=grant.pk, actor=approver, reason="Done")
        row.refresh_from_db()
        assert row.state == ProvisioningState.DEPROVISIONED, row.error
        # Then, once both are older than the retention, both deliveries go
        clock.shift(timedelta(days=91))
        done = webhook_deliveries_prune()
    assert (done.deleted, done.kept) == (2, 0)
    assert not WebhookDelivery.objects.filter(idempotency_key__contains=row.account).exists()
