"""The audit trail in the admin as an auditor reads it: a list that does not squeeze the
target, and a page per event with every detail readable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from tests.factories import DataAssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(dpo):
    asset = DataAssetFactory(name="Customer records")
    return audit_event_record(
        action="access.request.approved",
        actor=dpo,
        target=asset,
        reason="Customer complaint <b>42</b>",
        data={
            "policy": {"max_hours": 8, "approvals_required": 2},
            "as_dpo": True,
            "window": {"starts_at": "2027-01-01T09:00:00+00:00"},
            "note": "x" * 120,
            "extra": 1,
        },
    )


def test_the_list_shows_the_target_and_a_summary_of_the_details(client, auditor, event):
    client.force_login(auditor)
    body = client.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    # the target is its label over its type and key, in a column that wraps
    assert f"Customer records<br><small>inventory.dataasset #{event.target_id}</small>" in body
    assert "audit/audit.css" in body
    # the details column names the data's keys with short values, and says what is left out
    assert "as_dpo: true" in body and "(+1 more)" in body
    assert "x" * 120 not in body
    # each row opens the event's page
    assert reverse("admin:audit_auditevent_change", args=[event.pk]) in body


def test_the_event_page_shows_every_detail_pretty_printed_and_escaped(client, auditor, event):
    client.force_login(auditor)
    response = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    # the data, indented JSON with sorted keys, in full
    assert '<pre class="audit-data">{\n  &quot;as_dpo&quot;: true,' in body
    assert "&quot;max_hours&quot;: 8" in body and "x" * 120 in body
    # free text is escaped, never markup
    assert "Customer complaint &lt;b&gt;42&lt;/b&gt;" in body
    # the chain and a way to every event on the same target
    assert event.hash in body and event.prev_hash in body
    assert "All events on inventory.dataasset #" in body
    # and nothing can be changed or deleted from it
    assert 'name="_save"' not in body
    assert reverse("admin:audit_auditevent_delete", args=[event.pk]) not in body


def test_the_event_page_is_read_only_for_every_role(client, dpo, event):
    client.force_login(dpo)
    url = reverse("admin:audit_auditevent_change", args=[event.pk])
    before = AuditEvent.objects.values().get(pk=event.pk)
    response = client.post(url, {"reason": "rewritten", "action": "x"})
    assert response.status_code == 403
    assert AuditEvent.objects.values().get(pk=event.pk) == before
