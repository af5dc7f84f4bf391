"""The requester's fresh second factor is one rule on every channel (apps/access/requester_factor.py).

Every requester action that a role's ``requester_mfa_required`` concerns (asking for the role,
asking for more time on a grant of it), on every channel (the portal's pages, the API with a
session and with a token, the agents' tool), with ``MFA_REQUIRED`` on and off and the role's
flag on and off: the portal asks for the factor exactly when the API and the agent refuse,
and they refuse with the same words and a pointer to the very page the portal sends back to.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.access import services
from apps.access.models import AccessRequest
from apps.agents import tools
from tests.api.conftest import Api, ask, make_token
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "urn:jitportal:problem:fresh-second-factor-required"
ASK_CHANNELS = ("ask/portal-get", "ask/portal-post", "ask/api-session", "ask/api-token", "ask/mcp")


def _holder_of_a_live_grant(name: str, role):
    holder = UserFactory(username=name, groups=["Staff"])
    request = ask(holder, role)
    decider = UserFactory(username=f"{name}-decider", groups=["Approvers"], is_staff=True)
    services.access_request_approve(request_id=request.pk, approver=decider)
    request.refresh_from_db()
    return request.grant


def _portal(user):
    client = Client()
    client.force_login(user)
    return client


def _outcome_of_the_portal(response, count_before: int) -> tuple[bool, str | None]:
    """(asked for the factor, the page it sends back to)."""
    if response.status_code == 302 and urlsplit(response["Location"]).path in (
        reverse("mfa-verify"),
        reverse("mfa-enrol"),
    ):
        assert AccessRequest.objects.count() == count_before
        return True, parse_qs(urlsplit(response["Location"]).query)["next"][0]
    assert response.status_code in (200, 302), response.status_code
    return False, None


@pytest.mark.parametrize("mfa_on", [True, False], ids=["mfa-on", "mfa-off"])
@pytest.mark.parametrize("flag", [True, False], ids=["role-asks", "role-asks-nothing"])
def test_every_channel_agrees_on_the_requesters_fresh_factor(groups, role, settings, mfa_on, flag):
    # given a role with or without the flag, and the second factor switched on or off
    settings.MFA_REQUIRED = mfa_on
    settings.LANGUAGE_CODE = "de"
    role.requester_mfa_required = flag
    role.save()
    expected = mfa_on and flag
    body = {"role": role.pk, "duration_hours": 1, "justification": "Kundenfall 17"}
    extend_body = {"extend_by_hours": 1, "justification": "Kundenfall 17"}
    answers: dict[str, tuple[bool, str | None, str | None]] = {}
    # The portal page each action belongs to (for more time: the page of that grant).
    pages = {key: f"{reverse('access-request-create')}?role={role.pk}" for key in ASK_CHANNELS}

    # when each channel asks for the role (each as its own person, none holding a fresh factor)
    for name in ("portal-get", "portal-post"):
        user = UserFactory(username=f"ask-{name}", groups=["Staff"])
        before = AccessRequest.objects.count()
        url = reverse("access-request-create")
        if name == "portal-get":
            response = _portal(user).get(url, {"role": role.pk})
        else:
            response = _portal(user).post(
                url,
                {
                    "target": f"role-{role.pk}",
                    "start": "now",
                    "duration": "1",
                    "justification": "Kundenfall 17",
                },
            )
            assert expected or AccessRequest.objects.count() == before + 1
        asked, back = _outcome_of_the_portal(response, before)
        answers[f"ask/{name}"] = (asked, back, None)
    for name, kwargs in (("api-session", "user"), ("api-token", "token")):
        user = UserFactory(username=f"ask-{name}", groups=["Staff"])
        client = Api(user=user) if kwargs == "user" else Api(token=make_token(user, "request"))
        client.headers["Accept-Language"] = "de"
        response = client.post("/api/me/requests/", body)
        answers[f"ask/{name}"] = _api_outcome(response)
    user = UserFactory(username="ask-mcp", groups=["Staff"])
    with translation.override("de"):
        try:
            tools.request_ask(
                user=user, target=f"role-{role.pk}", duration_hours=1, justification="Kundenfall 17"
            )
        except tools.ToolRefused as refused:
            answers["ask/mcp"] = _mcp_outcome(str(refused))
        else:
            answers["ask/mcp"] = (False, None, None)
        listed = tools.requestable_list(user=user)["roles"]
    said_by_the_list = next(r for r in listed if r["target"] == f"role-{role.pk}")

    # and each channel asks for more time on a grant of the role
    for name in ("portal", "api-session", "api-token"):
        grant = _holder_of_a_live_grant(f"extend-{name}", role)
        pages[f"extend/{name}"] = reverse("access-grant-extend", args=[grant.pk])
        before = AccessRequest.objects.count()
        if name == "portal":
            response = _portal(grant.user).post(
                reverse("access-grant-extend", args=[grant.pk]),
                {"extend_by": "1", "justification": "Kundenfall 17"},
            )
            asked, back = _outcome_of_the_portal(response, before)
            assert expected or AccessRequest.objects.count() == before + 1
            answers[f"extend/{name}"] = (asked, back, None)
        else:
            client = (
                Api(user=grant.user)
                if name == "api-session"
                else Api(token=make_token(grant.user, "request"))
            )
            client.headers["Accept-Language"] = "de"
            response = client.post(f"/api/me/grants/{grant.pk}/extend/", extend_body)
            answers[f"extend/{name}"] = _api_outcome(response)

    # then every channel asks for the factor (or refuses) exactly when the rule says so
    assert {key: answer[0] for key, answer in answers.items()} == dict.fromkeys(answers, expected)
    assert said_by_the_list["second_factor_on_the_portal"] is expected
    if not expected:
        return
    # and the refusals point at the page the portal sends back to, with the same German words
    for key, (_asked, pointer, words) in answers.items():
        assert pointer == pages[key], key
        if words is not None:
            assert "frischen zweiten Faktor" in words, (key, words)
    assert answers["ask/api-token"][2] == answers["ask/api-session"][2] == answers["ask/mcp"][2]
    assert answers["extend/api-token"][2] == answers["extend/api-session"][2]
    assert answers["ask/api-token"][2] != answers["extend/api-token"][2]


def _api_outcome(response) -> tuple[bool, str | None, str | None]:
    """(refused for the factor, the portal page it points to, its words with the link cut)."""
    if response.status_code != 403:
        assert response.status_code == 201, response.json()
        return False, None, None
    problem = response.json()
    assert problem["type"] == PROBLEM, problem
    url = problem["portal_url"]
    assert url in problem["detail"]
    pointer = urlsplit(url)
    path = pointer.path + (f"?{pointer.query}" if pointer.query else "")
    return True, path, problem["detail"].replace(url, "<url>")


def _mcp_outcome(text: str) -> tuple[bool, str | None, str | None]:
    base = django_settings.PORTAL_BASE_URL.rstrip("/")
    found = re.search(re.escape(base) + r"(/\S+)", text)
    assert found, text
    return True, found.group(1), text.replace(base + found.group(1), "<url>")


def test_only_the_rule_reads_the_roles_flag():
    # given every module of the apps (the rule's own module, models and migrations aside)
    allowed = {ROOT / "apps/access/requester_factor.py"}
    readers = [
        path.relative_to(ROOT)
        for path in (ROOT / "apps").rglob("*.py")
        if path not in allowed
        and "migrations" not in path.parts
        and re.search(r"\.requester_mfa_required\b", path.read_text(encoding="utf-8"))
    ]
    # then none reads the flag itself: a new channel has to ask requester_factor_missing
    assert readers == []
