"""SLACK_TEAM_ID: a signed payload from another Slack workspace (the app installed twice,
or a payload naming no workspace) is refused: the clicker is told, a warning is logged, and
nothing is decided, opened or remembered. A malformed setting stops the portal at start."""

from __future__ import annotations

import logging

import pytest

from apps.access.models import RequestStatus
from apps.audit.models import AuditEvent
from apps.chat.models import SlackDelivery
from tests.chat.conftest import TEAM, click, deny_submission, link, post, submit
from tests.test_settings import GOOD, _manage

FOREIGN = {
    "other-team": {"id": "TOTHER1"},
    "team-id-null": {"id": None},
    "team-id-int": {"id": 5},
    "team-id-huge": {"id": "T" + "A" * 100_000},
    "team-a-string": TEAM,
    "team-null": None,
}


@pytest.mark.django_db
@pytest.mark.parametrize("team", [*FOREIGN.values(), "missing"], ids=[*FOREIGN, "missing"])
def test_a_payload_from_another_workspace_is_refused_and_changes_nothing(
    client, slack, role, staff_user, approver, caplog, team
):
    # given a pending request shown to a linked approver, and SLACK_TEAM_ID set
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    events = AuditEvent.objects.count()
    payloads = {
        "approve": click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk),
        "deny": click(slack, user="UAPPROVER1", action="jp_deny", request_id=request.pk),
        "submission": deny_submission(user="UAPPROVER1", request_id=request.pk, reason="No."),
    }
    for kind, payload in payloads.items():
        if team == "missing":
            del payload["team"]
        else:
            payload["team"] = team
        slack.clear()
        caplog.clear()
        # when it is signed correctly and posted
        with caplog.at_level(logging.WARNING, logger="apps.chat.interactions"):
            response = post(client, payload)
        # then it is answered, the clicker alone is told, and a warning names the workspace
        assert response.status_code == 200, kind
        told = slack.called("respond") + slack.called("chat.postEphemeral")
        assert len(told) == 1, kind
        assert "not the one the access portal serves" in told[0].args["text"], kind
        assert any("SLACK_TEAM_ID" in r.getMessage() for r in caplog.records), kind
        assert all(len(r.getMessage()) < 400 for r in caplog.records), kind
        # and nothing changed: no decision, no modal, no event, no delivery remembered
        assert slack.called("views.open") == [], kind
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING, kind
        assert AuditEvent.objects.count() == events, kind
        assert not SlackDelivery.objects.exists(), kind


@pytest.mark.django_db
def test_without_slack_team_id_any_workspace_signed_with_the_secret_is_acted_on(
    client, slack, settings, role, staff_user, approver
):
    # given no SLACK_TEAM_ID: the signing secret is the only guard
    settings.SLACK_TEAM_ID = ""
    link(slack, approver, "UAPPROVER1")
    request = submit(staff_user, role)
    payload = click(slack, user="UAPPROVER1", action="jp_approve", request_id=request.pk)
    payload["team"] = {"id": "TOTHER1"}
    # when a click from another workspace comes
    assert post(client, payload).status_code == 200
    # then it is acted on
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


@pytest.mark.parametrize(
    "value", ["t024be7ld", "U024BE7LD", "T0", "T024 BE7LD", "T024BE7LD\n", "TÄ24BE7LD", "E1" * 30]
)
def test_a_malformed_slack_team_id_stops_the_portal_at_start(value):
    result = _manage("check", **GOOD, SLACK_TEAM_ID=value)
    assert result.returncode != 0
    assert "SLACK_TEAM_ID=" in result.stderr and "team id" in result.stderr


def test_a_well_formed_slack_team_id_loads():
    result = _manage("check", **GOOD, SLACK_TEAM_ID="T024BE7LD")
    assert result.returncode == 0, result.stderr
