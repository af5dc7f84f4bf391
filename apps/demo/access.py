"""Demo access policies and requests in various states, for the demo organisation.

Called by ``manage.py load_demo`` after the inventory and CRM demos. Idempotent: roles are
found by name and each demo request is made only when it is not there yet. Every request,
approval and grant goes through the services, so the audit trail is the real one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, AccessRole, Grant
from apps.inventory.gdpr import Sensitivity
from apps.inventory.models import DataAsset, ProcessingActivity, System
from apps.inventory.roles import APPROVERS, DPO, STAFF

DEMO_USERS = {
    "dpo": ("Dana", "Okafor", DPO, True),
    "approver": ("Aron", "Keane", APPROVERS, True),
    "approver2": ("Brid", "Walsh", APPROVERS, True),
    "staff": ("Sam", "Byrne", STAFF, False),
    "staff2": ("Tess", "Nolan", STAFF, False),
}

# (system, asset name, sensitivity) the roles are built on; made if the inventory lacks them.
ASSETS = {
    "tickets": ("CRM", "Support tickets", Sensitivity.CONFIDENTIAL),
    "marketing": ("CRM", "Marketing preferences", Sensitivity.INTERNAL),
    "customers": ("CRM", "Customers", Sensitivity.RESTRICTED),
    "employees": ("HR system", "Employee records", Sensitivity.CONFIDENTIAL),
    "candidates": ("HR system", "Recruitment candidates", Sensitivity.CONFIDENTIAL),
}

ROLES: tuple[dict[str, Any], ...] = (
    {
        "name": "Support tickets: read (low risk)",
        "description": "Read support tickets and marketing preferences to answer a customer. "
        "Approved automatically; short windows only.",
        "assets": ("tickets", "marketing"),
        "approvals_required": 0,
        "default_duration": timedelta(hours=2),
        "max_duration": timedelta(hours=4),
        "require_justification": True,
        "requestable_by": (STAFF,),
    },
    {
        "name": "Customer records: view and export",
        "description": "Customer master records including accessibility and medical needs "
        "(Art. 9). The DPO approves as well as an approver.",
        "assets": ("customers",),
        "approvals_required": 1,
        "require_dpo": True,
        "can_export": True,
        "default_duration": timedelta(hours=2),
        "max_duration": timedelta(hours=8),
        "require_ticket": True,
        "ticket_pattern": r"(INC|CASE)-\d+",
        "ticket_hint": "an incident or case number, e.g. INC-1234 or CASE-567",
        "pending_timeout": timedelta(days=1),
        "requestable_by": (STAFF,),
    },
    {
        "name": "HR records: view and change (two approvers)",
        "description": "Employee and candidate records. Two distinct approvers decide.",
        "assets": ("employees", "candidates"),
        "approvals_required": 2,
        "can_change": True,
        "default_duration": timedelta(hours=4),
        "max_duration": timedelta(days=1),
        "requestable_by": (STAFF,),
    },
)


def _log(stdout: TextIO | None, message: str) -> None:
    if stdout is not None:
        stdout.write(f"  {message}\n")


def _users() -> dict[str, Any]:
    User = get_user_model()
    users = {}
    for username, (first, last, group, is_staff) in DEMO_USERS.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@example.org",
                is_staff=is_staff,
            )
            user.set_password(f"{username}-demo-pass")
            user.full_clean()
            user.save()
        user.groups.add(Group.objects.get_or_create(name=group)[0])
        users[username] = user
    return users


def _assets() -> dict[str, DataAsset]:
    found = {}
    for key, (system_name, name, sensitivity) in ASSETS.items():
        asset = DataAsset.objects.filter(system__name=system_name, name=name).first()
        if asset is None:
            system, _ = System.objects.get_or_create(name=system_name)
            asset = DataAsset(system=system, name=name, sensitivity=sensitivity)
            asset.full_clean()
            asset.save()
        found[key] = asset
    return found


def _roles(
    assets: dict[str, DataAsset], stdout: TextIO | None
) -> tuple[dict[str, AccessRole], list[AccessRole]]:
    """The demo roles by name, and the ones this run created (their change is recorded by
    the caller, outside this transaction: access services open their own)."""
    approvers = Group.objects.get_or_create(name=APPROVERS)[0]
    roles = {}
    created = []
    for spec in ROLES:
        spec = dict(spec)
        name = spec.pop("name")
        role = AccessRole.objects.filter(name=name).first()
        if role is not None:
            if spec.get("ticket_hint") and not role.ticket_hint:
                # A demo loaded before roles had ticket hints gets its hint.
                role.ticket_hint = spec["ticket_hint"]
                role.save(update_fields=["ticket_hint", "updated_at"])
            roles[name] = role
            continue
        asset_keys = spec.pop("assets")
        requestable_by = spec.pop("requestable_by")
        role = AccessRole(name=name, **spec)
        role.full_clean()
        role.save()
        role.assets.set([assets[k] for k in asset_keys])
        role.approver_groups.set([approvers])
        role.requestable_by_groups.set(
            [Group.objects.get_or_create(name=g)[0] for g in requestable_by]
        )
        _log(stdout, f"role: {name}")
        roles[name] = role
        created.append(role)
    return roles, created


def _once(requester, justification: str) -> bool:
    return not AccessRequest.objects.filter(
        requester=requester, justification=justification
    ).exists()


def load_access_demo(*, stdout: TextIO | None = None) -> dict[str, Any]:
    """Roles over the demo assets and requests/grants in several states. Idempotent."""
    users = _users()
    assets = _assets()
    with transaction.atomic():
        roles, created = _roles(assets, stdout)
    for role in created:
        services.access_role_record_change(
            role=role, actor=None, actor_label="system:command", created=True
        )
    low, special, hr = (roles[spec["name"]] for spec in ROLES)
    now = timezone.now()
    staff, staff2 = users["staff"], users["staff2"]
    approver, approver2, dpo = users["approver"], users["approver2"], users["dpo"]

    def ask(user, role, why, *, start=timedelta(0), hours=2, ticket="", purpose=""):
        # The purpose is the inventory demo's processing activity of that name, when loaded.
        return services.access_request_submit(
            requester=user,
            role=role,
            starts_at=now + start,
            ends_at=now + start + timedelta(hours=hours),
            justification=why,
            ticket=ticket,
            processing_activity=ProcessingActivity.objects.filter(
                name=purpose, is_active=True
            ).first(),
        )

    made = []
    why = "Answering ticket follow-ups for the morning queue."
    if _once(staff, why):
        # approved at once: an active grant
        ask(staff, low, why, hours=3, purpose="Customer support")
        made.append("staff: active grant (auto-approved)")
    why = "Customer asked for a copy of their record (subject access request)."
    if _once(staff, why):
        # waits for an approver and the DPO
        ask(staff, special, why, ticket="CASE-1042", purpose="Customer account management")
        made.append("staff: pending, needs approver + DPO")
    why = "Check a candidate's references before the interview."
    if _once(staff2, why):
        req = ask(staff2, hr, why, start=timedelta(hours=1), hours=2, purpose="Recruitment")
        services.access_request_deny(
            request_id=req.pk,
            approver=approver2,
            reason="Recruitment asks through HR, not directly.",
        )
        made.append("staff2: denied")
    why = "Payroll correction for two employees next week."
    if _once(staff2, why):
        req = ask(staff2, hr, why, start=timedelta(days=1), hours=4, purpose="Payroll")
        services.access_request_approve(request_id=req.pk, approver=approver, comment="OK by me")
        made.append("staff2: pending, 1 of 2 approvals in")
    why = "Quarterly complaints review with the team lead."
    if _once(staff2, why):
        req = ask(
            staff2,
            special,
            why,
            start=timedelta(days=2),
            hours=3,
            ticket="INC-2231",
            purpose="Customer support",
        )
        services.access_request_approve(request_id=req.pk, approver=approver)
        services.access_request_approve(request_id=req.pk, approver=dpo, comment="Art. 9(2)(f)")
        made.append("staff2: approved, scheduled for later")
    why = "Looked up one ticket; done early."
    if _once(staff2, why):
        req = ask(staff2, low, why, purpose="Customer support")
        services.grant_relinquish(grant_id=req.grant.pk, actor=staff2)
        made.append("staff2: given back early")
    why = "Wrong form; asked again."
    if _once(staff, why):
        req = ask(staff, hr, why, start=timedelta(days=3), purpose="Payroll")
        services.access_request_cancel(request_id=req.pk, actor=staff)
        made.append("staff: cancelled")
    for line in made:
        _log(stdout, line)
    return {
        "roles": sorted(roles),
        "requests": AccessRequest.objects.count(),
        "grants": Grant.objects.count(),
        "made": made,
    }
