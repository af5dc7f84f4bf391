"""What a webhook payload carries: per event type only the allowed ids, codes, times,
counts and flags (docs/webhooks.md, "What each event carries"); names and free text stay in
the portal whatever the audit event holds."""

from __future__ import annotations

import json

import pytest

from apps.audit.services import audit_event_record
from apps.webhooks.events import ACTION_EVENTS, DETAIL_FIELDS, OFFBOARDED_ACTION
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import DELIVERED, webhook_delivery_send
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEXT = "Ada Lovelace, ticket INC 4711: complaint by ada@example.org"
USERNAME = "mkr.lovelace"

#: Every key any service writes into the data of an audit event that becomes a webhook
#: event (apps/access/services, apps/retention/services/common.py, apps/audit/services.py).
AUDIT_KEYS = [
    "starts_at",
    "ends_at",
    "ticket",
    "processing_activity",
    "extends_grant",
    "grant",
    "assets",
    "rights",
    "approvers",
    "as_dpo",
    "channel",
    "holder",
    "not_entitled",
    "previous_ends_at",
    "ended_at",
    "asset",
    "asset_name",
    "special",
    "request",
    "rule_id",
    "status",
    "error_code",
    "action",
    "cutoff",
    "matched",
    "affected",
    "skipped_held",
    "skipped_protected",
    "batches",
    "digest",
    "interrupted",
    "first_broken_id",
    "checked",
    "grants_revoked",
    "requests_cancelled",
    "note",
    "comment",
    "justification",
    "reason",
]


def _hostile_data() -> dict:
    """Each key filled with free text, lists holding it next to ids, user names where the
    trail keeps them, and a policy snapshot with text in it."""
    data: dict = dict.fromkeys(AUDIT_KEYS, TEXT)
    data.update(
        {
            "approvers": [USERNAME, TEXT],
            "assets": [3, TEXT, USERNAME],
            "rights": ["view", TEXT],
            "grants_revoked": [11, TEXT, USERNAME],
            "requests_cancelled": [TEXT],
            "policy": {"name": TEXT, "role_id": TEXT, "asset_id": 5, "approver": USERNAME},
            TEXT: TEXT,
        }
    )
    return data


@pytest.mark.parametrize("action", sorted([*ACTION_EVENTS, OFFBOARDED_ACTION]))
def test_no_name_or_free_text_reaches_a_delivery(subscription, receiver, action):
    # Given a person whose names are markers, and an audit event of an action that gives a
    # webhook event, with free text or a user name in every field it could hold
    person = UserFactory(
        username=USERNAME, first_name=TEXT, last_name=TEXT, email="ada.marker@example.org"
    )
    audit_event_record(
        action=action, actor=person, target=person, reason=TEXT, data=_hostile_data()
    )
    # When its deliveries are sent
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert deliveries
    for delivery in deliveries:
        assert webhook_delivery_send(delivery_id=delivery.pk) == DELIVERED
    # Then no marker reached the receiver, in the body or the headers
    for got in receiver.received:
        sent = got.body.decode() + json.dumps(got.headers)
        for marker in ("Lovelace", "INC 4711", "ada@example.org", "ada.marker", USERNAME):
            assert marker not in sent, (action, marker)
        # and the detail has exactly the fields its event type allows
        body = json.loads(got.body)
        assert set(body["data"]["detail"]) == set(DETAIL_FIELDS[body["type"]])
        assert set(body["data"]) <= {
            "action",
            "audit_event",
            "target",
            "actor_id",
            "detail",
            "outcome",
        }


def test_allowed_fields_are_carried_with_their_values(subscription):
    # Given a decision's audit event with ids, times, codes and approvers' user names
    audit_event_record(
        action="access.request.approved",
        actor_label="system:test",
        reason=TEXT,
        data={
            "grant": 9,
            "starts_at": "2027-03-05T12:00:00+00:00",
            "ends_at": "2027-03-05T14:00:00+00:00",
            "assets": [3, 4],
            "rights": ["view", "export"],
            "approvers": ["alice", "bob"],
            "channel": "slack",
            "policy": {"role_id": 2, "name": TEXT},
        },
    )
    # Then the payload carries the ids, window, codes and only the count of approvers
    detail = json.loads(WebhookDelivery.objects.get().body)["data"]["detail"]
    assert detail == {
        "starts_at": "2027-03-05T12:00:00+00:00",
        "ends_at": "2027-03-05T14:00:00+00:00",
        "role": 2,
        "asset": None,
        "grant": 9,
        "extends_grant": None,
        "assets": [3, 4],
        "rights": ["view", "export"],
        "approvals": 2,
        "as_dpo": None,
        "channel": "slack",
    }
