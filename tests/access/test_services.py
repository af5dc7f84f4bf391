"""Request and grant lifecycles through the services, with time travel."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from guardian.core import ObjectPermissionChecker
from guardian.models import UserObjectPermission

from apps.access import services
from apps.access.models import (
    AccessRequest,
    AccessRole,
    Approval,
    Grant,
    GrantStatus,
    RequestStatus,
)
from apps.access.selectors import effective_policy
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from tests.access.factories import AccessRoleFactory
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) + timedelta(days=1)


def actions_for(obj) -> list[str]:
    return list(AuditEvent.objects.for_target(obj).order_by("id").values_list("action", flat=True))


def fresh(user):
    """A new user object, as the next web request would have (no cached grants)."""
    return type(user).objects.get(pk=user.pk)


def mirrored(user, asset, perm="view_data") -> bool:
    return UserObjectPermission.objects.filter(
        user=user, object_pk=str(asset.pk), permission__codename=perm
    ).exists()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what services queue after commit (eager Celery tasks in tests)."""

    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


def test_full_lifecycle_request_approve_scheduled_active_expired(
    role, asset, staff_user, approver, run_on_commit, mailoutbox
):
    # Given a request for a window starting in one hour
    with time_machine.travel(T0, tick=False):
        request = run_on_commit(
            services.access_request_submit,
            requester=staff_user,
            role=role,
            starts_at=T0 + timedelta(hours=1),
            ends_at=T0 + timedelta(hours=3),
            justification="Complaint #42 follow-up",
        )
        assert request.status == RequestStatus.PENDING
        assert request.policy_snapshot["approvals_required"] == 1
        assert [m.to for m in mailoutbox] == [[approver.email]]

        # When the approver approves it
        run_on_commit(
            services.access_request_approve, request_id=request.pk, approver=approver, comment="ok"
        )

        # Then exactly one grant is scheduled and gives nothing yet
        request.refresh_from_db()
        grant = Grant.objects.get(request=request)
        assert request.status == RequestStatus.APPROVED
        assert grant.status == GrantStatus.SCHEDULED
        assert not fresh(staff_user).has_perm("inventory.view_data", asset)
        assert mailoutbox[-1].to == [staff_user.email]
        assert "approved" in mailoutbox[-1].subject

    # When its start comes: access counts at once, beat only tidies the status and mirror
    with time_machine.travel(T0 + timedelta(hours=1, minutes=1), tick=False):
        assert fresh(staff_user).has_perm("inventory.view_data", asset)
        assert not fresh(staff_user).has_perm("inventory.change_data", asset)
        counts = services.access_reconcile()
        assert counts["activated"] == 1
        grant.refresh_from_db()
        assert grant.status == GrantStatus.ACTIVE and grant.mirrored
        assert ObjectPermissionChecker(staff_user).has_perm("view_data", asset)

    # When the window ends
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        assert not fresh(staff_user).has_perm("inventory.view_data", asset)
        counts = services.access_reconcile()
        assert counts["expired"] == 1
        grant.refresh_from_db()
        assert grant.status == GrantStatus.EXPIRED and not grant.mirrored
        assert not mirrored(staff_user, asset)
        # and a second run finds nothing to do
        assert services.access_reconcile()["expired"] == 0

    assert actions_for(request) == [
        "access.request.submitted",
        "access.approval.given",
        "access.request.approved",
    ]
    assert actions_for(grant) == ["access.grant.activated", "access.grant.expired"]
    expired = AuditEvent.objects.get(action="access.grant.expired")
    assert expired.actor_label == "system:beat" and expired.actor is None
    assert expired.target_repr == str(grant) and expired.target_id == str(grant.pk)
    assert expired.target_type == "access.grant"
    submitted = AuditEvent.objects.get(action="access.request.submitted")
    assert submitted.actor == staff_user
    assert submitted.reason == "Complaint #42 follow-up"
    assert submitted.data["policy"]["roles"] == ["Support read"]
    assert audit_chain_verify().ok


