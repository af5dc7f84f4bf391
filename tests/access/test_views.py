"""The staff side of the portal: my access, the request form, cancel, give back, extend."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, AccessRole, Grant, RequestStatus
from apps.inventory.gdpr import CategoryKind
from tests.factories import (
    DataAssetFactory,
    DataCategoryFactory,
    ProcessingActivityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%dT%H:%M"


def make_role(*, name, assets, approver_groups=(), requestable_by_groups=(), **policy):
    defaults = {
        "default_duration": timedelta(hours=4),
        "max_duration": timedelta(hours=8),
        "approvals_required": 1,
        "require_justification": True,
        "require_ticket": False,
    }
    role = AccessRole(name=name, **{**defaults, **policy})
    role.full_clean()
    role.save()
    role.assets.set(assets)
    role.approver_groups.set(approver_groups)
    role.requestable_by_groups.set(requestable_by_groups)
    return role


@pytest.fixture
def approvers(groups):
    return Group.objects.get(name="Approvers")


@pytest.fixture
def orders():
    return DataAssetFactory(name="Orders")


@pytest.fixture
def activity(orders):
    activity = ProcessingActivityFactory(name="Handling order complaints")
    activity.assets.add(orders)
    return activity


@pytest.fixture
def role(orders, approvers):
    # Needs one approver, a justification and an INC- ticket; at most 8 hours.
    return make_role(
        name="Order support",
        assets=[orders],
        approver_groups=[approvers],
        require_ticket=True,
        ticket_pattern=r"INC-\d+",
    )


@pytest.fixture
def auto_role(approvers):
    # Approved by the policy itself: no approver involved.
    return make_role(
        name="Catalogue lookup",
        assets=[DataAssetFactory(name="Catalogue")],
        approver_groups=[approvers],
        approvals_required=0,
        max_duration=timedelta(hours=8),
    )


@pytest.fixture
def now_only_role(approvers):
    return make_role(
        name="Payments on call",
        assets=[DataAssetFactory(name="Payments")],
        approver_groups=[approvers],
        allow_future_start=False,
    )


@pytest.fixture
def dpo_only_role(approvers):
    # Asked for only by members of the DPO group: staff must not see or use it.
    return make_role(
        name="HR investigations",
        assets=[DataAssetFactory(name="HR files")],
        approver_groups=[approvers],
        requestable_by_groups=[Group.objects.get(name="DPO")],
    )


@pytest.fixture
def special_asset(approvers):
    health = DataCategoryFactory(name="Health", slug="health", kind=CategoryKind.SPECIAL)
    asset = DataAssetFactory(name="Patients", categories=[health])
    make_role(name="Patient care", assets=[asset], approver_groups=[approvers])
    return asset


@pytest.fixture
def client_staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def other_user(groups):
    return UserFactory(username="other", groups=["Staff"])


def valid_post(role, activity, **overrides):
    data = {
        "target": f"role-{role.pk}",
        "start": "now",
        "duration": "2",
        "processing_activity": str(activity.pk),
        "justification": "Customer complaint about a missing order",
        "ticket": "INC-42",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit(user, role, *, starts_in=timedelta(0), hours=2, ticket="INC-1", **kwargs):
    start = timezone.now() + starts_in
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        justification="Work on a ticket",
        ticket=ticket,
        **kwargs,
    )


def approved_grant(user, role, approver=None, **kwargs) -> Grant:
    request = submit(user, role, **kwargs)
    if request.status == RequestStatus.PENDING:
        services.access_request_approve(request_id=request.pk, approver=approver)
    return Grant.objects.get(request=request)


# --- anonymous ---------------------------------------------------------------------------------

URL_NAMES_WITH_PK = [
    "access-request-detail",
    "access-request-cancel",
    "access-grant-detail",
    "access-grant-relinquish",
    "access-grant-extend",
]


@pytest.mark.parametrize(
    "url",
    [
        reverse("portal-home"),
        reverse("access-request-create"),
        reverse("access-request-policy"),
        *[reverse(name, args=[1]) for name in URL_NAMES_WITH_PK],
    ],
)
def test_anonymous_is_sent_to_login(client, url):
    # when someone not signed in opens a portal page
    response = client.get(url)
    # then they are sent to the login page, and come back after
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_anonymous_post_changes_nothing(client, staff_user, role, approver):
    # given a pending request
    request = submit(staff_user, role)
    # when an anonymous client posts the cancel form
    response = client.post(reverse("access-request-cancel", args=[request.pk]))
    # then it is redirected to the login and the request stays pending
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


# --- home page -------------------------------------------------------------------------------


def test_home_empty_states(client_staff):
    # given a staff member who never asked for anything
    response = client_staff.get(reverse("portal-home"))
    # then every section says it is empty and invites a request
    assert response.status_code == 200
    html = response.content.decode()
    assert "You hold no access to personal data" in html
    assert "No access is open right now." in html
    assert "Nothing is waiting for a decision." in html
    assert "No approved access is scheduled for later." in html
    assert "No earlier requests or grants." in html
    assert reverse("access-request-create") in html


def test_home_shows_pending_active_upcoming_and_past(client_staff, staff_user, role, auto_role):
    # given one request of each state
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        cancelled = submit(staff_user, role, ticket="INC-2")
        services.access_request_cancel(request_id=cancelled.pk, actor=staff_user)
        pending = submit(staff_user, role)
        active = approved_grant(staff_user, auto_role, hours=3)
        upcoming = approved_grant(staff_user, auto_role, starts_in=timedelta(days=1))

    # when the staff member opens the home page an hour later
    with time_machine.travel(moment + timedelta(hours=1), tick=False):
        response = client_staff.get(reverse("portal-home"))

    # then each item is in its own section, with the time left of the active grant
    ctx = response.context
    assert [r.pk for r in ctx["pending"]] == [pending.pk]
    assert [g.pk for g, _ in ctx["active"]] == [active.pk]
    assert [g.pk for g in ctx["upcoming"]] == [upcoming.pk]
    assert [r.pk for r in ctx["past_page"].object_list] == [cancelled.pk]
    html = response.content.decode()
    assert "2\xa0hours left" in html
    assert reverse("access-grant-extend", args=[active.pk]) in html
    assert reverse("access-request-cancel", args=[pending.pk]) in html
    assert "You hold no access to personal data" not in html


def test_home_moves_an_expired_grant_to_history(client_staff, staff_user, auto_role):
    # given a grant of two hours
    grant = approved_grant(staff_user, auto_role, hours=2)
    # when its window has passed
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        response = client_staff.get(reverse("portal-home"))
    # then it is no longer active but in the history, with its end
    assert response.context["active"] == []
    assert [r.pk for r in response.context["past_page"].object_list] == [grant.request_id]
    assert "ended" in response.content.decode()


def test_home_warns_when_a_grant_ends_soon(client_staff, staff_user, auto_role):
    # given a grant with 20 minutes left
    approved_grant(staff_user, auto_role, hours=1)
    with time_machine.travel(timezone.now() + timedelta(minutes=40)):
        response = client_staff.get(reverse("portal-home"))
    # then it is flagged as ending soon
    (_, ending_soon) = response.context["active"][0]
    assert ending_soon is True


def test_home_history_is_paginated(client_staff, staff_user, role):
    # given 25 past (cancelled) requests
    for n in range(25):
        request = submit(staff_user, role, ticket=f"INC-{n}")
        services.access_request_cancel(request_id=request.pk, actor=staff_user)
    # when the history is paged
    first = client_staff.get(reverse("portal-home"))
    second = client_staff.get(reverse("portal-home"), {"page": 2})
    beyond = client_staff.get(reverse("portal-home"), {"page": "999"})
    junk = client_staff.get(reverse("portal-home"), {"page": "x'; drop"})
    # then 20 are on the first page and 5 on the second; odd page numbers do not fail
    assert len(first.context["past_page"].object_list) == 20
    assert len(second.context["past_page"].object_list) == 5
    assert "Page 1 of 2" in first.content.decode()
    assert beyond.status_code == 200 and beyond.context["past_page"].number == 2
    assert junk.status_code == 200 and junk.context["past_page"].number == 1


def test_home_lists_only_own_items(client_staff, other_user, role, auto_role):
    # given another person's pending request and active grant
    theirs = submit(other_user, role)
    their_grant = approved_grant(other_user, auto_role)
    # then the staff member sees none of it
    response = client_staff.get(reverse("portal-home"))
    assert response.context["pending"] == []
    assert response.context["active"] == []
    html = response.content.decode()
    assert reverse("access-request-detail", args=[theirs.pk]) not in html
    assert reverse("access-grant-detail", args=[their_grant.pk]) not in html


# --- the request form: showing ----------------------------------------------------------------


def test_form_offers_only_what_the_user_may_ask_for(
    client_staff, role, auto_role, dpo_only_role, orders
):
    response = client_staff.get(reverse("access-request-create"))
    assert response.status_code == 200
    html = response.content.decode()
    # then the open roles and their assets are offered, the DPO-only role is not
    assert f'value="role-{role.pk}"' in html
    assert f'value="role-{auto_role.pk}"' in html
    assert f'value="asset-{orders.pk}"' in html
    assert f'value="role-{dpo_only_role.pk}"' not in html
    assert "HR files" not in html


def test_form_prefilled_from_query_shows_the_policy(client_staff, role):
    # when the form is opened for one role
    response = client_staff.get(reverse("access-request-create"), {"role": role.pk})
    # then it is chosen, its usual duration filled in and its policy shown
    html = response.content.decode()
    assert response.context["form"].initial["target"] == f"role-{role.pk}"
    assert response.context["form"].initial["duration"] == 4
    assert "Policy for Order support" in html
    assert "8 hours" in html  # the maximum
    assert "1 approver" in html
    # the ticket rule in words; the regular expression is the DPO's, not shown to staff
    assert "INC-\\d+" not in html
    assert "the DPO can tell you which" in html


def test_form_prefilled_with_a_special_asset_says_the_dpo_decides(client_staff, special_asset):
    response = client_staff.get(reverse("access-request-create"), {"asset": special_asset.pk})
    html = response.content.decode()
    assert response.context["form"].initial["target"] == f"asset-{special_asset.pk}"
    assert "Art. 9/10 data" in html
    assert "DPO approval" in html and ">required<" in html


@pytest.mark.parametrize(
    "query",
    [
        {"asset": "abc"},
        {"asset": "99999999999999999999999"},
        {"role": "-1"},
        {"target": "role-"},
        {"target": "asset-1e9"},
        {"target": "role-²"},
    ],
)
def test_form_with_odd_query_does_not_fail(client_staff, role, query):
    response = client_staff.get(reverse("access-request-create"), query)
    assert response.status_code == 200
    assert "not one you may ask for" in response.content.decode()


def test_form_for_a_role_not_offered_to_the_user(client_staff, role, dpo_only_role):
    response = client_staff.get(reverse("access-request-create"), {"role": dpo_only_role.pk})
    html = response.content.decode()
    assert "not one you may ask for" in html
    assert "Policy for" not in html


def test_policy_fragment(client_staff, role, dpo_only_role):
    # the form's script fetches the panel of the chosen target
    ok = client_staff.get(reverse("access-request-policy"), {"target": f"role-{role.pk}"})
    refused = client_staff.get(
        reverse("access-request-policy"), {"target": f"role-{dpo_only_role.pk}"}
    )
    assert ok.status_code == 200 and "Policy for Order support" in ok.content.decode()
    assert refused.status_code == 200 and "not one you may ask for" in refused.content.decode()


def test_form_when_nothing_is_requestable(client_staff, dpo_only_role):
    response = client_staff.get(reverse("access-request-create"))
    assert "There is no role or data asset you may ask for" in response.content.decode()


# --- the request form: sending -----------------------------------------------------------------


def test_request_happy_path_creates_a_pending_request(client_staff, staff_user, role, activity):
    # when the staff member sends a complete request
    response = client_staff.post(reverse("access-request-create"), valid_post(role, activity))
    # then one pending request is saved with everything they said, and they see it
    request = AccessRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("access-request-detail", args=[request.pk])
    assert request.requester == staff_user
    assert request.role == role and request.asset is None
    assert request.status == RequestStatus.PENDING
    assert request.processing_activity == activity
    assert request.ticket == "INC-42"
    # "now" is the moment of the post; the service starts it at its own now, a moment later
    assert abs(request.ends_at - request.starts_at - timedelta(hours=2)) < timedelta(seconds=5)
    assert not Grant.objects.exists()
    page = client_staff.get(response["Location"])
    assert "is sent for approval" in page.content.decode()
    assert "Pending" in page.content.decode()


def test_request_for_one_asset(client_staff, role, orders, activity):
    data = valid_post(role, activity, target=f"asset-{orders.pk}")
    response = client_staff.post(reverse("access-request-create"), data)
    assert response.status_code == 302
    request = AccessRequest.objects.get()
    assert request.asset == orders and request.role is None


def test_request_with_a_later_start(client_staff, role, activity):
    start = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    data = valid_post(role, activity, start="later", starts_at=start.strftime(FMT))
    response = client_staff.post(reverse("access-request-create"), data)
    assert response.status_code == 302
    request = AccessRequest.objects.get()
    assert request.starts_at == start
    assert request.ends_at == start + timedelta(hours=2)


def test_request_with_an_end_instead_of_a_duration(client_staff, role, activity):
    end = (timezone.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    data = valid_post(role, activity, duration="", ends_at=end.strftime(FMT))
    response = client_staff.post(reverse("access-request-create"), data)
    assert response.status_code == 302
    assert AccessRequest.objects.get().ends_at == end


def test_zero_approval_role_grants_at_once(client_staff, staff_user, auto_role, activity):
    # when the staff member asks for a role that needs no approval
    data = valid_post(auto_role, activity, ticket="")
    response = client_staff.post(reverse("access-request-create"), data)
    # then the request is approved and a live grant exists right away
    request = AccessRequest.objects.get()
    assert response.status_code == 302
    assert request.status == RequestStatus.APPROVED
    grant = Grant.objects.get(request=request)
    assert grant.user == staff_user and grant.is_live()
    page = client_staff.get(response["Location"])
    assert "is granted" in page.content.decode()


def _later(**delta):
    return (timezone.now() + timedelta(**delta)).strftime(FMT)


INVALID_CASES = {
    "duration over the maximum": ({"duration": "9"}, "duration", "At most 8 hours"),
    "end over the maximum": (
        {"duration": "", "ends_at": lambda: _later(hours=10)},
        "ends_at",
        "At most 8 hours",
    ),
    "duration zero": ({"duration": "0"}, "duration", "greater than or equal to 0.25"),
    "duration negative": ({"duration": "-3"}, "duration", "greater than or equal to 0.25"),
    "duration huge": ({"duration": "1e30"}, "duration", "less than or equal to"),
    "duration not a number": ({"duration": "four"}, "duration", "Enter a number"),
    "no duration and no end": ({"duration": ""}, "duration", "Give a duration"),
    "start in the past": (
        {"start": "later", "starts_at": lambda: _later(hours=-2)},
        "starts_at",
        "in the past",
    ),
    "later without a time": ({"start": "later", "starts_at": ""}, "starts_at", "Give the time"),
    "start too far ahead": (
        {"start": "later", "starts_at": lambda: _later(days=30)},
        "starts_at",
        "at most 14 days ahead",
    ),
    "end before start": (
        {"duration": "", "ends_at": lambda: _later(hours=-1)},
        "ends_at",
        "after the start",
    ),
    "date out of range": (
        {"start": "later", "starts_at": "9999-12-31T23:59"},
        "starts_at",
        "between the years",
    ),
    "date not a date": ({"start": "later", "starts_at": "tomorrow"}, "starts_at", "valid date"),
    "missing justification": ({"justification": "   "}, "justification", "Say why"),
    "missing ticket": ({"ticket": ""}, "ticket", "Give the ticket"),
    "ticket not matching the pattern": ({"ticket": "JIRA-7"}, "ticket", "not a ticket reference"),
    "missing purpose": ({"processing_activity": ""}, "processing_activity", "required"),
    "unknown purpose": ({"processing_activity": "987654"}, "processing_activity", "valid choice"),
    "no target": ({"target": ""}, "target", "required"),
    "unknown start choice": ({"start": "yesterday"}, "start", "valid choice"),
}


@pytest.mark.parametrize("case", list(INVALID_CASES))
def test_request_validation_errors_save_nothing(client_staff, role, activity, case):
    overrides, field, message = INVALID_CASES[case]
    overrides = {k: v() if callable(v) else v for k, v in overrides.items()}
    # when a request with that mistake is sent
    response = client_staff.post(
        reverse("access-request-create"), valid_post(role, activity, **overrides)
    )
    # then the form comes back with the message on the field, and nothing is saved
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in e for e in errors[field]), errors[field]
    assert "Nothing was saved" in response.content.decode()
    assert AccessRequest.objects.count() == 0
    assert Grant.objects.count() == 0


def test_future_start_not_allowed_by_the_policy(client_staff, now_only_role, activity):
    data = valid_post(now_only_role, activity, start="later", starts_at=_later(days=1))
    response = client_staff.post(reverse("access-request-create"), data)
    assert response.status_code == 200
    assert "does not allow a later start" in " ".join(response.context["form"].errors["starts_at"])
    assert AccessRequest.objects.count() == 0


@pytest.mark.parametrize(
    "target",
    ["role-{dpo_only}", "asset-{hr_asset}", "role-999999", "asset-999999", "role-abc", "user-1"],
)
def test_tampered_target_is_refused(client_staff, role, dpo_only_role, activity, target):
    # given a role (and its asset) the staff member may not ask for
    hr_asset = dpo_only_role.assets.get()
    value = target.format(dpo_only=dpo_only_role.pk, hr_asset=hr_asset.pk)
    # when they post its id anyway
    response = client_staff.post(
        reverse("access-request-create"), valid_post(role, activity, target=value)
    )
    # then the form refuses it and nothing is saved
    assert response.status_code == 200
    assert "target" in response.context["form"].errors
    assert AccessRequest.objects.count() == 0


def test_duplicate_pending_request_is_refused(client_staff, staff_user, role, activity):
    submit(staff_user, role)
    response = client_staff.post(reverse("access-request-create"), valid_post(role, activity))
    assert response.status_code == 200
    assert "already have a pending request" in " ".join(response.context["form"].non_field_errors())
    assert AccessRequest.objects.count() == 1


def test_post_without_csrf_token_is_refused(staff_user, role, activity):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(reverse("access-request-create"), valid_post(role, activity))
    assert response.status_code == 403
    assert AccessRequest.objects.count() == 0


def test_form_shows_the_policy_of_the_posted_target_on_error(client_staff, role, activity):
    response = client_staff.post(
        reverse("access-request-create"), valid_post(role, activity, duration="9")
    )
    html = response.content.decode()
    assert "Policy for Order support" in html
    assert "Maximum duration" in html


# --- request detail and cancel ----------------------------------------------------------------


def test_request_detail_shows_the_decisions(client_staff, staff_user, role, approver):
    request = submit(staff_user, role)
    services.access_request_approve(request_id=request.pk, approver=approver, comment="Fine")
    response = client_staff.get(reverse("access-request-detail", args=[request.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Approved" in html and "Fine" in html
    grant = Grant.objects.get(request=request)
    assert reverse("access-grant-detail", args=[grant.pk]) in html


def test_cancel_flow(client_staff, staff_user, role):
    request = submit(staff_user, role)
    detail = reverse("access-request-detail", args=[request.pk])
    assert "Nobody has decided yet." in client_staff.get(detail).content.decode()
    url = reverse("access-request-cancel", args=[request.pk])
    # when the staff member opens the confirmation page
    confirm = client_staff.get(url)
    assert confirm.status_code == 200
    assert f"Cancel request #{request.pk}?" in confirm.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING  # GET changes nothing
    # and confirms
    response = client_staff.post(url, follow=True)
    # (the page then says no approver took part, not that nobody has decided yet)
    closed = client_staff.get(detail).content.decode()
    assert "Nobody has decided yet." not in closed and "No approver took part" in closed
    # then the request is cancelled and they are back home with a message
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED
    assert response.redirect_chain[-1][0] == reverse("portal-home")
    assert f"Request #{request.pk} is cancelled." in response.content.decode()


def test_cancel_of_a_decided_request_is_refused_with_a_message(
    client_staff, staff_user, role, approver
):
    request = submit(staff_user, role)
    services.access_request_approve(request_id=request.pk, approver=approver)
    response = client_staff.post(reverse("access-request-cancel", args=[request.pk]), follow=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert "only a pending request can be cancelled" in response.content.decode()


# --- give back ----------------------------------------------------------------------------------


def test_relinquish_flow(client_staff, staff_user, auto_role):
    grant = approved_grant(staff_user, auto_role, hours=4)
    url = reverse("access-grant-relinquish", args=[grant.pk])
    confirm = client_staff.get(url)
    assert confirm.status_code == 200
    assert f"Give back grant #{grant.pk}?" in confirm.content.decode()
    grant.refresh_from_db()
    assert grant.is_live()
    # when the staff member gives it back
    response = client_staff.post(url, follow=True)
    # then the grant no longer gives access and the home page says so
    grant.refresh_from_db()
    assert not grant.is_live()
    assert f"Grant #{grant.pk} is given back" in response.content.decode()
    assert response.context["active"] == []


def test_relinquish_of_an_upcoming_grant_withdraws_it(client_staff, staff_user, auto_role):
    grant = approved_grant(staff_user, auto_role, starts_in=timedelta(days=1))
    client_staff.post(reverse("access-grant-relinquish", args=[grant.pk]))
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == staff_user


def test_relinquish_of_an_ended_grant_is_refused_with_a_message(
    client_staff, staff_user, auto_role
):
    grant = approved_grant(staff_user, auto_role, hours=1)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        response = client_staff.post(
            reverse("access-grant-relinquish", args=[grant.pk]), follow=True
        )
    assert "already ended" in response.content.decode()


# --- extend -----------------------------------------------------------------------------------


def test_extend_flow_creates_a_linked_request(client_staff, staff_user, role, approver):
    grant = approved_grant(staff_user, role, approver=approver, hours=2)
    url = reverse("access-grant-extend", args=[grant.pk])
    page = client_staff.get(url)
    assert page.status_code == 200
    assert "Ask for more time on grant" in page.content.decode()
    # when the holder asks for two more hours
    response = client_staff.post(
        url, {"extend_by": "2", "justification": "Not finished", "ticket": "INC-9"}
    )
    # then a pending extension request linked to the grant exists, and the grant is unchanged
    extension = AccessRequest.objects.get(extends_grant=grant)
    assert response.status_code == 302
    assert response["Location"] == reverse("access-request-detail", args=[extension.pk])
    assert extension.status == RequestStatus.PENDING
    assert extension.ends_at == grant.ends_at + timedelta(hours=2)
    ends_before = grant.ends_at
    grant.refresh_from_db()
    assert grant.ends_at == ends_before


def test_extend_with_a_zero_approval_role_moves_the_end(client_staff, staff_user, auto_role):
    grant = approved_grant(staff_user, auto_role, hours=2)
    new_end = (grant.ends_at + timedelta(hours=1)).replace(second=0, microsecond=0)
    response = client_staff.post(
        reverse("access-grant-extend", args=[grant.pk]),
        {"ends_at": new_end.strftime(FMT), "justification": "More"},
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.ends_at == new_end


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"extend_by": "9"}, "extend_by", "at most 8 hours"),
        ({"extend_by": ""}, "extend_by", "Give a number of hours"),
        ({"extend_by": "-1"}, "extend_by", "greater than or equal"),
        ({"ends_at": "2001-01-01T00:00"}, "ends_at", "after the grant's current end"),
        ({"extend_by": "1", "justification": ""}, "justification", "Say why"),
        ({"extend_by": "1", "ticket": "nope"}, "ticket", "not a ticket reference"),
    ],
)
def test_extend_validation_errors_save_nothing(
    client_staff, staff_user, role, approver, data, field, message
):
    grant = approved_grant(staff_user, role, approver=approver, hours=2)
    before = AccessRequest.objects.count()
    payload = {"justification": "Not finished", "ticket": "INC-9", **data}
    response = client_staff.post(reverse("access-grant-extend", args=[grant.pk]), payload)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and any(message in e for e in errors[field]), errors
    assert AccessRequest.objects.count() == before


# --- someone else's objects: 404 on every URL ----------------------------------------------------


@pytest.fixture
def theirs(other_user, role, auto_role):
    """Another person's pending request and live grant."""
    return {"request": submit(other_user, role), "grant": approved_grant(other_user, auto_role)}


