"""One audit story: the hash chain records decisions; django-auditlog records admin edits.

The rule (docs/audit.md): a model of the portal is registered with django-auditlog exactly
when people add or change it in the admin (the register, roles, retention rules and their
anonymised fields, legal holds). Rows that services and bulk paths write (requests, approvals,
grants, purge runs, hold records, reports, the audit trail itself) are recorded by the hash
chain only, and the admin's LogEntry is not written for them either.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry as FieldHistory
from auditlog.registry import auditlog
from django.contrib import admin
from django.contrib.admin.models import LogEntry as AdminLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.access import services
from apps.access.models import AccessRequest, Grant, GrantStatus, RequestStatus
from apps.audit.models import AuditEvent
from apps.crm.admin import GrantGatedAdmin
from tests.access.factories import AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, UserFactory

pytestmark = pytest.mark.django_db

PORTAL_APPS = {"inventory", "access", "audit", "crm", "retention", "reports"}


def _edited_by_people_in_the_admin() -> set[type]:
    """Models of the portal someone may add or change through an admin form (inlines too),
    discovered from the admin site as a superuser sees it. Governed records (crm) are left out:
    their reads and changes are recorded per grant in the audit trail, and a field-level copy
    of them would keep personal data longer than the records themselves."""
    request = RequestFactory().get("/admin/")
    request.user = get_user_model()(is_active=True, is_staff=True, is_superuser=True)
    found: set[type] = set()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PORTAL_APPS or isinstance(model_admin, GrantGatedAdmin):
            continue
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            found.add(model)
            for inline_class in model_admin.inlines:
                inline = inline_class(model, admin.site)
                if inline.has_add_permission(request, None) or inline.has_change_permission(
                    request
                ):
                    found.add(inline.model)
    return found


def test_auditlog_is_registered_exactly_where_people_edit_in_the_admin():
    # given the models registered with django-auditlog and the admin site, walked at run time
    registered = {m for m in auditlog.get_models() if m._meta.app_label in PORTAL_APPS}
    edited = _edited_by_people_in_the_admin()
    # then they are the same models: roles, the register, rules with their fields, holds
    assert registered == edited
    labels = {m._meta.label for m in registered}
    assert {"access.AccessRole", "retention.RetentionRule", "retention.LegalHold"} <= labels
    assert not labels & {"access.AccessRequest", "access.Grant", "retention.PurgeRun"}


def test_a_grant_expired_by_the_reconcile_has_one_history_and_it_ends_expired(groups):
    # given a grant scheduled to start in an hour for two hours, activated by the reconcile
    start = timezone.now() + timedelta(hours=1)
    grant = GrantFactory(starts_at=start, ends_at=start + timedelta(hours=2))
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert services.access_reconcile()["activated"] == 1
    # when the reconcile expires it in bulk after its end
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        counts = services.access_reconcile()
    # then the audit trail tells the whole story, and no second trail stops at "active"
    assert counts["expired"] == 1
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.EXPIRED
    actions = list(
        AuditEvent.objects.for_target(grant).order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["access.grant.activated", "access.grant.expired"]
    assert not FieldHistory.objects.get_for_object(grant).exists()


def test_an_approval_in_the_admin_is_recorded_once_in_the_chain(client, groups):
    # given a request one approver decides
    approver = UserFactory(groups=["Approvers"], is_staff=True)
    role = AccessRoleFactory(
        assets=[DataAssetFactory()],
        approver_groups=[Group.objects.get(name="Approvers")],
        approve_by_asset_owner=False,
        approve_by_steward_group=False,
    )
    now = timezone.now()
    request = services.access_request_submit(
        requester=UserFactory(),
        role=role,
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        justification="Customer case 17",
    )
    client.force_login(approver)
    # when the approver approves in the admin
    response = client.post(
        reverse("admin:access_accessrequest_decide", args=[request.pk, "approve"]),
        {"comment": "ok"},
    )
    # then it is approved, the chain has the decision, and no other trail repeats it
    assert response.status_code == 302
    assert AccessRequest.objects.get(pk=request.pk).status == RequestStatus.APPROVED
    assert AuditEvent.objects.filter(action="access.request.approved", actor=approver).count() == 1
    assert not AdminLog.objects.filter(user=approver).exists()
    assert not FieldHistory.objects.get_for_object(request).exists()


def test_a_retention_rule_edited_in_the_admin_has_field_history(dpo, client):
    # given the DPO edits a rule's period in the admin
    from tests.retention.factories import make_rule

    rule = make_rule(actor=dpo)
    client.force_login(dpo)
    url = reverse("admin:retention_retentionrule_change", args=[rule.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in {**form.initial, **{k: form[k].value() for k in form.fields}}.items()
        if value is not None
    }
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    data["period_amount"] = 7
    if isinstance(data.get("filter"), dict):
        import json

        data["filter"] = json.dumps(data["filter"])
    response = client.post(url, data)
    # then django-auditlog has the change with its user
    assert response.status_code == 302, response.context and response.context["errors"]
    change = FieldHistory.objects.get_for_object(rule).order_by("-pk").first()
    assert change is not None and change.actor == dpo
    assert change.changes_dict["period_amount"] == ["6", "7"]


def test_a_legal_hold_has_field_history_from_placing_to_lifting(dpo):
    # given a hold placed on records and then lifted
    from auditlog.context import set_actor

    from apps.retention.services import legal_hold_lift
    from tests.retention.conftest import hold_records
    from tests.retention.factories import CustomerFactory

    with set_actor(dpo):
        hold = hold_records(CustomerFactory(), actor=dpo)
        legal_hold_lift(hold_id=hold.pk, actor=dpo, reason="Claim settled")
    # then django-auditlog shows both changes of the hold's fields, with the DPO
    history = list(FieldHistory.objects.get_for_object(hold).order_by("pk"))
    assert [entry.action for entry in history] == [
        FieldHistory.Action.CREATE,
        FieldHistory.Action.UPDATE,
    ]
    assert all(entry.actor == dpo for entry in history)
    assert "lifted_at" in history[-1].changes_dict
