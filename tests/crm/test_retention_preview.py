"""A retention preview names the rows that would go by key and date, never by their text.

The preview is shown to the DPO, who holds no grant on the rows, and kept as a dry run's
sample for years: a filter on a free-text field must not bring that field's values into it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from apps.crm.models import Customer
from apps.retention.selectors import purge_preview
from tests.retention.factories import make_rule

pytestmark = pytest.mark.django_db


def test_retention_preview_shows_no_free_text_of_the_rows(ada, grace):
    # given a rule whose filter names a free-text field and a status
    Customer.objects.update(last_activity_at=datetime(2010, 1, 1, tzinfo=UTC))
    rule = make_rule(model=Customer, filter={"status": "closed", "email__endswith": "@example.org"})
    # when the DPO previews it (and the preview is kept as a dry run's sample)
    sample = purge_preview(rule=rule).sample
    # then the sample holds keys, dates and the status, never the email
    assert [str(row["pk"]) for row in sample] == [str(grace.pk)]
    assert sample[0]["status"] == "closed"
    assert all("email" not in row for row in sample)
    assert "grace@example.org" not in json.dumps(sample)
