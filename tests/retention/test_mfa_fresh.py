"""A fresh second factor (MFA_FRESH_MINUTES) before running a purge or confirming one
(four eyes); the preview (a dry run) needs none."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.retention.models import PurgeRun
from tests.retention.factories import make_rule
from tests.signin.mfa import make_stale, verify

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.MFA_REQUIRED = True
    settings.MFA_FRESH_MINUTES = 10


@pytest.mark.parametrize("page", ["run", "confirm"])
def test_running_a_purge_needs_a_fresh_factor(client, dpo, page):
    rule = make_rule(actor=dpo)
    url = reverse(f"admin:retention_retentionrule_{page}", args=[rule.pk])
    verify(client, dpo)
    make_stale(client)
    for response in (client.get(url), client.post(url, {"confirm": "on"})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("mfa-verify") + "?next=")
    assert not PurgeRun.objects.exists()
    # The preview is a dry run: no factor asked
    preview = reverse("admin:retention_retentionrule_preview", args=[rule.pk])
    assert client.get(preview).status_code == 200


def test_a_fresh_factor_opens_the_run_page(client, dpo):
    rule = make_rule(actor=dpo)
    verify(client, dpo)
    url = reverse("admin:retention_retentionrule_run", args=[rule.pk])
    assert client.get(url).status_code == 200
