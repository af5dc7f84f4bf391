"""The audit trail keeps no more personal data than it needs.

The trail is kept six years and auditors read it without a grant: an event about a governed
record names it by model and key (or its reference), never by a value of its personal fields,
and a search is stored as a keyed digest. Rows with recognisable values are read through every
path that writes about governed records (portal pages, every admin read, legal holds, a purge
that erases them), then the whole trail is searched for those values.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import audit_search_term_digest
from apps.crm.models import Customer, CustomerStatus
from apps.inventory.models import DataAsset
from apps.retention.models import HoldBasis, HoldScope
from apps.retention.services import legal_hold_place, purge_run_execute, purge_run_request
from tests.access.factories import GrantFactory
from tests.crm.governed import (
    admin_endpoints,
    governed_models,
    marked_rows_make,
    portal_urls,
    related_models,
)
from tests.factories import UserFactory
from tests.retention.factories import make_rule

pytestmark = pytest.mark.django_db


def _trail_text() -> str:
    """Every stored column of every event, as one lower-case text."""
    rows = AuditEvent.objects.values_list(
        "actor_label", "action", "target_type", "target_id", "target_repr", "reason", "data"
    )
    return "\n".join(
        " ".join(json.dumps(v, default=str) if isinstance(v, dict | list) else str(v) for v in r)
        for r in rows
    ).lower()


def test_no_value_of_a_governed_record_reaches_the_trail(client, crm_assets, dpo):
    # given rows of every governed model with recognisable values in their personal fields
    governed = governed_models()
    marked = marked_rows_make()
    terms = marked.all_markers()
    everything = list(DataAsset.objects.exclude(governed_model=None))
    reader = UserFactory(username="reader")
    reader.is_staff = True
    reader.save()
    GrantFactory(user=reader, assets=everything)
    root = UserFactory(username="root", is_superuser=True)
    root.is_staff = True
    root.save()
    # when a grant holder and a superuser read them through every portal page and admin read,
    # searching for those values
    for user in (reader, root):
        client.force_login(user)
        for url in portal_urls(marked.rows):
            client.get(url)
            client.get(url, {"q": terms[0]})
        for model in {*governed, *related_models(governed)}:
            for endpoint in admin_endpoints(
                model, marked.rows[model][0], user=user, search=marked.markers[model][0]
            ):
                if endpoint.method == "post":
                    client.post(endpoint.url, endpoint.data)
                else:
                    client.get(endpoint.url)
    # and the DPO holds the first row of each, and a purge erases the other customer
    for model, rows in marked.rows.items():
        legal_hold_place(
            scope=HoldScope.RECORDS,
            basis=HoldBasis.ART_17_3_E,
            reason="Claim pending",
            review_on=timezone.localdate() + timedelta(days=30),
            actor=dpo,
            content_type=ContentType.objects.get_for_model(model),
            object_ids=[str(rows[0].pk)],
        )
    Customer.objects.update(
        status=CustomerStatus.CLOSED, last_activity_at=datetime(2010, 1, 1, tzinfo=UTC)
    )
    rule = make_rule(model=Customer, asset=DataAsset.objects.get(name="Customers"))
    run = purge_run_request(
        rule_id=rule.pk, actor=None, actor_label="system:test", trigger="code", queue=False
    ).run
    purge_run_execute(run_id=run.pk)
    erased = marked.rows[Customer][1]
    assert not Customer.objects.filter(pk=erased.pk).exists()
    # (an erasure rewrites nothing: the chain still verifies)
    assert audit_chain_verify().ok

    # then every event type written about governed records was written
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "access.record.viewed",
        "access.records.listed",
        "access.record.viewed_as_superuser",
        "access.records.listed_as_superuser",
        "retention.hold.placed",
        "retention.purge.started",
        "retention.purge.finished",
    } <= actions, actions
    # and none of them holds a value from a record's personal fields, nor a search term
    trail = _trail_text()
    leaked = [term for term in terms if term.lower() in trail]
    assert not leaked, leaked
    # the searches are there as keyed digests an investigator can test a known term against
    digests = set(
        AuditEvent.objects.filter(data__has_key="query_digest").values_list(
            "data__query_digest", flat=True
        )
    )
    assert audit_search_term_digest(terms[0]) in digests
    assert audit_search_term_digest(terms[0].upper() + "  ") == audit_search_term_digest(terms[0])


def test_record_view_names_the_reference_and_search_is_a_digest(
    client, staff_user, customers_asset, ada
):
    # given a grant on the customers
    GrantFactory(user=staff_user, assets=[customers_asset])
    client.force_login(staff_user)
    # when the user opens Ada's record and searches the list for her name
    client.get(reverse("crm-customer-detail", args=[ada.pk]))
    client.get(reverse("crm-customer-list"), {"q": "Lovelace"})
    # then the view is logged with the reference, the search with its keyed digest
    viewed = AuditEvent.objects.get(action="access.record.viewed")
    assert (viewed.target_type, viewed.target_id) == ("crm.customer", str(ada.pk))
    assert viewed.target_repr == "T-0001"
    listed = AuditEvent.objects.get(action="access.records.listed")
    assert listed.data["query_digest"] == audit_search_term_digest("lovelace")
    trail = _trail_text()
    for personal in ("lovelace", "ada@example.org", "+44 20 0000 0000", "hearing"):
        assert personal not in trail


def test_an_investigator_tests_a_known_term(client, staff_user, customers_asset, ada):
    # given a logged search for a phone number
    GrantFactory(user=staff_user, assets=[customers_asset])
    client.force_login(staff_user)
    client.get(reverse("crm-customer-list"), {"q": "+44 20"})
    event = AuditEvent.objects.get(action="access.records.listed")
    # when an investigator tests that term, and another
    found, other = StringIO(), StringIO()
    call_command("audit_search_term", "+44  20", stdout=found)
    call_command("audit_search_term", "+33", stdout=other)
    # then the first names the event, the second none
    assert f"#{event.pk} " in found.getvalue() and ": 1 event(s)" in found.getvalue()
    assert ": 0 event(s)" in other.getvalue()


def test_the_search_key_setting_keys_the_digest(settings):
    settings.JITPORTAL = {**settings.JITPORTAL, "AUDIT_SEARCH_KEY": "one"}
    first = audit_search_term_digest("Lovelace")
    settings.JITPORTAL = {**settings.JITPORTAL, "AUDIT_SEARCH_KEY": "two"}
    assert audit_search_term_digest("Lovelace") != first
    assert audit_search_term_digest("   ") == ""


def test_erasure_leaves_the_chain_intact(client, staff_user, customers_asset, ada):
    # given views of a customer on the trail
    GrantFactory(user=staff_user, assets=[customers_asset])
    client.force_login(staff_user)
    client.get(reverse("crm-customer-detail", args=[ada.pk]))
    # when the customer is erased
    Customer.objects.filter(pk=ada.pk).delete()
    # then the chain verifies without a single event rewritten, and names her nowhere
    assert audit_chain_verify().ok
    assert "lovelace" not in _trail_text()
