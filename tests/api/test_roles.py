"""Every resource of the API for every role: staff, approver, DPO, auditor and anonymous,
signed in (session) and, for the same person, through a token with the matching scope. The
answers are the permissions the pages check."""

from __future__ import annotations

import pytest

from apps.access.models import Approval, Grant, RequestStatus
from tests.factories import SystemFactory, UserFactory

from .conftest import make_token

pytestmark = pytest.mark.django_db

ROLES = ("staff", "approver", "dpo", "auditor", "anonymous")
ALL = {"staff": 200, "approver": 200, "dpo": 200, "auditor": 200, "anonymous": 401}
DECIDERS = {"staff": 403, "approver": 200, "dpo": 200, "auditor": 403, "anonymous": 401}
VIEWERS = {"staff": 403, "approver": 200, "dpo": 200, "auditor": 200, "anonymous": 401}
RECORDS = {"staff": 403, "approver": 403, "dpo": 200, "auditor": 200, "anonymous": 401}

# path (formatted with the rows below), the answers per role, the scope a token needs
READS = [
    ("/api/me/requestable/roles/", ALL, "request"),
    ("/api/me/requestable/assets/", ALL, "request"),
    ("/api/me/requests/", ALL, "request"),
    ("/api/me/grants/", ALL, "request"),
    ("/api/queue/", DECIDERS, "decide"),
    ("/api/grants/", VIEWERS, "read"),
    ("/api/grants/{grant}/", VIEWERS, "read"),
    ("/api/inventory/systems/", VIEWERS, "read"),
    ("/api/inventory/systems/{system}/", VIEWERS, "read"),
    ("/api/inventory/assets/", VIEWERS, "read"),
    ("/api/inventory/assets/{asset}/", VIEWERS, "read"),
    ("/api/inventory/processing-activities/", VIEWERS, "read"),
    ("/api/ropa/", RECORDS, "read"),
    ("/api/registers/asset/?asset={asset}", RECORDS, "read"),
    ("/api/registers/user/?user={holder}", RECORDS, "read"),
    ("/api/audit/events/", RECORDS, "audit"),
]


@pytest.fixture
def people(staff_user, approver, dpo, auditor):
    return {"staff": staff_user, "approver": approver, "dpo": dpo, "auditor": auditor}


@pytest.fixture
def rows(live_grant, asset):
    return {
        "grant": live_grant.pk,
        "asset": asset.pk,
        "system": asset.system_id or SystemFactory().pk,
        "holder": live_grant.user_id,
    }


@pytest.mark.parametrize("path,answers,scope", READS, ids=[p for p, _a, _s in READS])
def test_every_read_for_every_role_by_session(api, people, rows, path, answers, scope):
    url = path.format(**rows)
    for role in ROLES:
        client = api(user=people[role]) if role != "anonymous" else api()
        response = client.get(url)
        assert response.status_code == answers[role], (role, url, response.content[:300])
        if response.status_code != 200:
            assert response["Content-Type"] == "application/problem+json"
        if role == "anonymous":
            assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path,answers,scope", READS, ids=[p for p, _a, _s in READS])
def test_every_read_for_every_role_by_token(api, people, rows, path, answers, scope):
    url = path.format(**rows)
    for role, user in people.items():
        if answers[role] != 200:
            # an owner without the permission cannot even hold a token of that scope, or
            # holds one that does not reach this endpoint
            continue
        scopes = ["request"] + ([scope] if scope != "request" else [])
        response = api(token=make_token(user, *scopes)).get(url)
        assert response.status_code == 200, (role, url, response.content[:300])
        if scope != "request":
            # the same person's request-only token does not reach it
            other = api(token=make_token(user, "request")).get(url)
            assert other.status_code == 403, (role, url)
            assert other.json()["type"] == "urn:jitportal:problem:insufficient-scope"


def test_every_write_for_every_role(api, people, pending, live_grant, groups):
    # staff and auditors may not decide or revoke; approvers and the DPO may
    for role in ("staff", "auditor", "anonymous"):
        client = api(user=people[role]) if role != "anonymous" else api()
        expected = 401 if role == "anonymous" else 403
        assert client.post(f"/api/queue/{pending.pk}/approve/").status_code == expected
        assert client.post(f"/api/queue/{pending.pk}/deny/", {"reason": "x"}).status_code == (
            expected
        )
        assert (
            client.post(f"/api/grants/{live_grant.pk}/revoke/", {"reason": "x"}).status_code
            == expected
        )
        assert client.post("/api/grants/break-glass/").status_code == expected
    assert not Approval.objects.exists() or Approval.objects.filter(request=pending).count() == 0
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert Grant.objects.get(pk=live_grant.pk).is_live()
    # anyone signed in may ask; anonymous may not
    assert api().post("/api/me/requests/", {}).status_code == 401
    for role in ("staff", "approver", "dpo", "auditor"):
        assert api(user=people[role]).post("/api/me/requests/", {}).status_code == 400
    # the approver approves, the DPO revokes
    assert api(user=people["approver"]).post(f"/api/queue/{pending.pk}/approve/").status_code == 200
    response = api(user=people["dpo"]).post(
        f"/api/grants/{live_grant.pk}/revoke/", {"reason": "Audit finding"}
    )
    assert response.status_code == 200


def test_session_writes_need_the_csrf_token(staff_user, role):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/api/me/requests/", "{}", content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_token_of_an_inactive_owner_or_a_basic_password_is_refused(api, groups):
    user = UserFactory(username="leaver", groups=["Staff"])
    raw = make_token(user, "request")
    user.is_active = False
    user.save()
    response = api(token=raw).get("/api/me/requests/")
    assert response.status_code == 401
    assert response.json()["type"] == "urn:jitportal:problem:authentication-required"
    basic = api().client.get("/api/me/requests/", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401
    assert "Bearer" in basic.json()["detail"]


def test_a_session_without_the_second_factor_the_admin_asks_is_refused(api, approver, pending):
    # given MFA_REQUIRED on and an approver signed in without presenting their factor
    from django.test import override_settings

    with override_settings(MFA_REQUIRED=True):
        response = api(user=approver).get("/api/queue/")
        # then the API answers as the admin would: verify first
        assert response.status_code == 403
        problem = response.json()
        assert problem["type"] == "urn:jitportal:problem:second-factor-required"
        assert problem["portal_url"].endswith("/accounts/second-factor/")
        # and a token of the same person, issued in the admin, still works
        token = api(token=make_token(approver, "decide")).get("/api/queue/")
        assert token.status_code == 200
