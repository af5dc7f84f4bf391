"""The requester's side through the API: what I may ask for, ask, cancel, extend, give back;
the same services as the pages, another person's rows are 404, errors are problem details."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.access.models import AccessRequest, Grant, RequestStatus
from tests.factories import UserFactory

from .conftest import make_token

pytestmark = pytest.mark.django_db


def test_staff_lists_what_they_may_ask_for(api, requester, role, asset):
    # given a staff member and a role open to everybody
    client = api(user=requester)
    # when they list the requestable roles and assets
    roles = client.get("/api/me/requestable/roles/").json()
    assets = client.get("/api/me/requestable/assets/").json()
    # then both are paginated and name the role and its asset
    assert roles["count"] == 1 and roles["results"][0]["name"] == "Support read"
    assert roles["results"][0]["assets"][0]["id"] == asset.pk
    assert [a["id"] for a in assets["results"]] == [asset.pk]


def test_staff_asks_through_the_api_and_the_request_waits(api, requester, role):
    # given a staff member with a request token
    client = api(token=make_token(requester, "request"))
    # when they ask for the role for two hours
    response = client.post(
        "/api/me/requests/",
        {"role": role.pk, "duration_hours": 2, "justification": "Complaint #12"},
    )
    # then the request is created by the service, pending, and its address is given
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["target"] == "Support read"
    assert response["Location"] == f"/api/me/requests/{body['id']}/"
    created = AccessRequest.objects.get(pk=body["id"])
    assert created.requester == requester
    assert abs(created.ends_at - created.starts_at - timedelta(hours=2)) < timedelta(seconds=5)
    # and it is listed among my requests
    mine = client.get("/api/me/requests/", {"status": "pending"}).json()
    assert [r["id"] for r in mine["results"]] == [created.pk]


def test_a_second_request_for_the_same_role_is_a_conflict_and_nothing_changes(
    api, requester, pending, role
):
    client = api(user=requester)
    response = client.post(
        "/api/me/requests/", {"role": role.pk, "duration_hours": 1, "justification": "Again"}
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:jitportal:problem:conflict"
    assert f"#{pending.pk}" in problem["detail"]
    assert AccessRequest.objects.count() == 1


def test_bad_input_is_a_problem_with_field_pointers(api, requester, role):
    client = api(user=requester)
    response = client.post("/api/me/requests/", {"role": role.pk, "duration_hours": 100})
    assert response.status_code == 400
    problem = response.json()
    assert problem["status"] == 400 and problem["title"]
    pointers = {e.get("pointer") for e in problem["errors"]}
    assert "#/duration_hours" in pointers and "#/justification" in pointers
    assert AccessRequest.objects.count() == 0


def test_a_body_that_is_not_an_object_or_holds_a_list_is_refused(api, requester, role):
    client = api(user=requester)
    assert client.post("/api/me/requests/", [1, 2]).status_code == 400
    response = client.post("/api/me/requests/", {"role": role.pk, "justification": ["a"]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/justification"
    broken = client.client.post("/api/me/requests/", "{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["type"] == "urn:jitportal:problem:malformed-request"


def test_cancel_my_pending_request_and_not_twice(api, requester, pending):
    client = api(token=make_token(requester, "request"))
    response = client.post(f"/api/me/requests/{pending.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = client.post(f"/api/me/requests/{pending.pk}/cancel/")
    assert again.status_code == 409
    assert "only a pending request can be cancelled" in again.json()["detail"]


def test_another_persons_request_and_grant_are_not_found(api, pending, live_grant, groups):
    stranger = api(user=UserFactory(username="stranger", groups=["Staff"]))
    for path in (
        f"/api/me/requests/{pending.pk}/",
        f"/api/me/grants/{live_grant.pk}/",
        "/api/me/requests/٣/",
        "/api/me/requests/99999999999999999999999/",
    ):
        response = stranger.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json"
    assert stranger.post(f"/api/me/requests/{pending.pk}/cancel/").status_code == 404
    assert stranger.post(f"/api/me/grants/{live_grant.pk}/give-back/").status_code == 404
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING


def test_holder_extends_and_gives_back_a_grant(api, live_grant):
    client = api(token=make_token(live_grant.user, "request"))
    listed = client.get("/api/me/grants/", {"live": "true"}).json()
    assert [g["id"] for g in listed["results"]] == [live_grant.pk]
    # when they ask for one more hour
    response = client.post(
        f"/api/me/grants/{live_grant.pk}/extend/",
        {"extend_by_hours": 1, "justification": "Still on it"},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["extends_grant"] == live_grant.pk
    # and give the grant back
    back = client.post(f"/api/me/grants/{live_grant.pk}/give-back/")
    assert back.status_code == 200
    assert back.json()["live"] is False
    assert not Grant.objects.get(pk=live_grant.pk).is_live()


def test_a_role_that_needs_a_fresh_factor_is_asked_for_on_the_portal(
    api, requester, role, settings
):
    settings.MFA_REQUIRED = True
    role.requester_mfa_required = True
    role.save()
    response = api(user=requester).post(
        "/api/me/requests/", {"role": role.pk, "duration_hours": 1, "justification": "x"}
    )
    assert response.status_code == 403
    problem = response.json()
    assert problem["type"] == "urn:jitportal:problem:fresh-second-factor-required"
    assert problem["portal_url"].endswith(f"/request/?role={role.pk}")
    assert AccessRequest.objects.count() == 0


def test_my_requests_status_filter_says_what_it_takes(api, requester):
    response = api(user=requester).get("/api/me/requests/", {"status": "nope"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/status"


def test_extension_ask_with_both_and_neither(api, live_grant):
    client = api(user=live_grant.user)
    response = client.post(f"/api/me/grants/{live_grant.pk}/extend/", {})
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/extend_by_hours"
    later = (live_grant.ends_at - timedelta(hours=1)).isoformat()
    response = client.post(f"/api/me/grants/{live_grant.pk}/extend/", {"ends_at": later})
    assert response.status_code == 400
    assert any(e.get("pointer") == "#/ends_at" for e in response.json()["errors"])


def test_asking_for_an_asset_directly(api, requester, asset, role):
    response = api(user=requester).post(
        "/api/me/requests/",
        {
            "asset": asset.pk,
            "starts_at": (timezone.now() + timedelta(hours=1)).isoformat(),
            "duration_hours": "1.5",
            "justification": "Audit sample",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["asset"] == asset.pk


def test_role_and_asset_together_are_refused(api, requester, asset, role):
    response = api(user=requester).post(
        "/api/me/requests/", {"role": role.pk, "asset": asset.pk, "duration_hours": 1}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"detail": "Choose a role or a single data asset, not both.", "pointer": "#/role"}
    ]


#: JSON values (as written in a body) that are no id: a boolean, a fraction, numbers
#: beyond every column, below 1, and text.
NOT_IDS = ["true", "false", "1.5", "1e400", "99999999999999999999999", "0", "-1", '"abc"', '" 1"']


@pytest.mark.parametrize("field", ["role", "asset", "processing_activity"])
@pytest.mark.parametrize("raw", NOT_IDS)
def test_an_id_field_that_holds_no_id_is_refused_by_name(api, requester, role, field, raw):
    # given a new request whose id field (every one the body takes) holds something else
    client = api(token=make_token(requester, "request"))
    others = {"role": role.pk, "duration_hours": 1, "justification": "Complaint #12"}
    others.pop(field, None)
    if field == "asset":
        others.pop("role")
    body = json.dumps(others)[:-1] + f', "{field}": {raw}}}'
    # when it is sent
    response = client.client.post(
        "/api/me/requests/", body, content_type="application/json", headers=client.headers
    )
    # then the field is refused with a message naming it, never the form's spelling of the
    # value, and nothing is asked for
    assert response.status_code == 400, response.content
    problem = response.json()
    # (a value of another JSON type is refused by its type first, as in every body field:
    # tests/api/test_wrong_types.py; a whole number or text that is no id, by the id rule)
    detail = {
        "true": "Give a whole number.",
        "false": "Give a whole number.",
        "1.5": "Give a whole number.",
        "1e400": "Give a whole number.",
        "99999999999999999999999": "Give a whole number of at most 19 digits.",
    }.get(raw, f"“{field}” must be a whole number from 1, in ASCII digits.")
    assert problem["errors"] == [{"detail": detail, "pointer": f"#/{field}"}]
    assert f"{field}-" not in response.content.decode()
    assert AccessRequest.objects.count() == 0


def test_more_time_on_a_role_that_needs_a_fresh_factor_is_asked_for_on_the_portal(
    api, live_grant, settings
):
    # given a live grant of a role that asks its requester for a fresh second factor
    settings.MFA_REQUIRED = True
    role = live_grant.request.role
    role.requester_mfa_required = True
    role.save()
    before = AccessRequest.objects.count()
    token = make_token(live_grant.user, "request")
    # when its holder asks for more time through the API (a token never carries a factor)
    response = api(token=token).post(
        f"/api/me/grants/{live_grant.pk}/extend/", {"extend_by_hours": 1, "justification": "x"}
    )
    # then it is sent to the portal's extension page and nothing is asked for
    assert response.status_code == 403, response.json()
    problem = response.json()
    assert problem["type"] == "urn:jitportal:problem:fresh-second-factor-required"
    assert problem["portal_url"].endswith(f"/grants/{live_grant.pk}/extend/")
    assert AccessRequest.objects.count() == before


def test_the_portal_asks_for_the_fresh_factor_before_more_time_on_such_a_role(live_grant, settings):
    from django.test import Client
    from django.urls import reverse

    from tests.signin.mfa import make_stale, verify

    settings.MFA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    role = live_grant.request.role
    role.requester_mfa_required = True
    role.save()
    url = reverse("access-grant-extend", args=[live_grant.pk])
    before = AccessRequest.objects.count()
    client = Client()
    # given a holder whose factor is stale
    verify(client, live_grant.user)
    make_stale(client)
    # when they ask for more time on the portal
    response = client.post(url, {"extend_by": "1", "justification": "x"})
    # then they verify first, back to this page, and nothing is asked for
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa-verify"))
    assert AccessRequest.objects.count() == before
    # and with a fresh factor the page is theirs again
    verify(client, live_grant.user, steps_ahead=1)
    assert client.get(url).status_code == 200
