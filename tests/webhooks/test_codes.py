"""Every code-shaped value a subscription or a filter of the webhooks app takes (event
types, delivery statuses, error codes) is checked against its registry: an unknown code is
refused with a message in the reader's language and changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from apps.connectors.connectors.webhook import EVENT_DEPROVISION, EVENT_PROVISION
from apps.webhooks.admin import CodeFilter, WebhookDeliveryAdmin
from apps.webhooks.events import webhook_event_types
from apps.webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookSubscription
from apps.webhooks.services import webhook_delivery_create, webhook_subscription_create
from tests.webhooks.conftest import subscription_set

pytestmark = pytest.mark.django_db
LOG = "admin:webhooks_webhookdelivery_changelist"
ADD = "admin:webhooks_webhooksubscription_add"
#: The delivery's code-shaped fields: every field with choices, and the event type.
CODE_FIELDS = {
    f.name for f in WebhookDelivery._meta.fields if f.choices and f.name != "subscription"
} | {"event_type"}
FILTERS = [f for f in WebhookDeliveryAdmin.list_filter if isinstance(f, type)]
NOT_A_CODE = ["grant.bogus", "Failed", "delivered ", "x" * 70, "\u200b", "y" * 5000]


def test_every_code_field_of_the_log_is_filtered_by_its_registry():
    filtered = {f.field for f in FILTERS if issubclass(f, CodeFilter)}
    assert filtered == CODE_FIELDS
    # and no code field is filtered the built-in way (which takes any string)
    assert not CODE_FIELDS & {f for f in WebhookDeliveryAdmin.list_filter if isinstance(f, str)}


def test_the_event_registry_is_the_subscriptions_and_the_senders_types():
    assert set(webhook_event_types()) == {*EventType.values, EVENT_PROVISION, EVENT_DEPROVISION}


@pytest.mark.parametrize("code_filter", FILTERS, ids=lambda f: f.field)
@pytest.mark.parametrize("value", NOT_A_CODE)
def test_an_unknown_code_in_a_filter_says_so_and_filters_nothing(
    client, dpo, subscription, code_filter, value
):
    # Given a waiting delivery of a connector event and a settled one
    sub, _secret = subscription
    for key, status in (("a", DeliveryStatus.PENDING), ("b", DeliveryStatus.DELIVERED)):
        delivery = webhook_delivery_create(
            subscription_id=sub.pk, event_type=EVENT_PROVISION, data={}, idempotency_key=key
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status)
    client.force_login(dpo)
    url = reverse(LOG)
    param = f"{code_filter.field}__exact"
    # When the log is asked for an unknown code
    response = client.get(url, {param: value})
    # Then it lists everything, and says the filter was not applied
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"“{value}” is not a known code of “{code_filter.title}”" in message
    # When asked for each known code, then it filters by it, and offers it
    for code in code_filter.codes():
        response = client.get(url, {param: code})
        expected = WebhookDelivery.objects.filter(**{code_filter.field: code}).count()
        assert response.context["cl"].result_count == expected
        assert not list(get_messages(response.wsgi_request))
        assert f"{param}={code}" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "words"),
    [("de", "ist kein bekannter Code"), ("fr", "n’est pas un code connu")],
)
def test_the_filters_message_is_in_the_readers_language(client, dpo, language, words):
    client.force_login(dpo)
    response = client.get(reverse(LOG), {"status__exact": "bogus"}, HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert words in " ".join(str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.parametrize(
    "types",
    [["grant.bogus"], [EVENT_PROVISION], ["GRANT.ENDED"], [EventType.GRANT_ENDED, "grant.endd"]],
)
def test_a_subscription_takes_only_its_event_types(dpo, subscription, types):
    # (a connector's event types are registered, but no subscription asks for them: a
    # connector sends them to its own subscription)
    sub, _secret = subscription
    before = list(WebhookSubscription.objects.values_list("pk", "event_types"))
    with pytest.raises(ValidationError) as created:
        webhook_subscription_create(name="Other", url=sub.url, event_types=types, actor=dpo)
    with pytest.raises(ValidationError) as changed:
        subscription_set(sub, dpo, event_types=types)
    for error in (created, changed):
        assert "Unknown event type" in " ".join(error.value.message_dict["event_types"])
    assert list(WebhookSubscription.objects.values_list("pk", "event_types")) == before
    with translation.override("de"), pytest.raises(ValidationError) as german:
        subscription_set(sub, dpo, event_types=types)
    assert "Unbekannter Ereignistyp" in " ".join(german.value.message_dict["event_types"])


def test_the_admin_form_offers_and_takes_only_the_subscription_event_types(
    client, dpo, local_targets
):
    client.force_login(dpo)
    response = client.post(
        reverse(ADD),
        {
            "name": "SIEM",
            "url": "http://127.0.0.1:9/h",
            "timeout_seconds": "5",
            "event_types": ["grant.bogus", EVENT_PROVISION],
        },
    )
    assert response.status_code == 200
    assert "event_types" in response.context["form"].errors
    assert not WebhookSubscription.objects.exists()
