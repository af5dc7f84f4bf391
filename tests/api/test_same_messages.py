"""The API and the pages give the same answer to the same bad input: the same forms read
it and the same services refuse it, so the messages are the same, word for word (in the
reader's language too)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from apps.access.models import AccessRequest, Approval
from tests.factories import ProcessingActivityFactory

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%dT%H:%M"


def page_messages(response) -> set[str]:
    """Every error a page shows: its form's errors and its messages."""
    found: set[str] = set()
    context = response.context or {}
    form = context.get("form") if hasattr(context, "get") else None
    if form is not None:
        for errors in form.errors.values():
            found |= {str(e) for e in errors}
    found |= {str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"}
    return found


def api_messages(response) -> set[str]:
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    return {e["detail"] for e in problem.get("errors", [])} or {problem["detail"]}


def local(moment) -> str:
    return timezone.localtime(moment).strftime(FMT)


@pytest.fixture
def person(requester):
    client = Client()
    client.force_login(requester)
    return client


CASES = {
    # name: (page form data, API body)
    "too long and no justification": (
        {"start": "now", "duration": "100", "justification": ""},
        {"duration_hours": 100, "justification": ""},
    ),
    "no duration nor end": ({"start": "now"}, {}),
    "a duration that is not a number": (
        {"start": "now", "duration": "two", "justification": "x"},
        {"duration_hours": "two", "justification": "x"},
    ),
    "a start in the past": (
        {"start": "later", "starts_at": "2020-01-01T10:00", "duration": "1", "justification": "x"},
        {"starts_at": "2020-01-01T10:00", "duration_hours": 1, "justification": "x"},
    ),
    "a far-off year": (
        {"start": "later", "starts_at": "3500-01-01T10:00", "duration": "1", "justification": "x"},
        {"starts_at": "3500-01-01T10:00", "duration_hours": 1, "justification": "x"},
    ),
    "a control character": (
        {"start": "now", "duration": "1", "justification": "a\x07b"},
        {"duration_hours": 1, "justification": "a\x07b"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_request_form_and_the_api_refuse_alike(api, person, requester, role, case):
    page_data, body = CASES[case]
    page = person.post("/request/", {"target": f"role-{role.pk}", **page_data})
    answer = api(user=requester).post("/api/me/requests/", {"role": role.pk, **body})
    assert page.status_code == 200 and answer.status_code == 400
    assert page_messages(page) and api_messages(answer) == page_messages(page)
    assert AccessRequest.objects.count() == 0


def test_an_end_before_the_start_and_a_role_not_offered(api, person, requester, role):
    start = timezone.now() + timedelta(hours=2)
    page = person.post(
        "/request/",
        {
            "target": f"role-{role.pk}",
            "start": "later",
            "starts_at": local(start),
            "ends_at": local(start - timedelta(hours=1)),
            "justification": "x",
        },
    )
    answer = api(user=requester).post(
        "/api/me/requests/",
        {
            "role": role.pk,
            "starts_at": local(start),
            "ends_at": local(start - timedelta(hours=1)),
            "justification": "x",
        },
    )
    assert api_messages(answer) == page_messages(page) == {"The end must be after the start."}
    page = person.post("/request/", {"target": "role-987654", "start": "now", "duration": "1"})
    answer = api(user=requester).post("/api/me/requests/", {"role": 987654, "duration_hours": 1})
    assert api_messages(answer) == page_messages(page)


def test_a_purpose_is_asked_for_alike(api, person, requester, role, asset):
    ProcessingActivityFactory(name="Complaints").assets.add(asset)
    data = {"start": "now", "duration": "1", "justification": "x"}
    page = person.post("/request/", {"target": f"role-{role.pk}", **data})
    answer = api(user=requester).post(
        "/api/me/requests/", {"role": role.pk, "duration_hours": 1, "justification": "x"}
    )
    assert api_messages(answer) == page_messages(page)
    assert any(e.get("pointer") == "#/processing_activity" for e in answer.json()["errors"])


def test_a_duplicate_request_is_refused_alike(api, person, requester, pending, role):
    data = {"start": "now", "duration": "1", "justification": "again"}
    page = person.post("/request/", {"target": f"role-{role.pk}", **data})
    answer = api(user=requester).post(
        "/api/me/requests/", {"role": role.pk, "duration_hours": 1, "justification": "again"}
    )
    assert answer.status_code == 409
    assert api_messages(answer) == page_messages(page)
    assert AccessRequest.objects.count() == 1


def test_cancelling_twice_is_refused_alike(api, person, requester, pending):
    person.post(f"/requests/{pending.pk}/cancel/")
    page = person.post(f"/requests/{pending.pk}/cancel/")
    answer = api(user=requester).post(f"/api/me/requests/{pending.pk}/cancel/")
    assert api_messages(answer) == page_messages(page)


def test_extending_badly_is_refused_alike(api, live_grant):
    holder = Client()
    holder.force_login(live_grant.user)
    for page_data, body in (
        ({}, {}),
        (
            {"extend_by": "100", "justification": "more"},
            {"extend_by_hours": 100, "justification": "more"},
        ),
        (
            {"ends_at": local(live_grant.ends_at - timedelta(hours=1))},
            {"ends_at": local(live_grant.ends_at - timedelta(hours=1))},
        ),
    ):
        page = holder.post(f"/grants/{live_grant.pk}/extend/", page_data)
        answer = api(user=live_grant.user).post(f"/api/me/grants/{live_grant.pk}/extend/", body)
        assert answer.status_code == 400
        assert api_messages(answer) == page_messages(page), page_data


def test_the_decision_pages_and_the_api_refuse_alike(api, approver, pending, live_grant):
    admin = Client()
    admin.force_login(approver)
    decide = f"/admin/access/accessrequest/{pending.pk}/decide"
    longer = local(pending.ends_at + timedelta(hours=2))
    for page_url, page_data, api_url, body in (
        (f"{decide}/deny/", {"reason": " "}, f"/api/queue/{pending.pk}/deny/", {"reason": " "}),
        (
            f"{decide}/approve/",
            {"ends_at": longer},
            f"/api/queue/{pending.pk}/approve/",
            {"ends_at": longer},
        ),
        (
            f"{decide}/approve/",
            {"ends_at": "soon"},
            f"/api/queue/{pending.pk}/approve/",
            {"ends_at": "soon"},
        ),
        (
            f"/admin/access/grant/{live_grant.pk}/revoke/",
            {"reason": ""},
            f"/api/grants/{live_grant.pk}/revoke/",
            {"reason": ""},
        ),
    ):
        page = admin.post(page_url, page_data)
        answer = api(user=approver).post(api_url, body)
        assert answer.status_code == 400, answer.json()
        assert api_messages(answer) == page_messages(page), page_url
    assert not Approval.objects.filter(request=pending).exists()


def test_the_register_period_is_refused_alike(api, dpo, asset):
    admin = Client()
    admin.force_login(dpo)
    query = {"asset": asset.pk, "start": "2026-02-01", "end": "2026-01-01"}
    page = admin.get("/admin/reports/report/registers/asset/", query)
    answer = api(user=dpo).get("/api/registers/asset/", query)
    assert api_messages(answer) == page_messages(page) == {"The period ends before it starts."}


def test_in_german_too(api, person, requester, role):
    body = {"role": role.pk, "duration_hours": 100, "justification": ""}
    page = person.post(
        "/request/",
        {"target": f"role-{role.pk}", "start": "now", "duration": "100", "justification": ""},
        headers={"Accept-Language": "de"},
    )
    answer = api(user=requester).client.post(
        "/api/me/requests/",
        body,
        content_type="application/json",
        headers={"Accept-Language": "de"},
    )
    assert api_messages(answer) == page_messages(page)
    assert answer.json()["title"] != "Your input was not accepted."