def test_immediate_grant_is_activated_by_the_task_on_commit(
    role, asset, staff_user, approver, run_on_commit, window
):
    # Given a request starting now
    request = services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    # When it is approved (the activation task runs after commit)
    run_on_commit(services.access_request_approve, request_id=request.pk, approver=approver)
    # Then the grant is active and mirrored without waiting for beat
    grant = Grant.objects.get(request=request)
    assert grant.status == GrantStatus.ACTIVE and grant.mirrored
    assert mirrored(staff_user, asset)
    event = AuditEvent.objects.get(action="access.grant.activated")
    assert event.actor == approver


def test_deny_needs_a_reason_and_ends_the_request(role, staff_user, approver, window, mailoutbox):
    request = services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    # When the approver denies without a reason, nothing changes
    with pytest.raises(ValidationError) as exc:
        services.access_request_deny(request_id=request.pk, approver=approver, reason="  ")
    assert "reason" in exc.value.message_dict
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    # When with a reason
    services.access_request_deny(request_id=request.pk, approver=approver, reason="Not your team")
    request.refresh_from_db()
    assert request.status == RequestStatus.DENIED
    assert request.decision_comment == "Not your team"
    assert not Grant.objects.exists()
    event = AuditEvent.objects.get(action="access.request.denied")
    assert event.reason == "Not your team" and event.actor == approver
    # And a decided request cannot be decided again
    with pytest.raises(ValidationError):
        services.access_request_approve(request_id=request.pk, approver=approver)


def test_cancel_by_requester_only_and_only_pending(role, staff_user, staff2, window):
    request = services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    with pytest.raises(PermissionDenied):
        services.access_request_cancel(request_id=request.pk, actor=staff2)
    services.access_request_cancel(request_id=request.pk, actor=staff_user)
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED
    assert "access.request.cancelled" in actions_for(request)
    with pytest.raises(ValidationError):
        services.access_request_cancel(request_id=request.pk, actor=staff_user)


def test_undecided_request_lapses_on_reconcile(role, staff_user, mailoutbox, run_on_commit):
    with time_machine.travel(T0, tick=False):
        request = services.access_request_submit(
            requester=staff_user,
            role=role,
            starts_at=T0 + timedelta(days=3),
            ends_at=T0 + timedelta(days=3, hours=2),
            justification="x",
        )
        assert request.lapses_at == T0 + role.pending_timeout
    # Nothing happens before the deadline
    with time_machine.travel(T0 + role.pending_timeout - timedelta(minutes=1), tick=False):
        assert services.access_reconcile()["lapsed"] == 0
    with time_machine.travel(T0 + role.pending_timeout, tick=False):
        counts = run_on_commit(services.access_reconcile)
    assert counts["lapsed"] == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.LAPSED
    event = AuditEvent.objects.get(action="access.request.lapsed")
    assert event.actor_label == "system:beat"
    assert mailoutbox[-1].to == [staff_user.email] and "lapsed" in mailoutbox[-1].subject


def test_extension_is_decided_and_moves_the_end(role, asset, staff_user, approver, window):
    request = services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get()
    old_end = grant.ends_at

    # An extension that does not extend is refused
    with pytest.raises(ValidationError) as exc:
        services.access_request_extend(
            grant_id=grant.pk, requester=staff_user, ends_at=old_end, justification="more"
        )
    assert "ends_at" in exc.value.message_dict
    # Somebody else cannot extend my grant
    with pytest.raises(PermissionDenied):
        services.access_request_extend(
            grant_id=grant.pk,
            requester=approver,
            ends_at=old_end + timedelta(hours=1),
            justification="more",
        )
    extension = services.access_request_extend(
        grant_id=grant.pk,
        requester=staff_user,
        ends_at=old_end + timedelta(hours=2),
        justification="Still on the complaint",
    )
    assert extension.extends_grant == grant and extension.status == RequestStatus.PENDING
    assert extension.lapses_at <= old_end
    # A second pending extension is refused
    with pytest.raises(ValidationError):
        services.access_request_extend(
            grant_id=grant.pk,
            requester=staff_user,
            ends_at=old_end + timedelta(hours=1),
            justification="x",
        )

    # When approved (shortened by the approver to one extra hour)
    services.access_request_approve(
        request_id=extension.pk, approver=approver, ends_at=old_end + timedelta(hours=1)
    )
    grant.refresh_from_db()
    assert grant.ends_at == old_end + timedelta(hours=1)
    assert Grant.objects.count() == 1
    event = AuditEvent.objects.get(action="access.grant.extended")
    assert event.data["previous_ends_at"] == old_end.isoformat()
    with time_machine.travel(old_end + timedelta(minutes=30), tick=False):
        assert fresh(staff_user).has_perm("inventory.view_data", asset)
    with time_machine.travel(old_end + timedelta(hours=1), tick=False):
        assert not fresh(staff_user).has_perm("inventory.view_data", asset)


