"""The approver's and the DPO's admin: queue, buttons, bulk actions, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import (
    AccessRequest,
    AccessRole,
    Approval,
    Grant,
    GrantStatus,
    RequestStatus,
)
from apps.audit.models import AuditEvent
from tests.access.factories import AccessRequestFactory, AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "admin:access_accessrequest_queue"
REQUESTS = "admin:access_accessrequest_changelist"
GRANTS = "admin:access_grant_changelist"


def decide_url(request, decision):
    return reverse("admin:access_accessrequest_decide", args=[request.pk, decision])


def msgs(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def submit(user, role, **kwargs):
    now = timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        justification="Customer case 17",
        **kwargs,
    )


@pytest.fixture
def other_role(approvers_group):
    """A role only its asset's owner (nobody here) may approve."""
    return AccessRoleFactory(
        name="Owner only", assets=[DataAssetFactory(name="Payroll")], approve_by_steward_group=False
    )


# --- smoke: every page of every ModelAdmin ---------------------------------------------------


def test_every_access_admin_page_renders_for_the_dpo(client, dpo, role, staff_user, approver):
    request = submit(staff_user, role)
    services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get()
    client.force_login(dpo)
    urls = [
        reverse("admin:index"),
        reverse("admin:app_list", args=["access"]),
        reverse("admin:access_accessrole_changelist"),
        reverse("admin:access_accessrole_add"),
        reverse("admin:access_accessrole_change", args=[role.pk]),
        reverse(REQUESTS),
        reverse(REQUESTS) + "?mine=yes",
        reverse("admin:access_accessrequest_change", args=[request.pk]),
        reverse(QUEUE),
        reverse(GRANTS),
        reverse(GRANTS) + "?live=yes",
        reverse("admin:access_grant_change", args=[grant.pk]),
        reverse("admin:access_grant_holders"),
        reverse("admin:access_grant_break_glass"),
        reverse("admin:access_grant_revoke", args=[grant.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_grants_and_requests_cannot_be_added_or_edited_by_hand(client, dpo, role, staff_user):
    request = submit(staff_user, role)
    client.force_login(dpo)
    assert client.get(reverse("admin:access_accessrequest_add")).status_code == 403
    assert client.get(reverse("admin:access_grant_add")).status_code == 403
    # The change page is a read-only view: a POST changes nothing
    url = reverse("admin:access_accessrequest_change", args=[request.pk])
    response = client.post(url, {"status": "approved"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


# --- the queue -------------------------------------------------------------------------------


def test_queue_shows_only_requests_the_approver_may_decide(
    client, role, other_role, staff_user, approver, approver2
):
    mine = submit(approver, role)  # their own
    decidable = submit(staff_user, role)
    not_theirs = submit(staff_user, other_role)  # owner-only role
    already = submit(approver2, role)
    services.access_request_approve(request_id=already.pk, approver=approver)  # decided
    client.force_login(approver)
    response = client.get(reverse(QUEUE))
    assert response.status_code == 200
    shown = [row["obj"].pk for row in response.context["rows"]]
    assert shown == [decidable.pk]
    html = response.content.decode()
    assert "Customer case 17" in html and "Support read" in html
    assert decide_url(decidable, "approve") in html and decide_url(decidable, "deny") in html
    assert decide_url(mine, "approve") not in html
    assert decide_url(not_theirs, "approve") not in html
    # The admin index says how many wait
    index = client.get(reverse("admin:index")).content.decode()
    assert "access-queue-box" in index and "<strong>1</strong> request waits" in index


def test_queue_refused_to_people_who_decide_nothing(client, auditor, staff_user, groups):
    client.force_login(auditor)
    assert client.get(reverse(QUEUE)).status_code == 403
    assert "access-queue-box" not in client.get(reverse("admin:index")).content.decode()


def _queue_queries(client, user) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(QUEUE))
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["rows"])


def test_queue_query_count_does_not_grow_with_rows(
    client, role, special_asset, approver, approvers_group
):
    # Given 10 decidable requests of both kinds (roles and single assets, some special)
    special_role = AccessRoleFactory(
        name="Special", assets=[special_asset], approver_groups=[approvers_group]
    )

    def add(n):
        for i in range(n):
            AccessRequestFactory(role=role if i % 3 else special_role, dpo_required=i % 3 == 0)
            AccessRequestFactory(role=None, asset=role.assets.first())

    add(5)
    client.force_login(approver)
    client.get(reverse(QUEUE))  # warm caches (content types, sessions)
    few, rows_few = _queue_queries(client, approver)
    # When there are 60
    add(25)
    many, rows_many = _queue_queries(client, approver)
    # Then the page costs the same number of queries
    assert (rows_few, rows_many) == (10, 50)  # 50 per page
    assert many == few
    # And the request changelist too
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse(REQUESTS))
    assert len(ctx.captured_queries) <= few + 6


# --- deciding from the queue / the change page -------------------------------------------------


def test_approve_from_the_queue_in_two_clicks(client, role, staff_user, approver):
    request = submit(staff_user, role)
    client.force_login(approver)
    # click 1: the Approve button of the row opens the confirm form
    response = client.get(decide_url(request, "approve") + "?next=" + reverse(QUEUE))
    assert response.status_code == 200 and "decide-form" in response.content.decode()
    # click 2: confirm
    response = client.post(
        decide_url(request, "approve"), {"comment": "fine", "next": reverse(QUEUE)}
    )
    assert response.status_code == 302 and response.url == reverse(QUEUE)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Grant.objects.filter(request=request).exists()
    assert Approval.objects.get(request=request).comment == "fine"
    assert any("approved" in m for m in msgs(response))


def test_approver_may_shorten_from_the_form_but_not_lengthen(client, role, staff_user, approver):
    request = submit(staff_user, role)
    client.force_login(approver)
    later = timezone.localtime(request.ends_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(decide_url(request, "approve"), {"ends_at": later})
    assert response.status_code == 200
    assert "shorten the window, not lengthen" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    sooner = timezone.localtime(request.starts_at + timedelta(hours=1)).replace(
        second=0, microsecond=0
    )
    client.post(decide_url(request, "approve"), {"ends_at": sooner.strftime("%Y-%m-%dT%H:%M")})
    assert Grant.objects.get(request=request).ends_at == sooner


def test_deny_needs_a_reason(client, role, staff_user, approver):
    request = submit(staff_user, role)
    client.force_login(approver)
    response = client.post(decide_url(request, "deny"), {"reason": ""})
    assert response.status_code == 200 and "Give a reason" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    client.post(decide_url(request, "deny"), {"reason": "Use the reporting role"})
    request.refresh_from_db()
    assert request.status == RequestStatus.DENIED
    assert request.decision_comment == "Use the reporting role"
    # and the trail says the decision was taken in the admin
    denied = AuditEvent.objects.for_target(request).get(action="access.request.denied")
    assert denied.data["channel"] == "admin"


def test_change_page_buttons_only_for_those_who_may_decide(
    client, role, other_role, staff_user, approver
):
    decidable = submit(staff_user, role)
    not_theirs = submit(staff_user, other_role)
    client.force_login(approver)
    page = client.get(reverse("admin:access_accessrequest_change", args=[decidable.pk]))
    assert 'id="approve-button"' in page.content.decode()
    page = client.get(reverse("admin:access_accessrequest_change", args=[not_theirs.pk]))
    assert 'id="approve-button"' not in page.content.decode()


def test_ineligible_approver_gets_a_clear_refusal_and_nothing_changes(
    client, other_role, staff_user, approver
):
    request = submit(staff_user, other_role)
    client.force_login(approver)
    page = client.get(decide_url(request, "approve"))
    assert "You are not an approver for Owner only" in page.content.decode()
    response = client.post(decide_url(request, "approve"), {"comment": "sneaky"})
    assert response.status_code == 302
    assert any("not an approver" in m for m in msgs(response))
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and not Approval.objects.exists()


def test_self_approval_refused_in_the_admin(client, role, approver):
    request = submit(approver, role)
    client.force_login(approver)
    response = client.post(decide_url(request, "approve"), {})
    assert any("own request" in m for m in msgs(response))
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


# --- bulk actions and their permissions -----------------------------------------------------


def _action(client, url, action, objs, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objs], **extra}
    return client.post(url, data)


def test_bulk_approve_and_deny(client, role, other_role, staff_user, staff2, approver):
    first, second = submit(staff_user, role), submit(staff2, role)
    refused = submit(staff_user, other_role)
    client.force_login(approver)
    url = reverse(REQUESTS)
    # The action first shows a confirm page with a comment field
    page = _action(client, url, "approve_selected", [first, second, refused])
    assert page.status_code == 200 and "Approve 3" in page.content.decode()
    response = _action(
        client, url, "approve_selected", [first, second, refused], apply="1", comment="batch"
    )
    assert response.status_code == 302
    text = " ".join(msgs(response))
    assert f"Approved 2: #{first.pk}, #{second.pk}" in text
    assert f"#{refused.pk}: You are not an approver" in text
    assert Grant.objects.count() == 2
    refused.refresh_from_db()
    assert refused.status == RequestStatus.PENDING

    # Bulk deny needs a reason
    third = submit(
        staff2,
        AccessRoleFactory(
            name="Other", assets=role.assets.all(), approver_groups=role.approver_groups.all()
        ),
    )
    page = _action(client, url, "deny_selected", [third], apply="1", reason="")
    assert page.status_code == 200 and "Give a reason" in page.content.decode()
    third.refresh_from_db()
    assert third.status == RequestStatus.PENDING
    _action(client, url, "deny_selected", [third], apply="1", reason="Not needed")
    third.refresh_from_db()
    assert third.status == RequestStatus.DENIED


def _offered_actions(client, url) -> set[str]:
    response = client.get(url)
    form = response.context.get("action_form")
    return {value for value, _ in form.fields["action"].choices} if form else set()


def test_permission_per_request_action(client, role, staff_user, approver, auditor, dpo):
    request = submit(staff_user, role)
    url = reverse(REQUESTS)
    for user, expected in ((approver, True), (dpo, True), (auditor, False)):
        client.force_login(user)
        offered = _offered_actions(client, url)
        assert ({"approve_selected", "deny_selected"} <= offered) is expected, user
    # An auditor posting the action anyway changes nothing
    client.force_login(auditor)
    _action(client, url, "approve_selected", [request], apply="1")
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert client.post(decide_url(request, "approve"), {}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    # Staff have no admin at all
    client.force_login(staff_user)
    assert client.get(url).status_code == 302


def test_permission_per_grant_action(client, asset, staff_user, approver, auditor, dpo):
    grant = GrantFactory(user=staff_user, assets=[asset])
    url = reverse(GRANTS)
    expectations = {
        approver: {"revoke_selected"},
        dpo: {"revoke_selected", "mark_reviewed"},
        auditor: set(),
    }
    for user, expected in expectations.items():
        client.force_login(user)
        assert _offered_actions(client, url) & {"revoke_selected", "mark_reviewed"} == expected
    # Revoke views and break-glass per permission
    client.force_login(auditor)
    assert client.get(reverse("admin:access_grant_revoke", args=[grant.pk])).status_code == 403
    assert client.get(reverse("admin:access_grant_break_glass")).status_code == 403
    client.force_login(approver)
    assert client.get(reverse("admin:access_grant_break_glass")).status_code == 403
    assert client.get(reverse("admin:access_grant_review", args=[grant.pk])).status_code == 403
    # Approvers may view but not edit roles; the DPO may
    assert client.get(reverse("admin:access_accessrole_add")).status_code == 403
    client.force_login(dpo)
    assert client.get(reverse("admin:access_accessrole_add")).status_code == 200


def test_revoke_from_the_change_page_and_in_bulk(client, asset, staff_user, staff2, approver):
    first = GrantFactory(user=staff_user, assets=[asset])
    second = GrantFactory(user=staff2, assets=[asset])
    client.force_login(approver)
    page = client.get(reverse("admin:access_grant_change", args=[first.pk]))
    assert 'id="revoke-button"' in page.content.decode()
    revoke = reverse("admin:access_grant_revoke", args=[first.pk])
    response = client.post(revoke, {"reason": ""})
    assert response.status_code == 200
    first.refresh_from_db()
    assert first.revoked_at is None
    client.post(revoke, {"reason": "Project closed"})
    first.refresh_from_db()
    assert first.status == GrantStatus.REVOKED and first.revoke_reason == "Project closed"
    # Bulk: already revoked is reported, the other is revoked
    response = _action(
        client, reverse(GRANTS), "revoke_selected", [first, second], apply="1", reason="Audit"
    )
    text = " ".join(msgs(response))
    assert (
        f"Revoked 1: #{second.pk}" in text
        and f"#{first.pk}: Grant #{first.pk} has already ended" in text
    )


# --- break-glass and review ------------------------------------------------------------------------


def test_break_glass_view(
    client, asset, dpo, groups, mailoutbox, settings, django_capture_on_commit_callbacks
):
    client.force_login(dpo)
    url = reverse("admin:access_grant_break_glass")
    too_long = int(settings.JITPORTAL["BREAK_GLASS_MAX"].total_seconds() // 60) + 1
    response = client.post(url, {"asset": asset.pk, "minutes": too_long, "reason": "x"})
    assert response.status_code == 200 and "lasts at most" in response.content.decode()
    response = client.post(url, {"asset": asset.pk, "minutes": 30, "reason": ""})
    assert response.status_code == 200 and not Grant.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"asset": asset.pk, "minutes": 30, "reason": "Outage #99"})
    grant = Grant.objects.get()
    assert response.status_code == 302
    assert grant.is_break_glass and grant.needs_review and grant.user == dpo
    assert grant.ends_at - grant.starts_at == timedelta(minutes=30)
    assert [m.to for m in mailoutbox] == [[dpo.email]]
    assert AuditEvent.objects.filter(action="access.breakglass.used").count() == 1
    # The holder may not review their own; another DPO may, from the action
    other = UserFactory(username="dpo2", groups=["DPO"], is_staff=True)
    response = _action(client, reverse(GRANTS), "mark_reviewed", [grant])
    assert "Someone else" in " ".join(msgs(response))
    client.force_login(other)
    page = client.get(reverse("admin:access_grant_change", args=[grant.pk]))
    assert 'id="review-button"' in page.content.decode()
    _action(client, reverse(GRANTS), "mark_reviewed", [grant])
    grant.refresh_from_db()
    assert not grant.needs_review and grant.reviewed_by == other


# --- who holds access now ----------------------------------------------------------------------------


def test_holders_view_per_asset_and_per_user(client, asset, staff_user, staff2, auditor):
    other = DataAssetFactory(name="Other asset")
    GrantFactory(user=staff_user, assets=[asset])
    GrantFactory(user=staff2, assets=[other])
    past = timezone.now() - timedelta(days=1)
    GrantFactory(
        user=staff2,
        assets=[asset],
        starts_at=past,
        ends_at=past + timedelta(hours=1),
        status=GrantStatus.ACTIVE,
    )  # ended, not tidied by beat: not shown
    client.force_login(auditor)
    url = reverse("admin:access_grant_holders")
    everyone = client.get(url)
    assert {r["grant"].user for r in everyone.context["rows"]} == {staff_user, staff2}
    by_asset = client.get(url, {"asset": asset.pk})
    assert [r["grant"].user for r in by_asset.context["rows"]] == [staff_user]
    by_user = client.get(url, {"user": staff2.pk})
    assert [r["grant"].assets.get() for r in by_user.context["rows"]] == [other]


# --- policies in the admin ---------------------------------------------------------------------------


def _role_form(asset, **overrides):
    data = {
        "name": "Reporting",
        "description": "",
        "is_active": "on",
        "assets": [asset.pk],
        "can_view": "on",
        "default_duration": "04:00:00",
        "max_duration": "08:00:00",
        "max_total_duration": "1 00:00:00",
        "allow_future_start": "on",
        "max_start_ahead": "14 00:00:00",
        "pending_timeout": "2 00:00:00",
        "remind_approvers_after": "08:00:00",
        "approvals_required": "1",
        "approve_by_asset_owner": "on",
        "require_justification": "on",
        "ticket_pattern": "",
    }
    data.update(overrides)
    return data


def test_role_create_and_change_are_audited(client, dpo, asset):
    client.force_login(dpo)
    response = client.post(reverse("admin:access_accessrole_add"), _role_form(asset))
    assert response.status_code == 302, response.context["adminform"].form.errors
    role = AccessRole.objects.get(name="Reporting")
    event = AuditEvent.objects.get(action="access.role.changed")
    assert event.actor == dpo and event.data["created"] is True
    assert event.data["asset_ids"] == [asset.pk]
    response = client.post(
        reverse("admin:access_accessrole_change", args=[role.pk]),
        _role_form(asset, approvals_required="2"),
    )
    assert response.status_code == 302
    latest = AuditEvent.objects.filter(action="access.role.changed").order_by("-id").first()
    assert latest.data["approvals_required"] == 2 and latest.data["created"] is False


def test_role_with_a_bad_ticket_pattern_is_refused_with_a_message(client, dpo, asset):
    client.force_login(dpo)
    response = client.post(
        reverse("admin:access_accessrole_add"),
        _role_form(asset, require_ticket="on", ticket_pattern="INC-(\\d+"),
    )
    assert response.status_code == 200
    assert "is not a valid regular expression" in response.content.decode()
    assert not AccessRole.objects.filter(name="Reporting").exists()
    assert not AuditEvent.objects.filter(action="access.role.changed").exists()


@pytest.mark.parametrize(
    "hint",
    [
        "an incident number, e.g. INC-12a",
        "e.g. INC-1 or CASE-2",
        "for example “JIRA-7”",
    ],
)
def test_a_ticket_hint_whose_example_misses_the_pattern_is_refused(client, dpo, asset, hint):
    client.force_login(dpo)
    # when the DPO gives a role a ticket hint whose example the pattern would refuse
    response = client.post(
        reverse("admin:access_accessrole_add"),
        _role_form(asset, require_ticket="on", ticket_pattern=r"INC-\d+", ticket_hint=hint),
    )
    # then the role is not saved, and the message names the example
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "does not match the ticket pattern" in errors["ticket_hint"][0]
    assert "staff who follow it would be refused" in errors["ticket_hint"][0]
    assert not AccessRole.objects.filter(name="Reporting").exists()
    assert not AuditEvent.objects.filter(action="access.role.changed").exists()


@pytest.mark.parametrize(
    "hint",
    [
        "an incident or case number, e.g. INC-1234",
        "e.g. INC-1, INC-22 and INC-333.",
        "the incident number in the service desk's subject line",
    ],
)
def test_a_ticket_hint_that_fits_the_pattern_is_saved_and_audited(client, dpo, asset, hint):
    client.force_login(dpo)
    response = client.post(
        reverse("admin:access_accessrole_add"),
        _role_form(asset, require_ticket="on", ticket_pattern=r"INC-\d+", ticket_hint=hint),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    role = AccessRole.objects.get(name="Reporting")
    assert role.ticket_hint == hint
    assert AuditEvent.objects.get(action="access.role.changed").data["ticket_hint"] == hint


def test_the_role_form_offers_the_ticket_hint_beside_the_pattern(client, dpo):
    client.force_login(dpo)
    html = client.get(reverse("admin:access_accessrole_add")).content.decode()
    assert 'name="ticket_pattern"' in html and 'name="ticket_hint"' in html


def test_request_changelist_columns(
    client, role, special_asset, staff_user, approver, dpo, approvers_group
):
    special_role = AccessRoleFactory(
        name="Special read", assets=[special_asset], approver_groups=[approvers_group]
    )
    request = submit(staff_user, special_role)
    client.force_login(dpo)
    response = client.get(reverse(QUEUE))
    row = response.context["rows"][0]
    assert row["obj"] == request
    assert row["special"] is True
    assert row["sensitivity"] == "Restricted"
    assert row["still_needed"] == "2 more, including the DPO's"
    assert AccessRequest.objects.count() == 1
