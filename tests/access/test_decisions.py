"""Decisions are re-checked against the clock and today's facts at the moment they are taken.

The examples each have their own test; ``test_every_decision_path_rechecks_every_fact``
walks every decision path with every stale fact, and ``test_every_service_is_classified``
makes a new service of the access app declare whether it is a decision path.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from guardian.models import UserObjectPermission

from apps.access import services
from apps.access.models import AccessRequest, Approval, Grant, GrantStatus, RequestStatus
from apps.access.notifications import notification_send
from apps.audit.models import AuditEvent
from jitportal.formats import datetime_display
from tests.access.factories import AccessRoleFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) + timedelta(days=1)


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def actions_for(obj) -> list[str]:
    return list(AuditEvent.objects.for_target(obj).order_by("id").values_list("action", flat=True))


@pytest.fixture
def support(groups):
    return Group.objects.create(name="Support")


@pytest.fixture
def requester(support):
    user = UserFactory(username="requester", groups=["Staff"])
    user.groups.add(support)
    return user


@pytest.fixture
def gated_role(asset, approvers_group, support):
    """Requestable only by the Support group; one approval from the Approvers group."""
    return AccessRoleFactory(
        name="Support gated",
        assets=[asset],
        approver_groups=[approvers_group],
        requestable_by_groups=[support],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
        pending_timeout=timedelta(hours=2),
    )


def _submit(user, role, *, start=None, hours=4) -> AccessRequest:
    start = start or timezone.now()
    return services.access_request_submit(
        requester=user,
        role=role,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        justification="Complaint follow-up",
    )


# --- the examples ---------------------------------------------------------------------------


def test_example_approval_after_the_pending_timeout_is_refused_as_lapsed(
    role, staff_user, approver
):
    # Given a request starting in 5 days under a 2-day pending timeout
    role.pending_timeout = timedelta(days=2)
    role.save()
    with time_machine.travel(T0, tick=False):
        request = _submit(staff_user, role, start=T0 + timedelta(days=5))
    # When an approver approves it 3 days later, the reconcile not having run
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        assert AccessRequest.objects.get(pk=request.pk).status == RequestStatus.PENDING
        with pytest.raises(ValidationError, match="lapsed") as exc:
            services.access_request_approve(request_id=request.pk, approver=approver)
    # Then it is refused as lapsed, no grant exists, and it is lapsed on the spot
    assert "nothing else was changed" in " ".join(exc.value.messages)
    assert not Grant.objects.exists() and not Approval.objects.exists()
    request.refresh_from_db()
    assert request.status == RequestStatus.LAPSED
    assert actions_for(request) == ["access.request.submitted", "access.request.lapsed"]


@pytest.mark.django_db(transaction=True)
def test_a_lapse_found_in_the_admin_is_committed_and_the_page_says_why(
    client, role, staff_user, approver
):
    # Given a request past its pending timeout, the status column still "pending"
    with time_machine.travel(T0, tick=False):
        request = _submit(staff_user, role, start=T0 + timedelta(days=5))
    client.force_login(approver)
    queue = reverse("admin:access_accessrequest_queue")
    # When the approver confirms an approval on the decision page
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        response = client.post(
            reverse("admin:access_accessrequest_decide", args=[request.pk, "approve"]),
            {"comment": "ok", "next": queue},
            follow=True,
        )
    # Then the page says it lapsed, and the lapse is committed though the approval was refused
    text = " ".join(str(m) for m in response.context["messages"])
    assert f"Request #{request.pk} lapsed at" in text
    assert AccessRequest.objects.get(pk=request.pk).status == RequestStatus.LAPSED
    assert not Grant.objects.exists() and not Approval.objects.exists()
    assert AuditEvent.objects.filter(action="access.request.lapsed").count() == 1


def test_example_requester_removed_from_the_group_is_refused_no_longer_eligible(
    client, gated_role, requester, support, approver
):
    # Given a role requestable only by group G, and a request from a member of G
    request = _submit(requester, gated_role)
    # When the requester leaves G and an approver approves
    requester.groups.remove(support)
    client.force_login(approver)
    page = client.get(reverse("admin:access_accessrequest_decide", args=[request.pk, "approve"]))
    assert "requester is no longer eligible for Support gated" in page.content.decode()
    with pytest.raises(ValidationError, match="no longer eligible"):
        services.access_request_approve(request_id=request.pk, approver=approver)
    # Then nothing changed
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert not Approval.objects.exists() and not Grant.objects.exists()
    assert actions_for(request) == ["access.request.submitted"]


def test_example_47_one_hour_extensions_stop_at_the_role_limit(asset, staff_user):
    # Given a 4-hour-maximum role with automatic approval (and the default reach, 24 hours)
    role = AccessRoleFactory(
        name="Auto", assets=[asset], max_duration=timedelta(hours=4), approvals_required=0
    )
    assert role.max_total_duration == timedelta(hours=24)
    with time_machine.travel(T0, tick=False):
        grant = _submit(staff_user, role).grant
        # When 47 one-hour extensions are asked for
        refused = []
        for _ in range(47):
            current = Grant.objects.get(pk=grant.pk).ends_at
            try:
                services.access_request_extend(
                    grant_id=grant.pk,
                    requester=staff_user,
                    ends_at=current + timedelta(hours=1),
                    justification="more",
                )
            except ValidationError as exc:
                refused.append(" ".join(exc.messages))
    # Then the grant reaches 24 hours from its start, not 50
    grant.refresh_from_db()
    assert grant.ends_at - grant.starts_at == timedelta(hours=24)
    assert len(refused) == 47 - 20
    assert "at most 1 day from its start" in refused[0]
    assert Grant.objects.count() == 1


# --- the extension cap ------------------------------------------------------------------------


def test_reach_limit_is_checked_again_when_the_extension_is_approved(
    role, staff_user, approver, approver2
):
    # Given a live grant and a pending extension within the limit
    first = _submit(staff_user, role, hours=2)
    services.access_request_approve(request_id=first.pk, approver=approver)
    grant = Grant.objects.get(request=first)
    extension = services.access_request_extend(
        grant_id=grant.pk,
        requester=staff_user,
        ends_at=grant.ends_at + timedelta(hours=8),
        justification="more",
    )
    # When the DPO lowers the limit before the approval
    role.max_total_duration = role.max_duration
    role.save()
    # Then the approval is refused and nothing moves
    with pytest.raises(ValidationError, match="at most 8 hours from its start"):
        services.access_request_approve(request_id=extension.pk, approver=approver2)
    assert Grant.objects.get(pk=grant.pk).ends_at == grant.ends_at
    assert AccessRequest.objects.get(pk=extension.pk).status == RequestStatus.PENDING


def test_single_asset_requests_take_the_smallest_reach_of_the_covering_roles(asset, staff_user):
    AccessRoleFactory(
        name="Wide", assets=[asset], approvals_required=0, require_justification=False
    )
    AccessRoleFactory(
        name="Narrow",
        assets=[asset],
        approvals_required=0,
        require_justification=False,
        max_total_duration=timedelta(hours=10),
    )
    now = timezone.now()
    request = services.access_request_submit(
        requester=staff_user, asset=asset, starts_at=now, ends_at=now + timedelta(hours=4)
    )
    assert request.policy_snapshot["max_total_duration"] == 10 * 3600
    with pytest.raises(ValidationError, match="at most 10 hours"):
        services.access_request_extend(
            grant_id=request.grant.pk, requester=staff_user, ends_at=now + timedelta(hours=11)
        )


def test_role_reach_cannot_be_shorter_than_its_maximum(asset):
    role = AccessRoleFactory(name="Bad", assets=[asset])
    role.max_total_duration = timedelta(hours=1)
    with pytest.raises(ValidationError) as exc:
        role.full_clean()
    assert "max_total_duration" in exc.value.message_dict


def test_the_extend_page_names_the_latest_end(client, asset, staff_user):
    role = AccessRoleFactory(name="Auto", assets=[asset], approvals_required=0)
    grant = _submit(staff_user, role).grant
    client.force_login(staff_user)
    html = client.get(reverse("access-grant-extend", args=[grant.pk])).content.decode()
    latest = timezone.localtime(grant.starts_at + timedelta(hours=24))
    assert datetime_display(latest) in html
    assert "Longest reach through extensions" in html


# --- approvals that no longer count ---------------------------------------------------------------


def test_an_approval_from_someone_who_lost_the_right_no_longer_counts(
    asset, approvers_group, staff_user, approver, approver2, approver3
):
    # Given a request needing two approvers, approved by one
    role = AccessRoleFactory(
        name="Two",
        assets=[asset],
        approver_groups=[approvers_group],
        approvals_required=2,
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    request = _submit(staff_user, role)
    services.access_request_approve(request_id=request.pk, approver=approver)
    # When that approver leaves the Approvers group and a second approver approves
    approver.groups.remove(approvers_group)
    services.access_request_approve(request_id=request.pk, approver=approver2)
    # Then the request still waits: the first approval does not count any more
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and not Grant.objects.exists()
    given = AuditEvent.objects.filter(action="access.approval.given").order_by("id").last()
    assert given.data["approvals_still_needed"] == 1
    assert given.data["no_longer_counting"] == ["approver"]
    # And a third approver completes it
    services.access_request_approve(request_id=request.pk, approver=approver3)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_a_dpo_approval_stops_counting_when_they_leave_the_dpo_group(
    role, staff_user, approver, dpo, groups
):
    role.require_dpo = True
    role.save()
    request = _submit(staff_user, role)
    services.access_request_approve(request_id=request.pk, approver=dpo)
    dpo.groups.remove(Group.objects.get(name="DPO"))
    services.access_request_approve(request_id=request.pk, approver=approver)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    # Another DPO fills the slot
    other = UserFactory(username="dpo2", groups=["DPO"], is_staff=True)
    services.access_request_approve(request_id=request.pk, approver=other)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


# --- scheduled grants whose holder is no longer entitled ----------------------------------------


@pytest.mark.parametrize("route", ["single", "batch"])
@pytest.mark.parametrize("fact", ["inactive", "ineligible"])
def test_a_scheduled_grant_never_becomes_live_for_a_holder_no_longer_entitled(
    route, fact, gated_role, requester, support, approver, asset
):
    # Given an approved grant starting in an hour
    with time_machine.travel(T0, tick=False):
        request = _submit(requester, gated_role, start=T0 + timedelta(hours=1))
        services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get(request=request)
    # When the holder loses the right before the start
    if fact == "inactive":
        User.objects.filter(pk=requester.pk).update(is_active=False)
    else:
        requester.groups.remove(support)
    # Then at the start it is ended, with the reason, and never mirrored
    with time_machine.travel(T0 + timedelta(hours=1, minutes=1), tick=False):
        if route == "single":
            services.grant_activate(grant_id=grant.pk)
        else:
            counts = services.access_reconcile()
            assert counts["ended_unentitled"] == 1 and counts["activated"] == 0
        grant.refresh_from_db()
        assert grant.status == GrantStatus.REVOKED and grant.revoked_at is not None
        assert not grant.is_live()
        assert not fresh(requester).has_perm("inventory.view_data", asset)
    expected = "no longer active" if fact == "inactive" else "no longer eligible"
    assert expected in grant.revoke_reason
    assert not UserObjectPermission.objects.filter(user=requester).exists()
    event = AuditEvent.objects.filter(action="access.grant.revoked").get()
    assert event.actor_label == services.SYSTEM_POLICY and expected in event.reason


# --- one source for "approvals still needed" ------------------------------------------------------


def test_example_every_place_says_one_more_the_dpos(
    client, role, staff_user, approver, dpo, mailoutbox, settings
):
    # Given a request needing one approver and the DPO
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    role.require_dpo = True
    role.save()
    request = _submit(staff_user, role)
    assert notification_send(kind="request_submitted", object_id=request.pk)
    assert "Approvals still needed: 2 more, including the DPO's" in mailoutbox[-1].body
    # When the approver approves it in the admin, back to the change page
    client.force_login(approver)
    change = reverse("admin:access_accessrequest_change", args=[request.pk])
    response = client.post(
        reverse("admin:access_accessrequest_decide", args=[request.pk, "approve"]),
        {"comment": "", "next": change},
        follow=True,
    )
    expected = "1 more, the DPO's"
    # Then the admin message, the change page, the changelist, the queue, the decision page,
    # the staff page and the emails all say 1 more, the DPO's
    html = response.content.decode()
    assert f"it still needs {expected}.".replace("'", "&#x27;") in html  # the message
    assert "1 more, the DPO&#x27;s" in html  # the change page's "approvals still needed"
    changelist = client.get(reverse("admin:access_accessrequest_changelist")).content.decode()
    assert "1 more, the DPO&#x27;s" in changelist
    client.force_login(dpo)
    queue = client.get(reverse("admin:access_accessrequest_queue"))
    assert [r["still_needed"] for r in queue.context["rows"]] == [expected]
    decide = client.get(reverse("admin:access_accessrequest_decide", args=[request.pk, "approve"]))
    assert decide.context["row"]["still_needed"] == expected
    client.force_login(staff_user)
    portal = client.get(reverse("access-request-detail", args=[request.pk])).content.decode()
    assert "Approvals still needed" in portal and "1 more, the DPO&#x27;s" in portal
    assert notification_send(kind="request_reminder", object_id=request.pk)
    assert f"Approvals still needed: {expected}." in mailoutbox[-1].body
    assert notification_send(kind="request_submitted", object_id=request.pk)
    assert f"Approvals still needed: {expected}" in mailoutbox[-1].body


def test_reminders_go_only_to_those_whose_decision_is_still_needed(
    role, staff_user, approver, approver2, dpo, mailoutbox, settings
):
    # Given a request needing one approver and the DPO, approved by one approver
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    role.require_dpo = True
    role.save()
    request = _submit(staff_user, role)
    services.access_request_approve(request_id=request.pk, approver=approver)
    # When the reminder goes out
    mailoutbox.clear()
    notification_send(kind="request_reminder", object_id=request.pk)
    # Then only the DPO, whose approval is the one still needed, is reminded
    assert [m.to for m in mailoutbox] == [[dpo.email]]


def test_approvals_still_needed_has_one_source(settings):
    """Every file that shows or computes "approvals still needed" is one of the places the
    test above checks, and only the selector counts approvals."""
    from pathlib import Path

    root = Path(settings.BASE_DIR)
    checked = {
        "apps/access/selectors.py",  # the one source
        "apps/access/services/requests.py",  # the approval itself and its audit event
        "apps/access/admin/display.py",  # the column of the changelist, queue and decide page
        "apps/access/admin/requests.py",  # the change page and the messages
        "apps/access/views.py",  # the staff request page
        "apps/access/notifications.py",  # the emails
        "templates/admin/access/accessrequest/queue.html",
        "templates/admin/access/accessrequest/decide.html",
        "templates/portal/request_detail.html",
        "templates/access/email/request_submitted_body.txt",
        "templates/access/email/request_reminder_body.txt",
        "apps/chat/blocks.py",  # the Slack messages (tests/chat/test_messages.py says the same)
        "apps/api/serializers.py",  # the API's queue (the selector's label)
    }
    found, counting = set(), set()
    for folder in ("apps", "templates"):
        for path in (root / folder).rglob("*"):
            if path.suffix not in {".py", ".html", ".txt"} or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8").lower()
            rel = path.relative_to(root).as_posix()
            if re.search(r"still[ _]needed|still needs \S*\{", text):
                found.add(rel)
            if "n_regular_approvals" in text or "has_dpo_approval" in text:
                counting.add(rel)
    assert found <= checked, f"a new place shows the count; check it too: {found - checked}"
    assert counting == {"apps/access/selectors.py"}


# --- every decision path, every stale fact -------------------------------------------------------

PATHS = (
    "submit_automatic",
    "approve",
    "approve_extension",
    "deny",
    "extend",
    "break_glass",
    "activate_single",
    "activate_batch",
)
FACTS = (
    "lapsed",
    "requester_inactive",
    "requester_ineligible",
    "approver_inactive",
    "approver_ineligible",
    "earlier_approver_inactive",
    "earlier_approver_ineligible",
)
# What each path does with each stale fact (docs/access.md, "Decisions are re-checked"):
# "refused" (nothing changes), "lapsed" (refused, and the request is lapsed on the spot),
# "ended" (the scheduled grant is ended, never live), "not_counted" (the stale approval does
# not count: the request keeps waiting), "proceeds" (the fact is not one this decision rests
# on), None (the fact cannot arise on this path).
EXPECTED: dict[str, dict[str, str | None]] = {
    "submit_automatic": {
        "lapsed": None,
        "requester_inactive": "refused",
        "requester_ineligible": "refused",
        "approver_inactive": None,
        "approver_ineligible": None,
        "earlier_approver_inactive": None,
        "earlier_approver_ineligible": None,
    },
    "approve": {
        "lapsed": "lapsed",
        "requester_inactive": "refused",
        "requester_ineligible": "refused",
        "approver_inactive": "refused",
        "approver_ineligible": "refused",
        "earlier_approver_inactive": "not_counted",
        "earlier_approver_ineligible": "not_counted",
    },
    "approve_extension": {
        "lapsed": "lapsed",
        "requester_inactive": "refused",
        "requester_ineligible": "refused",
        "approver_inactive": "refused",
        "approver_ineligible": "refused",
        "earlier_approver_inactive": "not_counted",
        "earlier_approver_ineligible": "not_counted",
    },
    "deny": {
        "lapsed": "lapsed",
        # A denial gives nothing: it does not rest on the requester's facts.
        "requester_inactive": "proceeds",
        "requester_ineligible": "proceeds",
        "approver_inactive": "refused",
        "approver_ineligible": "refused",
        "earlier_approver_inactive": None,
        "earlier_approver_ineligible": None,
    },
    "extend": {
        # The grant's window passed by the clock while its status still says active.
        "lapsed": "refused",
        "requester_inactive": "refused",
        "requester_ineligible": "refused",
        "approver_inactive": None,
        "approver_ineligible": None,
        "earlier_approver_inactive": None,
        "earlier_approver_ineligible": None,
    },
    "break_glass": {
        "lapsed": None,
        "requester_inactive": "refused",
        "requester_ineligible": "refused",
        "approver_inactive": None,
        "approver_ineligible": None,
        "earlier_approver_inactive": None,
        "earlier_approver_ineligible": None,
    },
    **{
        path: {
            # The window passed by the clock before any activation: never activated.
            "lapsed": "refused",
            "requester_inactive": "ended",
            "requester_ineligible": "ended",
            # Approvals were judged when the last one arrived.
            "approver_inactive": "proceeds",
            "approver_ineligible": "proceeds",
            "earlier_approver_inactive": None,
            "earlier_approver_ineligible": None,
        }
        for path in ("activate_single", "activate_batch")
    },
}


class Scene:
    """The people and rows of one (path, fact) case; ``stale`` facts are written to the
    database while the objects the caller holds keep the old values (and cached rights)."""

    def __init__(self, *, asset, approvers_group, support, groups) -> None:
        self.asset, self.approvers_group, self.support = asset, approvers_group, support
        self.requester = UserFactory(username="requester", groups=["Staff", "DPO"])
        self.requester.groups.add(support)
        self.approver = UserFactory(username="approver", groups=["Approvers"], is_staff=True)
        self.earlier = UserFactory(username="earlier", groups=["Approvers"], is_staff=True)
        decide = Permission.objects.get(codename="decide_accessrequest")
        for user in (self.approver, self.earlier):
            # The permission stays when the group goes: only the eligibility is lost.
            user.user_permissions.add(decide)
            user.has_perm("access.decide_accessrequest")  # cached on the held object
        self.requester.has_perm("access.break_glass")

    def role(self, **kwargs: Any):
        defaults: dict[str, Any] = {
            "name": "Gated",
            "assets": [self.asset],
            "approver_groups": [self.approvers_group],
            "requestable_by_groups": [self.support],
            "approve_by_asset_owner": False,
            "approve_by_steward_group": False,
            "pending_timeout": timedelta(hours=2),
            "require_justification": False,
        }
        defaults.update(kwargs)
        return AccessRoleFactory(**defaults)

    def make_stale(self, fact: str) -> None:
        if fact == "lapsed":
            return  # the clock moves instead
        who = {"requester": self.requester, "approver": self.approver, "earlier": self.earlier}
        subject = fact.removeprefix("earlier_").split("_")[0]
        user = self.earlier if fact.startswith("earlier_") else who[subject]
        if fact.endswith("_inactive"):
            User.objects.filter(pk=user.pk).update(is_active=False)
        elif user is self.requester:
            user.groups.remove(self.support, Group.objects.get(name="DPO"))
        else:
            user.groups.remove(self.approvers_group)


def _run_case(scene: Scene, path: str, fact: str) -> str:
    """Set up ``path`` at T0, make ``fact`` stale, take the decision; return the outcome."""
    lapse_at = T0 + timedelta(hours=3)  # past the 2-hour pending timeout, inside the window
    when = lapse_at if fact == "lapsed" else T0 + timedelta(minutes=30)
    act: Callable[[], Any]
    request: AccessRequest | None = None
    grant: Grant | None = None
    with time_machine.travel(T0, tick=False):
        if path == "submit_automatic":
            role = scene.role(approvals_required=0)

            def act():
                return _submit(scene.requester, role)

        elif path in {"approve", "deny"}:
            role = scene.role(approvals_required=2 if fact.startswith("earlier_") else 1)
            request = _submit(scene.requester, role, start=T0, hours=6)
            if fact.startswith("earlier_"):
                services.access_request_approve(request_id=request.pk, approver=scene.earlier)
            if path == "approve":

                def act():
                    return services.access_request_approve(
                        request_id=request.pk, approver=scene.approver
                    )

            else:

                def act():
                    return services.access_request_deny(
                        request_id=request.pk, approver=scene.approver, reason="no"
                    )

        elif path == "approve_extension":
            role = scene.role(approvals_required=2 if fact.startswith("earlier_") else 1)
            first = _submit(scene.requester, role, start=T0, hours=4)
            services.access_request_approve(request_id=first.pk, approver=scene.earlier)
            if fact.startswith("earlier_"):
                services.access_request_approve(request_id=first.pk, approver=scene.approver)
            grant = Grant.objects.get(request=first)
            request = services.access_request_extend(
                grant_id=grant.pk,
                requester=scene.requester,
                ends_at=grant.ends_at + timedelta(hours=4),
            )
            if fact.startswith("earlier_"):
                # The earlier approver approves the extension, then loses the right
                services.access_request_approve(request_id=request.pk, approver=scene.earlier)
                other = UserFactory(username="other", groups=["Approvers"], is_staff=True)
                scene.approver = other

            def act():
                return services.access_request_approve(
                    request_id=request.pk, approver=scene.approver
                )

        elif path == "extend":
            role = scene.role(approvals_required=0, max_duration=timedelta(hours=2))
            grant = _submit(scene.requester, role, start=T0, hours=2).grant

            def act():
                return services.access_request_extend(
                    grant_id=grant.pk,
                    requester=scene.requester,
                    ends_at=grant.ends_at + timedelta(hours=1),
                )

        elif path == "break_glass":

            def act():
                return services.grant_break_glass(
                    user=scene.requester, asset=scene.asset, duration=timedelta(hours=1), reason="x"
                )

        else:
            role = scene.role(approvals_required=1)
            request = _submit(scene.requester, role, start=T0 + timedelta(minutes=20), hours=2)
            services.access_request_approve(request_id=request.pk, approver=scene.approver)
            grant = Grant.objects.get(request=request)
            if fact == "lapsed":
                when = grant.ends_at + timedelta(minutes=1)
            if path == "activate_single":

                def act():
                    return services.grant_activate(grant_id=grant.pk)

            else:

                def act():
                    return services.access_reconcile()

    scene.make_stale(fact)
    grants_before = set(Grant.objects.values_list("pk", "ends_at", "status"))
    approvals_before = Approval.objects.count()
    with time_machine.travel(when, tick=False):
        try:
            act()
        except (ValidationError, PermissionDenied):
            refused = True
        else:
            refused = False
    if request is not None:
        request.refresh_from_db()
    if path in {"activate_single", "activate_batch"}:
        assert grant is not None
        grant.refresh_from_db()
        if grant.status == GrantStatus.REVOKED:
            assert "no longer" in grant.revoke_reason
            return "ended"
        if grant.status == GrantStatus.ACTIVE:
            return "proceeds"
        assert not grant.mirrored
        return "refused"
    if refused:
        # Nothing else changed: no grant moved or appeared, no approval was recorded
        assert set(Grant.objects.values_list("pk", "ends_at", "status")) == grants_before
        assert Approval.objects.count() == approvals_before
        if request is not None and request.status == RequestStatus.LAPSED:
            assert "access.request.lapsed" in actions_for(request)
            return "lapsed"
        assert request is None or request.status == RequestStatus.PENDING
        return "refused"
    if request is not None and request.status == RequestStatus.PENDING:
        return "not_counted"
    return "proceeds"


CASES = [
    (path, fact, outcome)
    for path, row in EXPECTED.items()
    for fact, outcome in row.items()
    if outcome is not None
]


def test_the_table_names_every_fact_for_every_path():
    assert set(EXPECTED) == set(PATHS)
    assert all(set(row) == set(FACTS) for row in EXPECTED.values())
    # Every path re-checks the requester, and every human decision the clock
    assert all(
        EXPECTED[p]["requester_inactive"] in {"refused", "ended"} for p in PATHS if p != "deny"
    )
    assert all(EXPECTED[p]["lapsed"] == "lapsed" for p in ("approve", "approve_extension", "deny"))


@pytest.mark.parametrize(("path", "fact", "expected"), CASES)
def test_every_decision_path_rechecks_every_fact(
    path, fact, expected, asset, approvers_group, support, groups
):
    scene = Scene(asset=asset, approvers_group=approvers_group, support=support, groups=groups)
    assert _run_case(scene, path, fact) == expected


def test_every_service_is_classified():
    """A new service of the access app must say whether it takes a decision (and join the
    walk above) or not."""
    decisions = {
        "access_request_submit",  # automatic approval
        "access_request_approve",
        "access_request_deny",
        "access_request_extend",
        "grant_break_glass",
        "grant_activate",
        "access_reconcile",  # batch activation
    }
    not_decisions = {
        "mirror_add",
        "mirror_remove",
        "access_role_record_change",
        "access_role_record_deleted",
        "access_request_cancel",  # the requester withdraws: gives nothing
        "grant_mirror_sync",
        "grant_revoke",  # takes access away
        "grant_relinquish",
        "grant_mark_reviewed",
        "access_record_view_log",
        "user_offboard",  # takes access away, cancels requests
        "access_reconcile_helpers_wanted",  # a count: how many workers to ask
    }
    public = {
        name
        for name, fn in inspect.getmembers(services, inspect.isfunction)
        if not name.startswith("_") and fn.__module__.startswith(f"{services.__name__}.")
    }
    assert public == decisions | not_decisions
    assert set(PATHS) >= {"approve", "deny", "extend", "break_glass", "activate_single"}