def test_give_back_early(role, asset, staff_user, approver, window, run_on_commit):
    request = services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    run_on_commit(services.access_request_approve, request_id=request.pk, approver=approver)
    grant = Grant.objects.get()
    assert mirrored(staff_user, asset)
    user = fresh(staff_user)
    assert user.has_perm("inventory.view_data", asset)
    # Somebody else cannot give it back
    with pytest.raises(PermissionDenied):
        services.grant_relinquish(grant_id=grant.pk, actor=approver)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        run_on_commit(services.grant_relinquish, grant_id=grant.pk, actor=user)
        # the same user object: the service forgot its cached grants
        assert not user.has_perm("inventory.view_data", asset)
    grant.refresh_from_db()
    # ended on purpose by its holder: revoked, not expired; the window keeps its planned end
    assert grant.status == GrantStatus.REVOKED and not grant.mirrored
    assert grant.revoked_by == staff_user and grant.revoked_at < window[1]
    assert grant.revoke_code == "given_back" and grant.ends_at == window[1]
    assert not mirrored(staff_user, asset)
    assert "access.grant.relinquished" in actions_for(grant)
    with pytest.raises(ValidationError):
        services.grant_relinquish(grant_id=grant.pk, actor=staff_user)


def test_revoke_takes_access_away_with_a_reason(
    role, asset, staff_user, approver, dpo, window, run_on_commit, mailoutbox
):
    request = services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    run_on_commit(services.access_request_approve, request_id=request.pk, approver=approver)
    grant = Grant.objects.get()
    # A reason is required; staff may not revoke
    with pytest.raises(ValidationError):
        services.grant_revoke(grant_id=grant.pk, actor=approver, reason="")
    with pytest.raises(PermissionDenied):
        services.grant_revoke(grant_id=grant.pk, actor=UserFactory(), reason="x")
    run_on_commit(services.grant_revoke, grant_id=grant.pk, actor=approver, reason="Left the team")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REVOKED and grant.revoked_by == approver
    assert not grant.mirrored and not mirrored(staff_user, asset)
    assert not fresh(staff_user).has_perm("inventory.view_data", asset)
    assert AuditEvent.objects.get(action="access.grant.revoked").reason == "Left the team"
    assert mailoutbox[-1].to == [staff_user.email] and "revoked" in mailoutbox[-1].subject
    with pytest.raises(ValidationError):
        services.grant_revoke(grant_id=grant.pk, actor=approver, reason="again")


def test_break_glass(asset, dpo, staff_user, settings, run_on_commit, mailoutbox, groups):
    other_dpo = UserFactory(username="dpo2", groups=["DPO"], is_staff=True)
    limit = settings.JITPORTAL["BREAK_GLASS_MAX"]
    # Staff may not use it
    with pytest.raises(PermissionDenied):
        services.grant_break_glass(
            user=staff_user, asset=asset, duration=timedelta(hours=1), reason="fire"
        )
    # Longer than the maximum, or without a reason: refused, nothing written
    with pytest.raises(ValidationError) as exc:
        services.grant_break_glass(
            user=dpo, asset=asset, duration=limit + timedelta(minutes=1), reason=""
        )
    assert set(exc.value.message_dict) == {"duration", "reason"}
    assert not Grant.objects.exists() and not AccessRequest.objects.exists()

    grant = run_on_commit(
        services.grant_break_glass,
        user=dpo,
        asset=asset,
        duration=timedelta(hours=1),
        reason="Regulator deadline today",
    )
    assert grant.is_break_glass and grant.needs_review and grant.status == GrantStatus.ACTIVE
    assert fresh(dpo).has_perm("inventory.view_data", asset)
    assert mirrored(dpo, asset)
    # The DPO group is emailed at once
    assert sorted(m.to[0] for m in mailoutbox) == sorted([dpo.email, other_dpo.email])
    assert "Break-glass" in mailoutbox[0].subject
    event = AuditEvent.objects.get(action="access.breakglass.used")
    assert event.reason == "Regulator deadline today"
    # Nobody reviews their own break-glass
    with pytest.raises(PermissionDenied):
        services.grant_mark_reviewed(grant_id=grant.pk, reviewer=dpo)
    services.grant_mark_reviewed(grant_id=grant.pk, reviewer=other_dpo, comment="Justified")
    grant.refresh_from_db()
    assert not grant.needs_review and grant.reviewed_by == other_dpo
    with pytest.raises(ValidationError):
        services.grant_mark_reviewed(grant_id=grant.pk, reviewer=other_dpo)


