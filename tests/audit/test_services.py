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


@pytest.mark.postgres
def test_a_large_bulk_is_copied_with_ids_and_still_verifies():
    # given a bulk large enough to take the COPY path, after an ordinary event
    first = audit_event_record(action="test.before")
    specs = [
        EventSpec(action="test.bulk", reason=f"r{i}", data={"i": i, "when": first.occurred_at})
        for i in range(120)
    ]
    # when it is recorded
    events = audit_events_record_bulk(events=specs)
    # then every event has its id, in chain order, and the stored rows verify
    assert [e.pk for e in events] == sorted(e.pk for e in events)
    assert events[0].prev_hash == first.hash
    assert AuditEvent.objects.filter(action="test.bulk").count() == 120
    stored = AuditEvent.objects.get(pk=events[7].pk)
    assert stored.hash == events[7].hash
    assert stored.data == {"i": 7, "when": events[7].data["when"]}
    assert audit_chain_verify().ok
    # and an ordinary event after it links to the last of the bulk
    assert audit_event_record(action="test.after").prev_hash == events[-1].hash