@pytest.mark.parametrize(
    ("name", "kind", "method"),
    [
        ("access-request-detail", "request", "get"),
        ("access-request-cancel", "request", "get"),
        ("access-request-cancel", "request", "post"),
        ("access-grant-detail", "grant", "get"),
        ("access-grant-relinquish", "grant", "get"),
        ("access-grant-relinquish", "grant", "post"),
        ("access-grant-extend", "grant", "get"),
        ("access-grant-extend", "grant", "post"),
    ],
)
def test_other_users_objects_are_404(client_staff, theirs, name, kind, method):
    obj = theirs[kind]
    requests_before = AccessRequest.objects.count()
    # when the staff member tries another person's id
    url = reverse(name, args=[obj.pk])
    data = {"extend_by": "1", "justification": "x", "ticket": "INC-1"}
    response = getattr(client_staff, method)(url, data if method == "post" else None)
    # then the page does not exist for them, and nothing changed
    assert response.status_code == 404
    assert AccessRequest.objects.count() == requests_before
    theirs["request"].refresh_from_db()
    theirs["grant"].refresh_from_db()
    assert theirs["request"].status == RequestStatus.PENDING
    assert theirs["grant"].is_live()


@pytest.mark.parametrize("name", URL_NAMES_WITH_PK)
def test_unknown_ids_are_404(client_staff, name):
    assert client_staff.get(reverse(name, args=[987654321])).status_code == 404