def test_role_with_no_approvals_is_approved_at_once(asset, staff_user, window, run_on_commit):
    auto = AccessRoleFactory(name="Low risk", assets=[asset], approvals_required=0)
    request = run_on_commit(
        services.access_request_submit,
        requester=staff_user,
        role=auto,
        starts_at=window[0],
        ends_at=window[1],
        justification="x",
    )
    assert request.status == RequestStatus.APPROVED
    grant = Grant.objects.get(request=request)
    assert grant.status == GrantStatus.ACTIVE
    assert AuditEvent.objects.get(action="access.request.approved").actor_label == "system:policy"
    assert fresh(staff_user).has_perm("inventory.view_data", asset)


def test_auto_role_over_special_data_still_needs_the_dpo(special_asset, staff_user, window):
    auto = AccessRoleFactory(name="Auto special", assets=[special_asset], approvals_required=0)
    request = services.access_request_submit(
        requester=staff_user, role=auto, starts_at=window[0], ends_at=window[1], justification="x"
    )
    assert request.status == RequestStatus.PENDING and request.dpo_required


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"justification": ""}, "justification"),
        ({"ticket": "JIRA-1"}, "ticket"),
        ({"ticket": ""}, "ticket"),
        ({"ends_at": "+9h"}, "ends_at"),
        ({"ends_at": "-1h"}, "ends_at"),
        ({"starts_at": "-1h"}, "starts_at"),
        ({"starts_at": "+30d"}, "starts_at"),
    ],
)
def test_bad_input_is_refused_with_a_field_message_and_nothing_saved(
    role, staff_user, changes, field
):
    role.require_ticket = True
    role.ticket_pattern = r"INC-\d+"
    role.save()
    now = timezone.now()
    args = {
        "requester": staff_user,
        "role": role,
        "starts_at": now,
        "ends_at": now + timedelta(hours=2),
        "justification": "x",
        "ticket": "INC-7",
    }
    for key, value in changes.items():
        if isinstance(value, str) and value and value[0] in "+-" and value[-1] in "hd":
            amount = int(value[:-1])
            delta = timedelta(hours=amount) if value[-1] == "h" else timedelta(days=amount)
            args[key] = now + delta
        else:
            args[key] = value
    with pytest.raises(ValidationError) as exc:
        services.access_request_submit(**args)
    assert field in exc.value.message_dict
    assert not AccessRequest.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="access.request").exists()


def test_future_start_refused_when_the_policy_forbids_it(role, staff_user):
    role.allow_future_start = False
    role.save()
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        services.access_request_submit(
            requester=staff_user,
            role=role,
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
            justification="x",
        )
    assert "starts_at" in exc.value.message_dict


