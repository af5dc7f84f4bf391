"""Evidence keeps what it refers to: every foreign key an evidence row holds (found at run
time) protects its target, no path (ORM, queryset, raw SQL, admin single delete, admin bulk
delete) deletes a row that evidence refers to, and the admin deletes no evidence row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from apps.access.models import AccessRequest, Approval, Decision
from apps.reports.models import RopaSnapshot
from apps.retention.models import HoldBasis, HoldScope, PurgeRun
from apps.retention.services import legal_hold_lift, legal_hold_place
from jitportal.evidence import (
    EVIDENCE_MODELS,
    UNPROTECTED_REFERENCES,
    EvidenceDeleteRefusalMixin,
    evidence_foreign_keys,
    evidence_models,
    is_evidence,
)
from tests.access.factories import AccessRoleFactory, GrantFactory
from tests.factories import ProcessingActivityFactory, UserFactory
from tests.retention.conftest import hold_records
from tests.retention.factories import CustomerFactory, make_rule


def _allowed(field) -> tuple:
    # a part may go with its evidence whole (purged only by retention); nothing else goes
    if is_evidence(field.related_model):
        return (models.PROTECT, models.CASCADE)
    return (models.PROTECT,)


def test_every_foreign_key_of_evidence_protects_its_target():
    # given every foreign key of every evidence model, found at run time
    pairs = evidence_foreign_keys()
    assert len(pairs) >= 20
    # then each one to a row that is not evidence is PROTECT (or a documented exception)
    loose = [
        f"{model._meta.label}.{field.name} ({field.remote_field.on_delete.__name__})"
        for model, field in pairs
        if field.remote_field.on_delete not in _allowed(field)
        and (model._meta.label, field.name) not in UNPROTECTED_REFERENCES
    ]
    assert loose == []


@pytest.mark.django_db
def test_no_evidence_row_is_deleted_in_the_admin(rf):
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    request = rf.get("/")
    request.user = superuser
    for model in evidence_models():
        model_admin = admin.site._registry.get(model)
        if model_admin is not None:
            assert not model_admin.has_delete_permission(request), model._meta.label
        for registered in admin.site._registry.values():
            for inline in registered.get_inline_instances(request):
                if inline.model is model:
                    assert not inline.has_delete_permission(request), (inline, model)


def test_every_many_to_many_of_evidence_goes_through_an_evidence_model():
    # a many-to-many on evidence is rows of evidence too: its table must be walked
    for model in evidence_models():
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            assert through._meta.label in EVIDENCE_MODELS, (
                f"{model._meta.label}.{field.name} needs an explicit through model in "
                "EVIDENCE_MODELS with PROTECT foreign keys"
            )


def _evidence_graph():
    """One row of every evidence model, with every foreign key it can hold set."""
    dpo = UserFactory(username="graph-dpo", is_staff=True)
    activity = ProcessingActivityFactory()
    role = AccessRoleFactory()
    grant = GrantFactory(
        request__role=role,
        request__processing_activity=activity,
        request__decided_by=dpo,
        revoked_by=dpo,
        revoked_at=timezone.now(),
        reviewed_by=dpo,
    )
    asset = role.assets.get()
    Approval.objects.create(request=grant.request, approver=dpo, decision=Decision.APPROVE)
    AccessRequest.objects.create(
        requester=grant.user,
        asset=asset,
        starts_at=grant.ends_at,
        ends_at=grant.ends_at + timedelta(hours=1),
        extends_grant=grant,
    )
    rule = make_rule(actor=dpo)
    PurgeRun.objects.create(
        rule=rule, trigger="admin", started_by=dpo, actor_label="graph-dpo", action="delete"
    )
    review_on = timezone.localdate() + timedelta(days=30)
    for scope, target in ((HoldScope.ASSET, {"asset": asset}), (HoldScope.RULE, {"rule": rule})):
        hold = legal_hold_place(
            scope=scope,
            basis=HoldBasis.ART_17_3_E,
            reason="Claim",
            review_on=review_on,
            actor=dpo,
            **target,
        )
    legal_hold_lift(hold_id=hold.pk, actor=dpo, reason="Settled")
    hold_records(CustomerFactory(), actor=dpo)
    RopaSnapshot.objects.create(
        taken_by=dpo, taken_by_label="graph-dpo", schema_version=1, content={}, digest="0" * 64
    )


def _still_there(obj) -> bool:
    return type(obj)._default_manager.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_nothing_evidence_refers_to_can_be_deleted_by_any_path(client):
    # given one row of every evidence model, each foreign key set
    _evidence_graph()
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(superuser)
    covered: set[tuple[str, str]] = set()
    for model, field in evidence_foreign_keys():
        key = (model._meta.label, field.name)
        if key in UNPROTECTED_REFERENCES or is_evidence(field.related_model):
            continue
        for row in model._default_manager.exclude(**{f"{field.attname}__isnull": True})[:1]:
            target = getattr(row, field.name)
            covered.add(key)
            # when it is deleted through the ORM, one row or a queryset: refused
            with pytest.raises(ProtectedError), transaction.atomic():
                target.delete()
            with pytest.raises(ProtectedError), transaction.atomic():
                type(target)._default_manager.filter(pk=target.pk).delete()
            # when it is deleted by raw SQL: the database refuses (no cascade)
            if connection.vendor == "postgresql":
                table = connection.ops.quote_name(type(target)._meta.db_table)
                with (
                    pytest.raises(IntegrityError),
                    transaction.atomic(),
                    connection.cursor() as cursor,
                ):
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute(f"DELETE FROM {table} WHERE id = %s", [target.pk])
            # when it is deleted in the admin, on its page or by the bulk action: refused
            model_admin = admin.site._registry.get(type(target))
            if model_admin is not None:
                opts = type(target)._meta
                page = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[target.pk])
                shown = client.get(page)
                assert shown.status_code in (200, 403)
                if isinstance(model_admin, EvidenceDeleteRefusalMixin):
                    assert "cannot be deleted" in shown.content.decode()
                    assert "instead" in shown.content.decode()
                client.post(page, {"post": "yes"})
                changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
                client.post(
                    changelist,
                    {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"},
                )
            # then it is still there, and the evidence still refers to it
            assert _still_there(target), key
            assert getattr(model._default_manager.get(pk=row.pk), field.attname) == target.pk
    # and the graph reached every foreign key (extend _evidence_graph for a new one)
    expected = {
        (m._meta.label, f.name)
        for m, f in evidence_foreign_keys()
        if (m._meta.label, f.name) not in UNPROTECTED_REFERENCES
        and not is_evidence(f.related_model)
    }
    assert expected - covered == set()
