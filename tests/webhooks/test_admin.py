"""The admin: subscriptions through the services (secret shown once), the delivery log and
its re-send action (the same event id), each for the DPO only."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from apps.webhooks.crypto import webhook_secret_decrypt
from apps.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.test_hostile_input import HOSTILE

pytestmark = pytest.mark.django_db

ADD = "admin:webhooks_webhooksubscription_add"
LOG = "admin:webhooks_webhookdelivery_changelist"


def test_the_dpo_adds_a_subscription_and_sees_its_secret_once(client, dpo, receiver, local_targets):
    # Given the DPO on the add page
    client.force_login(dpo)
    assert client.get(reverse(ADD)).status_code == 200
    # When a subscription is added
    response = client.post(
        reverse(ADD),
        {
            "name": "SIEM",
            "url": receiver.url,
            "event_types": ["grant.activated", "breakglass.used"],
            "timeout_seconds": "5",
            "active": "on",
        },
    )
    # Then the page shows the secret, which is what signs, and nothing caches the page
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = re.search(r'id="webhook-secret">([^<]+)<', response.content.decode()).group(1)
    sub = WebhookSubscription.objects.get()
    assert webhook_secret_decrypt(sub.secret_encrypted) == secret
    assert sub.event_types == ["grant.activated", "breakglass.used"]
    # and the change page never shows it again
    change = client.get(reverse("admin:webhooks_webhooksubscription_change", args=[sub.pk]))
    assert change.status_code == 200 and secret not in change.content.decode()
    assert sub.secret_hint in change.content.decode()


def test_bad_input_on_the_admin_form_is_shown_and_nothing_saved(client, dpo):
    # Given the production rules (no http, no private addresses)
    client.force_login(dpo)
    response = client.post(
        reverse(ADD),
        {"name": "SIEM", "url": "http://10.0.0.5/hook", "timeout_seconds": "99"},
    )
    # Then the form comes back with each error under its field, and nothing is saved
    assert response.status_code == 200
    form = response.context["form"]
    assert "url" in form.errors and "timeout_seconds" in form.errors
    assert not WebhookSubscription.objects.exists()
    response = client.post(
        reverse(ADD), {"name": "SIEM", "url": "https://10.0.0.5/hook", "timeout_seconds": "5"}
    )
    assert "public addresses only" in " ".join(response.context["form"].errors["url"])
    assert not WebhookSubscription.objects.exists()


def test_the_dpo_changes_a_subscription_and_rotates_its_secret(client, dpo, subscription):
    sub, secret = subscription
    client.force_login(dpo)
    url = reverse("admin:webhooks_webhooksubscription_change", args=[sub.pk])
    response = client.post(
        url,
        {"name": "SIEM 2", "url": sub.url, "event_types": ["grant.ended"], "timeout_seconds": "7"},
    )
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.name, sub.event_types, sub.timeout_seconds, sub.active) == (
        "SIEM 2",
        ["grant.ended"],
        7,
        False,
    )
    # When the secret is rotated (POST only), the new one is shown once
    rotate = reverse("admin:webhooks_webhooksubscription_rotate", args=[sub.pk])
    assert client.get(rotate).status_code == 405
    response = client.post(rotate)
    new = re.search(r'id="webhook-secret">([^<]+)<', response.content.decode()).group(1)
    sub.refresh_from_db()
    assert new != secret and webhook_secret_decrypt(sub.secret_encrypted) == new
    assert AuditEvent.objects.filter(action="webhooks.subscription.secret_rotated").count() == 1


def test_others_may_not_see_or_manage_webhooks(client, approver, auditor, subscription):
    sub, _secret = subscription
    for user in (approver, auditor):
        client.force_login(user)
        assert client.get(reverse(ADD)).status_code == 403
        assert client.get(reverse(LOG)).status_code == 403
        rotate = reverse("admin:webhooks_webhooksubscription_rotate", args=[sub.pk])
        assert client.post(rotate).status_code == 403


def test_resend_keeps_the_event_id_and_is_audited(
    client, dpo, subscription, receiver, run_on_commit
):
    # Given an event delivered once
    run_on_commit(audit_event_record, action="access.breakglass.used", actor_label="system:test")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    # When the DPO re-sends it from the delivery log
    client.force_login(dpo)
    with run_on_commit.capture():
        response = client.post(
            reverse(LOG), {"action": "resend_selected", "_selected_action": [delivery.pk]}
        )
    assert response.status_code == 302
    # Then the receiver gets the same event (id, body, idempotency key) a second time
    first, second = receiver.received
    assert first.body == second.body
    for header in ("X-Jitportal-Event-Id", "Idempotency-Key"):
        assert first.headers[header] == second.headers[header] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries) == (DeliveryStatus.DELIVERED, 1)
    assert WebhookDelivery.objects.count() == 1
    event = AuditEvent.objects.get(action="webhooks.delivery.resent")
    assert event.actor == dpo and event.data["event_id"] == str(delivery.event_id)


def test_the_delivery_log_lists_searches_and_shows_a_delivery(client, dpo, subscription):
    audit_event_record(action="access.breakglass.used", actor_label="system:test")
    audit_event_record(action="retention.purge.finished", actor_label="system:test")
    first = WebhookDelivery.objects.order_by("pk").first()
    client.force_login(dpo)
    page = client.get(reverse(LOG))
    assert page.status_code == 200 and "breakglass.used" in page.content.decode()
    found = client.get(reverse(LOG), {"q": str(first.event_id)})
    assert list(found.context["cl"].result_list) == [first]
    for query in ({"q": "not-a-uuid"}, {"status__exact": "pending"}, {"q": "\u00e9" * 200}):
        assert client.get(reverse(LOG), query).status_code == 200
    # a search longer than any search box takes is not run: the list says why
    assert client.get(reverse(LOG), {"q": "\u00e9" * 201}).status_code == 302
    detail = client.get(reverse("admin:webhooks_webhookdelivery_change", args=[first.pk]))
    assert detail.status_code == 200
    assert json.loads(first.body)["id"] in detail.content.decode()


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_input_on_every_webhook_page_gives_no_500(client, dpo, subscription, value):
    # Given the DPO and a subscription with a delivery
    sub, _secret = subscription
    audit_event_record(action="access.breakglass.used", actor_label="system:test")
    client.raise_request_exception = False
    client.force_login(dpo)
    change = reverse("admin:webhooks_webhooksubscription_change", args=[sub.pk])
    form = {"name": value, "url": value, "event_types": [value], "timeout_seconds": value}
    # When every field and parameter gets the hostile value, then no page fails
    responses = [
        client.post(reverse(ADD), form),
        client.post(change, form),
        client.get(reverse(LOG), {"q": value}),
        client.get(reverse(LOG), {"status__exact": value, "created_at__year": value}),
        client.get(reverse(LOG), {"subscription__id__exact": value, "p": value}),
        client.get(f"/admin/webhooks/webhooksubscription/{value}/change/"),
        client.post(f"/admin/webhooks/webhooksubscription/{value}/rotate-secret/"),
    ]
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    # and nothing was changed
    assert WebhookSubscription.objects.get().name == "SIEM"


def test_the_subscription_list_counts_waiting_and_given_up_deliveries(
    client, dpo, subscription, django_assert_max_num_queries
):
    # Given one waiting and one given-up delivery
    audit_event_record(action="access.breakglass.used", actor_label="system:test")
    audit_event_record(action="retention.purge.finished", actor_label="system:test")
    WebhookDelivery.objects.filter(event_type="purge.finished").update(status=DeliveryStatus.FAILED)
    sub, _secret = subscription
    client.force_login(dpo)
    # When the DPO opens the list, then each count links to its deliveries
    with django_assert_max_num_queries(12):
        page = client.get(reverse("admin:webhooks_webhooksubscription_changelist"))
    html = page.content.decode()
    assert f"subscription__id__exact={sub.pk}&amp;status__exact=pending" in html
    assert f"subscription__id__exact={sub.pk}&amp;status__exact=failed" in html
