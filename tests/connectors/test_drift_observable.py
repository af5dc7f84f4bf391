"""A target nobody can ask what it holds (a webhook endpoint) is "not observable (webhook)":
never a failure, never an alert, nothing recorded, for every such kind the registry holds;
every other kind is asked."""

from __future__ import annotations

import pytest
from django.contrib.admin import helpers
from django.contrib.messages import constants, get_messages
from django.urls import reverse

from apps.connectors.base import Connector
from apps.connectors.models import DriftFinding, Target
from apps.connectors.registry import connector_classes
from apps.connectors.services.drift import (
    DriftStatus,
    connectors_drift_check,
    target_drift_check,
)

pytestmark = pytest.mark.django_db

UNOBSERVABLE = sorted(cls.kind for cls in connector_classes() if not cls.observable)


def test_exactly_the_webhook_kind_cannot_be_observed_and_the_others_implement_observe():
    assert UNOBSERVABLE == ["webhook"]
    for cls in connector_classes():
        if cls.observable:
            assert cls.observe is not Connector.observe, cls.kind


@pytest.mark.parametrize("kind", UNOBSERVABLE)
def test_drift_says_not_observable_and_raises_no_alert(kind, client, dpo):
    # Given an enabled target of a kind that cannot be observed
    target = Target.objects.create(name="HR system", kind=kind, account_prefix="jpt_")

    # When drift is checked by the service (beat, the command)
    result = target_drift_check(target_id=target.pk)

    # Then it is not observable: no error, no finding, nothing to alert on
    assert result.status == DriftStatus.NOT_OBSERVABLE
    assert (result.error, result.findings, result.alerts) == ("", [], False)
    assert connectors_drift_check() == {}
    assert not DriftFinding.objects.exists()

    # and the admin's action says so as information, not as an error
    client.force_login(dpo)
    response = client.post(
        reverse("admin:connectors_target_changelist"),
        {"action": "check_drift", helpers.ACTION_CHECKBOX_NAME: [target.pk]},
        follow=True,
    )
    said = [(m.level, str(m)) for m in get_messages(response.wsgi_request)]
    assert said == [(constants.INFO, f"HR system: not observable ({kind})")]