def test_who_may_ask(role, staff_user, staff2, window, groups):
    # Nobody listed: any active user may ask
    services.access_request_submit(
        requester=staff2, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    # Listed by group: others are refused with a clear message
    role.requestable_by_groups.set([Group.objects.get(name="DPO")])
    with pytest.raises(PermissionDenied, match="You may not ask for the role"):
        services.access_request_submit(
            requester=staff_user,
            role=role,
            starts_at=window[0],
            ends_at=window[1],
            justification="x",
        )
    # Named users may
    role.requestable_by_users.set([staff_user])
    services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    # Inactive users never
    staff2.is_active = False
    staff2.save()
    with pytest.raises(PermissionDenied):
        services.access_request_submit(
            requester=staff2, role=role, starts_at=window[0], ends_at=window[1], justification="x"
        )


def test_a_second_pending_request_for_the_same_role_is_refused(role, staff_user, window):
    services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    with pytest.raises(ValidationError, match="already have a pending request"):
        services.access_request_submit(
            requester=staff_user,
            role=role,
            starts_at=window[0],
            ends_at=window[1],
            justification="x",
        )


def test_single_asset_request_takes_the_strictest_policy(asset, staff_user, approvers_group):
    loose = AccessRoleFactory(
        name="Loose",
        assets=[asset],
        approvals_required=1,
        max_duration=timedelta(hours=8),
        require_justification=False,
        can_change=True,
        pending_timeout=timedelta(days=3),
    )
    strict = AccessRoleFactory(
        name="Strict",
        assets=[asset],
        approvals_required=2,
        max_duration=timedelta(hours=2),
        require_ticket=True,
        ticket_pattern=r"INC-\d+",
        allow_future_start=False,
        pending_timeout=timedelta(hours=12),
    )
    policy = effective_policy(asset=asset)
    assert policy.approvals_required == 2
    assert policy.max_duration == timedelta(hours=2)
    assert policy.require_ticket and policy.require_justification is True
    assert not policy.allow_future_start
    assert policy.pending_timeout == timedelta(hours=12)
    assert policy.can_view and policy.can_change
    assert set(policy.roles) == {loose.name, strict.name}
    assert policy.ticket_matches("INC-12") and not policy.ticket_matches("XINC-12")
    # Rights come from the roles the user may ask for
    strict.requestable_by_users.set([staff_user])
    loose.requestable_by_groups.set([approvers_group])
    assert not effective_policy(asset=asset, user=staff_user).can_change
    # A special-category asset always needs the DPO
    asset.is_special = True
    assert effective_policy(asset=asset).dpo_required


def test_several_ticket_patterns_must_all_match(asset):
    AccessRoleFactory(name="A", assets=[asset], ticket_pattern=r"[A-Z]+-\d+")
    AccessRoleFactory(name="B", assets=[asset], ticket_pattern=r"INC-.*")
    policy = effective_policy(asset=asset)
    assert policy.ticket_matches("INC-5")
    assert not policy.ticket_matches("CHG-5")
    assert not policy.ticket_matches("INC-x")


def test_role_ticket_pattern_must_be_a_regex(asset):
    role = AccessRole(name="Bad pattern", ticket_pattern="INC-(\\d+")
    with pytest.raises(ValidationError) as exc:
        role.full_clean()
    assert "not a valid regular expression" in exc.value.message_dict["ticket_pattern"][0]
    role = AccessRole(
        name="Bad durations", default_duration=timedelta(hours=9), max_duration=timedelta(hours=8)
    )
    with pytest.raises(ValidationError) as exc:
        role.full_clean()
    assert "default_duration" in exc.value.message_dict


def test_role_change_is_audited_with_the_new_settings(role, dpo):
    role.approvals_required = 2
    role.save()
    event = services.access_role_record_change(role=role, actor=dpo, created=False)
    assert event.action == "access.role.changed"
    assert event.data["approvals_required"] == 2
    assert event.data["approver_groups"] == ["Approvers"]
    assert event.data["max_duration"] == 8 * 3600


def test_expiry_warning_and_approver_reminders(
    role, asset, staff_user, approver, run_on_commit, mailoutbox, settings
):
    role.remind_approvers_after = timedelta(hours=1)
    role.save()
    with time_machine.travel(T0, tick=False):
        request = services.access_request_submit(
            requester=staff_user,
            role=role,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=2),
            justification="x",
        )
        other = services.access_request_submit(
            requester=approver,
            role=role,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=6),
            justification="y",
        )
        services.access_request_approve(request_id=request.pk, approver=approver)
    # When a request waits longer than the role's reminder period, its approvers are reminded
    mailoutbox.clear()
    approver2 = UserFactory(username="approver2", groups=["Approvers"], is_staff=True)
    with time_machine.travel(T0 + role.remind_approvers_after, tick=False):
        counts = run_on_commit(services.access_reconcile)
    assert counts["reminded"] == 1  # the approved one is not pending any more
    other.refresh_from_db()
    assert other.reminded_at is not None
    assert other.remind_at == other.reminded_at + role.remind_approvers_after
    reminders = [m for m in mailoutbox if m.subject.startswith("Reminder")]
    # the approver asked for this one, so only the other approver is reminded
    assert [m.to for m in reminders] == [[approver2.email]]
    mailoutbox.clear()
    before = settings.JITPORTAL["EXPIRY_WARNING_BEFORE"]
    # When the end is near, the holder is warned once
    with time_machine.travel(T0 + timedelta(hours=2) - before, tick=False):
        counts = run_on_commit(services.access_reconcile)
        assert counts["warned"] == 1
        assert services.access_reconcile()["warned"] == 0
    warnings = [m for m in mailoutbox if "ends at" in m.subject]
    assert [m.to for m in warnings] == [[staff_user.email]]


