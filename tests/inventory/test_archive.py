"""A data asset that evidence refers to is archived, never deleted: the example of a live,
mirrored grant, and what archiving hides and keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from guardian.models import UserObjectPermission

from apps.access.models import Grant
from apps.access.selectors import requestable_assets_for, requestable_roles_for
from apps.access.services import access_request_submit, mirror_add
from apps.audit.models import AuditEvent
from apps.inventory.models import DataAsset
from apps.inventory.services import data_asset_archive, data_asset_unarchive
from apps.reports.datamap import data_map_build
from apps.reports.registers import access_register
from tests.access.factories import AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, ProcessingActivityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mirrored_grant():
    """A live grant on one asset (through a role), its guardian mirror rows written."""
    asset = DataAssetFactory(name="Customers")
    role = AccessRoleFactory(assets=[asset])
    grant = GrantFactory(request__role=role)
    mirror_add(grant_ids=[grant.pk])
    Grant.objects.filter(pk=grant.pk).update(mirrored=True)
    return grant, asset


def _guardian_rows(asset: DataAsset):
    ct = ContentType.objects.get_for_model(DataAsset)
    return UserObjectPermission.objects.filter(content_type=ct, object_pk=str(asset.pk))


def _register_assets(grant: Grant) -> list[str]:
    now = timezone.now()
    rows = access_register(
        start=now - timedelta(days=1), end=now + timedelta(days=1), now=now, user_id=grant.user_id
    )
    return [row["assets"] for row in rows]


def test_deleting_an_asset_with_a_live_mirrored_grant_is_refused_in_the_admin(
    client, dpo, mirrored_grant
):
    grant, asset = mirrored_grant
    dpo.is_superuser = True
    dpo.save()
    client.force_login(dpo)
    mirror_rows = _guardian_rows(asset).count()
    assert mirror_rows >= 1
    page = reverse("admin:inventory_dataasset_delete", args=[asset.pk])
    # when the DPO opens the delete page, then it says why not and what to do instead
    shown = client.get(page).content.decode()
    assert "cannot be deleted: evidence that is kept refers to it" in shown
    assert "grants (data assets covered): 1" in shown
    assert "Archive it instead" in shown
    # when the DPO confirms anyway, and when the bulk delete action is used
    client.post(page, {"post": "yes"})
    client.post(
        reverse("admin:inventory_dataasset_changelist"),
        {"action": "delete_selected", "_selected_action": [asset.pk], "post": "yes"},
    )
    # then the asset, the grant's hold on it, the mirror rows and the register all remain
    assert DataAsset.objects.filter(pk=asset.pk).exists()
    assert list(grant.assets.all()) == [asset]
    assert _guardian_rows(asset).count() == mirror_rows
    assert _register_assets(grant) == [str(asset)]


def test_deleting_an_asset_with_a_grant_is_refused_by_the_orm_too(mirrored_grant):
    from django.db.models import ProtectedError

    grant, asset = mirrored_grant
    with pytest.raises(ProtectedError):
        asset.delete()
    assert list(grant.assets.all()) == [asset]


def test_archiving_hides_the_asset_from_new_requests_and_current_reports_and_keeps_it(
    client, dpo, mirrored_grant
):
    grant, asset = mirrored_grant
    requester = UserFactory()
    activity = ProcessingActivityFactory()
    activity.assets.add(asset)
    role = grant.request.role
    assert asset in requestable_assets_for(requester)
    assert f"asset:{asset.pk}" in data_map_build().nodes
    client.force_login(dpo)
    # when the DPO archives it with the admin action
    client.post(
        reverse("admin:inventory_dataasset_changelist"),
        {"action": "archive_assets", "_selected_action": [asset.pk]},
    )
    asset.refresh_from_db()
    # then it is archived, audited, and no longer offered or reported as current
    assert asset.archived_at is not None
    assert AuditEvent.objects.filter(
        action="inventory.asset.archived", target_id=str(asset.pk), actor=dpo
    ).exists()
    assert asset not in requestable_assets_for(requester)
    offered_role = requestable_roles_for(requester).get(pk=role.pk)
    assert list(offered_role.assets.all()) == []
    client.force_login(requester)
    form = client.get(reverse("access-request-create")).content.decode()
    assert f"asset-{asset.pk}" not in form
    now = timezone.now()
    with pytest.raises(ValidationError, match="archived"):
        access_request_submit(
            requester=requester,
            asset=asset,
            starts_at=now,
            ends_at=now + timedelta(hours=1),
            justification="Follow-up",
            processing_activity=activity,
        )
    assert f"asset:{asset.pk}" not in data_map_build().nodes
    # and the grant and the register keep it
    assert list(grant.assets.all()) == [asset]
    assert _register_assets(grant) == [str(asset)]
    # when it is archived again, then that is refused and nothing changes
    with pytest.raises(ValidationError, match="already archived"):
        data_asset_archive(asset_id=asset.pk, actor=dpo)
    # when it is unarchived, then it is offered again, audited
    data_asset_unarchive(asset_id=asset.pk, actor=dpo)
    assert asset in requestable_assets_for(requester)
    assert AuditEvent.objects.filter(action="inventory.asset.unarchived").count() == 1