def test_own_grant_detail(client_staff, staff_user, auto_role):
    grant = approved_grant(staff_user, auto_role)
    response = client_staff.get(reverse("access-grant-detail", args=[grant.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Catalogue" in html and "active" in html
    assert reverse("access-grant-relinquish", args=[grant.pk]) in html


def test_all_mistakes_are_named_in_one_round(client_staff, role, activity):
    # given a request with a missing purpose, too long a window, no justification and no ticket
    data = valid_post(
        role, activity, processing_activity="", duration="9", justification="", ticket=""
    )
    response = client_staff.post(reverse("access-request-create"), data)
    # then every mistake is named at once, the maximum included, and nothing is saved
    errors = response.context["form"].errors
    assert set(errors) >= {"processing_activity", "duration", "justification", "ticket"}
    assert "At most 8 hours can be asked for at once." in errors["duration"]
    assert AccessRequest.objects.count() == 0
    # and the fields the policy requires are marked
    assert response.context["form"].fields["ticket"].required


def test_extend_page_when_no_role_covers_the_asset_any_more(
    client_staff, staff_user, role, orders, approver
):
    # given a grant on a single asset whose only role was then withdrawn
    start = timezone.now()
    request = services.access_request_submit(
        requester=staff_user,
        asset=orders,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        justification="Work",
        ticket="INC-5",
    )
    services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get(request=request)
    role.is_active = False
    role.save(update_fields=["is_active"])
    url = reverse("access-grant-extend", args=[grant.pk])
    # then the page still opens, and asking is refused with a message, not a 500
    assert client_staff.get(url).status_code == 200
    response = client_staff.post(url, {"extend_by": "1", "justification": "More"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert AccessRequest.objects.count() == 1


def test_an_end_over_the_maximum_is_named_under_or_until_only(client_staff, role, activity):
    # given a request with the usual duration left in place and "Or until" 10 hours away
    data = valid_post(role, activity, duration="4", ends_at=_later(hours=10))
    response = client_staff.post(reverse("access-request-create"), data)
    # then the limit is named under "Or until", the field that was used, and not under duration
    errors = response.context["form"].errors
    assert set(errors) == {"ends_at"}, errors
    assert "At most 8 hours" in errors["ends_at"][0]
    # when "Or until" is corrected and the form is sent again
    data["ends_at"] = _later(hours=3)
    again = client_staff.post(reverse("access-request-create"), data)
    # then nothing is left under any field: the request is sent
    assert again.status_code == 302
    assert AccessRequest.objects.count() == 1


# --- what the chosen policy asks of the form ---------------------------------------------------


def _marked_required(html: str, name: str) -> bool:
    """The field's label carries the red star and its control says aria-required."""
    import re

    label = re.search(rf'<label for="id_{name}">(.*?)</label>', html, re.S)
    control = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', html)
    assert label and control, name
    star = '<span class="req"' in label.group(1)
    aria = 'aria-required="true"' in control.group(0)
    assert star == aria, (name, label.group(0), control.group(0))
    return star


def test_the_chosen_policy_marks_its_required_fields_on_first_render(client_staff, role, auto_role):
    url = reverse("access-request-create")
    # given a role that requires a justification and a ticket
    html = client_staff.get(url, {"role": role.pk}).content.decode()
    # then both are marked required before anything is sent
    assert _marked_required(html, "justification")
    assert _marked_required(html, "ticket")
    # and for a role that requires a justification only, the ticket is not marked
    html = client_staff.get(url, {"role": auto_role.pk}).content.decode()
    assert _marked_required(html, "justification")
    assert not _marked_required(html, "ticket")
    # and with nothing chosen yet, neither is marked
    html = client_staff.get(url).content.decode()
    assert not _marked_required(html, "justification")
    assert not _marked_required(html, "ticket")


def test_required_marks_stay_after_a_failed_submit(client_staff, role, activity):
    data = valid_post(role, activity, processing_activity="")
    html = client_staff.post(reverse("access-request-create"), data).content.decode()
    assert "Nothing was saved" in html
    assert _marked_required(html, "justification")
    assert _marked_required(html, "ticket")


def test_the_extension_form_marks_what_the_grant_policy_requires(
    client_staff, staff_user, role, approver
):
    grant = approved_grant(staff_user, role, approver=approver, hours=2)
    html = client_staff.get(reverse("access-grant-extend", args=[grant.pk])).content.decode()
    assert _marked_required(html, "justification")
    assert _marked_required(html, "ticket")


def test_the_policy_panel_carries_what_the_script_marks(client_staff, role, auto_role):
    url = reverse("access-request-policy")
    panel = client_staff.get(url, {"target": f"role-{role.pk}"}).content.decode()
    assert 'data-require-justification="1"' in panel and 'data-require-ticket="1"' in panel
    panel = client_staff.get(url, {"target": f"role-{auto_role.pk}"}).content.decode()
    assert 'data-require-justification="1"' in panel and 'data-require-ticket="0"' in panel


def test_staff_see_the_ticket_hint_and_never_the_pattern(client_staff, role, activity):
    # given a role whose ticket rule the DPO described for staff
    role.ticket_hint = "an incident number from the service desk, e.g. INC-1234"
    role.full_clean()
    role.save()
    url = reverse("access-request-create")
    # then the form's panel and the ticket's help text say it, and the pattern is not shown
    for html in (
        client_staff.get(url, {"role": role.pk}).content.decode(),
        client_staff.get(
            reverse("access-request-policy"), {"target": f"role-{role.pk}"}
        ).content.decode(),
    ):
        assert "an incident number from the service desk, e.g. INC-1234" in html
        assert "INC-\\d+" not in html
    form = client_staff.get(url, {"role": role.pk}).context["form"]
    assert "e.g. INC-1234" in form.fields["ticket"].help_text
    # when a ticket that does not match is sent, the error repeats the hint, not the pattern
    response = client_staff.post(url, valid_post(role, activity, ticket="JIRA-7"))
    message = response.context["form"].errors["ticket"][0]
    assert "“JIRA-7” is not a ticket reference" in message
    assert "e.g. INC-1234" in message
    assert "INC-\\d+" not in response.content.decode()


def test_without_a_hint_staff_are_told_to_ask_not_shown_the_pattern(client_staff, role, activity):
    response = client_staff.post(
        reverse("access-request-create"), valid_post(role, activity, ticket="JIRA-7")
    )
    assert "the DPO can tell you which" in response.context["form"].errors["ticket"][0]
    assert "INC-\\d+" not in response.content.decode()


def test_an_asset_covered_by_several_roles_shows_each_roles_hint(
    client_staff, orders, role, approvers
):
    # given a second role on the same asset with a ticket rule of its own
    role.ticket_hint = "an incident number, e.g. INC-1234"
    role.save()
    make_role(
        name="Order audits",
        assets=[orders],
        approver_groups=[approvers],
        require_ticket=True,
        ticket_pattern=r"[A-Z]+-\d+",
        ticket_hint="any desk's reference, e.g. AUD-77 or INC-5",
    )
    # when staff choose the asset itself
    html = client_staff.get(reverse("access-request-create"), {"asset": orders.pk}).content.decode()
    # then each role's hint is shown with the role's name, and no pattern
    assert "<strong>Order support</strong>: an incident number, e.g. INC-1234" in html
    assert "<strong>Order audits</strong>: any desk&#x27;s reference, e.g. AUD-77 or INC-5" in html
    assert "INC-\\d+" not in html and "[A-Z]+-\\d+" not in html


def test_a_role_can_require_a_fresh_factor_of_its_requester(
    client_staff, staff_user, role, activity, settings
):
    settings.MFA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    from tests.signin.mfa import make_stale, verify

    url = reverse("access-request-create")
    # Without the flag: no factor asked of staff
    assert client_staff.get(url, {"role": role.pk}).status_code == 200
    role.requester_mfa_required = True
    role.save()
    # No device yet: enrolment first, back to the form for this role
    response = client_staff.get(url, {"role": role.pk})
    assert response.status_code == 302 and response["Location"].startswith(reverse("mfa-enrol"))
    # A stale factor: the request is not sent
    verify(client_staff, staff_user)
    make_stale(client_staff)
    response = client_staff.post(url, valid_post(role, activity))
    assert response.status_code == 302 and response["Location"].startswith(reverse("mfa-verify"))
    assert not AccessRequest.objects.exists()
    # A fresh one: sent
    verify(client_staff, staff_user, steps_ahead=1)
    response = client_staff.post(url, valid_post(role, activity))
    assert response.status_code == 302
    assert AccessRequest.objects.get().requester == staff_user
