"""Where a webhook may go, for every form of a hostile address: refused on the admin form,
by the service and before every try (address literals: no DNS, nothing mocked)."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from apps.webhooks.models import DeliveryError, WebhookSubscription
from apps.webhooks.services import (
    RETRY,
    webhook_delivery_create,
    webhook_delivery_send,
    webhook_subscription_create,
)
from apps.webhooks.targets import webhook_target_check
from tests.webhooks.test_subscriptions import STRICT

pytestmark = pytest.mark.django_db

HOSTILE = [
    # IPv4: loopback, private, link-local (metadata), this network, shared, reserved, test nets
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.0.10",
    "169.254.169.254",
    "0.0.0.0",  # noqa: S104 (an address refused, not one bound)
    "100.64.0.1",
    "192.0.0.9",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.7",
    "192.88.99.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6: loopback, unspecified, unique local, link-local, site-local, multicast, discard,
    # documentation, benchmarking, segment routing
    "[::1]",
    "[::]",
    "[fd00::1]",
    "[fe80::1]",
    "[fec0::1]",
    "[ff02::1]",
    "[100::1]",
    "[2001:db8::1]",
    "[3fff::1]",
    "[2001:2::1]",
    "[5f00::1]",
    # IPv4 inside IPv6: mapped, translated, compatible, NAT64 (well-known and local-use),
    # 6to4, Teredo (server 65.54.227.120, client 192.0.2.45)
    "[::ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::ffff:0:7f00:1]",
    "[::7f00:1]",
    "[::a9fe:a9fe]",
    "[::808:808]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b::a00:1]",
    "[64:ff9b:1::808:808]",
    "[64:ff9b:1::a9fe:a9fe]",
    "[2002:a9fe:a9fe::]",
    "[2002:7f00:1::1]",
    "[2002:c0a8:1::1]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
    "[2001:0:808:808:8000:63bf:f7f7:f7f7]",
]
PUBLIC = [
    "93.184.215.14",
    "8.8.8.8",
    "[2606:4700:4700::1111]",
    "[2a00:1450:4001:82b::200e]",
    "[::ffff:8.8.8.8]",
    "[64:ff9b::808:808]",
    "[2002:808:808::1]",
]


@pytest.mark.parametrize("host", HOSTILE)
def test_a_hostile_address_is_refused_by_the_check_and_the_service(dpo, host):
    # Given the production rules, when a URL to the address is checked or saved
    url = f"https://{host}/hooks"
    with override_settings(WEBHOOKS=STRICT):
        with pytest.raises(ValidationError) as exc:
            webhook_target_check(url)
        assert exc.value.code == "private"
        with pytest.raises(ValidationError) as saved:
            webhook_subscription_create(
                name="SIEM", url=url, event_types=["grant.ended"], actor=dpo
            )
    # Then it is refused with the reason under the URL, and nothing is written
    assert "public addresses only" in " ".join(saved.value.message_dict["url"])
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("host", HOSTILE)
def test_a_hostile_address_is_refused_on_the_admin_form(client, dpo, host):
    # Given the DPO on the add page under the production rules
    client.force_login(dpo)
    # When a subscription to the address is posted
    with override_settings(WEBHOOKS=STRICT):
        response = client.post(
            reverse("admin:webhooks_webhooksubscription_add"),
            {"name": "SIEM", "url": f"https://{host}/hooks", "timeout_seconds": "5"},
        )
    # Then the form says why under the URL and nothing is saved
    assert response.status_code == 200
    assert "public addresses only" in " ".join(response.context["form"].errors["url"])
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("host", HOSTILE)
def test_a_hostile_address_is_refused_before_a_try(subscription, receiver, host):
    # Given a subscription whose URL now names a hostile address (saved before a rule
    # existed, or edited in the database) and a delivery waiting for it
    sub, _secret = subscription
    WebhookSubscription.objects.filter(pk=sub.pk).update(
        url=f"https://{host}/hooks", timeout_seconds=1
    )
    delivery = webhook_delivery_create(
        subscription_id=sub.pk, event_type="grant.ended", data={}, idempotency_key="k-1"
    )
    # When it is tried under the production rules
    with override_settings(WEBHOOKS=STRICT):
        outcome = webhook_delivery_send(delivery_id=delivery.pk)
    # Then the try is refused before any connection, and says why
    delivery.refresh_from_db()
    assert outcome == RETRY
    assert delivery.error == DeliveryError.TARGET_REFUSED
    assert delivery.response_code is None and not receiver.received


@pytest.mark.parametrize("host", PUBLIC)
def test_a_public_address_is_allowed(dpo, host):
    # Given the production rules, when a URL to a public address is saved
    with override_settings(WEBHOOKS=STRICT):
        sub, _secret = webhook_subscription_create(
            name="SIEM", url=f"https://{host}/hooks", event_types=[], actor=dpo
        )
        target = webhook_target_check(sub.url)
    # Then it is kept, and a try would connect to that very address
    assert target.addresses == (str(ipaddress.ip_address(host.strip("[]"))),)
    assert WebhookSubscription.objects.get().url == f"https://{host}/hooks"
