import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import (
    GENESIS_HASH,
    EventSpec,
    audit_event_record,
    audit_events_record_bulk,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_events_form_a_chain_that_verifies():
    # given a user and two recorded events
    user = UserFactory()
    first = audit_event_record(action="test.first", actor=user, reason="because", data={"a": 1})
    second = audit_event_record(action="test.second", actor_label="system:beat", target=user)

    # then each links to the one before, and the chain verifies
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.actor_label == user.username
    assert second.target_type == "auth.user" and second.target_id == str(user.pk)
    result = audit_chain_verify()
    assert result.ok and result.checked == 2


def test_bulk_record_chains_in_order():
    events = audit_events_record_bulk(events=[EventSpec(action=f"test.{i}") for i in range(5)])
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert audit_chain_verify().checked == 5


def test_raw_sql_edit_of_an_old_event_is_detected():
    # given a chain of three events
    events = [audit_event_record(action="test.x", reason=f"r{i}") for i in range(3)]
    # when someone edits the middle one behind the portal's back
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET reason = %s WHERE id = %s",
            ["rewritten", events[1].pk],
        )
    # then verification names that event as the first broken link
    result = audit_chain_verify()
    assert not result.ok
    assert result.first_broken_id == events[1].pk