def test_approval_after_the_window_has_ended_is_refused_and_lapses_it(role, staff_user, approver):
    with time_machine.travel(T0, tick=False):
        request = services.access_request_submit(
            requester=staff_user,
            role=role,
            starts_at=T0,
            ends_at=T0 + timedelta(hours=1),
            justification="x",
        )
    # A request lapses at the end of its window at the latest
    with (
        time_machine.travel(T0 + timedelta(hours=2), tick=False),
        pytest.raises(ValidationError, match="lapsed"),
    ):
        services.access_request_approve(request_id=request.pk, approver=approver)
    assert not Approval.objects.exists()
    request.refresh_from_db()
    assert request.status == RequestStatus.LAPSED


def test_approver_may_shorten_not_lengthen(role, staff_user, approver, window):
    request = services.access_request_submit(
        requester=staff_user, role=role, starts_at=window[0], ends_at=window[1], justification="x"
    )
    with pytest.raises(ValidationError) as exc:
        services.access_request_approve(
            request_id=request.pk, approver=approver, ends_at=window[1] + timedelta(hours=1)
        )
    assert "ends_at" in exc.value.message_dict
    assert not Approval.objects.exists()
    services.access_request_approve(
        request_id=request.pk, approver=approver, ends_at=window[0] + timedelta(minutes=30)
    )
    assert Grant.objects.get().ends_at == window[0] + timedelta(minutes=30)


def test_single_asset_request_creates_a_grant_on_that_asset_only(
    role, asset, staff_user, approver, window
):
    other = DataAssetFactory(name="Other")
    role.assets.add(other)
    request = services.access_request_submit(
        requester=staff_user,
        asset=asset,
        starts_at=window[0],
        ends_at=window[1],
        justification="x",
    )
    services.access_request_approve(request_id=request.pk, approver=approver)
    grant = Grant.objects.get()
    assert list(grant.assets.all()) == [asset]
    user = fresh(staff_user)
    assert user.has_perm("inventory.view_data", asset)
    assert not user.has_perm("inventory.view_data", other)


def test_demo_loader_is_idempotent(groups):
    from apps.demo.access import load_access_demo

    first = load_access_demo()
    second = load_access_demo()
    assert len(first["roles"]) == 3 and len(first["made"]) == 7
    assert second["made"] == [] and second["requests"] == first["requests"]
    statuses = set(AccessRequest.objects.values_list("status", flat=True))
    assert statuses == {"pending", "approved", "denied", "cancelled"}
    special = AccessRole.objects.get(name="Customer records: view and export")
    assert effective_policy(role=special).approvals_required == 1
    assert AccessRole.objects.get(name__startswith="Support tickets").approvals_required == 0


def test_record_view_is_logged_with_the_grant_and_asset(staff_user):
    from django.contrib.contenttypes.models import ContentType

    from apps.crm.models import Customer
    from tests.access.factories import GrantFactory

    asset = DataAssetFactory(
        name="Customers", governed_model=ContentType.objects.get_for_model(Customer)
    )
    customer = Customer.objects.create(external_ref="C-9", full_name="Grace Hopper")
    grant = GrantFactory(user=staff_user, assets=[asset])
    event = services.access_record_view_log(user=staff_user, obj=customer, grant=grant)
    assert event.action == "access.record.viewed" and event.actor == staff_user
    assert event.target_type == "crm.customer" and event.target_id == str(customer.pk)
    assert event.data == {"grant": grant.pk, "assets": [asset.pk], "model": "crm.customer"}
