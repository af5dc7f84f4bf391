"""Writes to the inventory that are more than a plain admin save."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record
from jitportal.formats import date_display
from jitportal.inputs import PROSE, checks_text

from .gdpr import CategoryKind
from .models import DataAsset


def data_asset_sync_special(*, asset_ids: Iterable[int] | None = None) -> int:
    """Recompute ``is_special`` for the given assets (all when None); returns rows changed."""
    special_link = DataAsset.categories.through.objects.filter(dataasset_id=OuterRef("pk")).exclude(
        datacategory__kind=CategoryKind.ORDINARY
    )
    qs = DataAsset.objects.all()
    if asset_ids is not None:
        qs = qs.filter(pk__in=list(asset_ids))
    changed = 0
    # Derived column: a plain update of the flag only, no audited field changes.
    changed += qs.filter(Exists(special_link), is_special=False).update(is_special=True)
    changed += qs.filter(~Exists(special_link), is_special=True).update(is_special=False)
    return changed


@checks_text(reason=PROSE)
def data_asset_archive(*, asset_id: int, actor: Any, reason: str = "") -> DataAsset:
    """Archive an asset: no longer offered for new requests, in the request form, the
    requestable lists or the reports of the current state (ROPA, data map); kept, with the
    grants, requests, rules and holds that refer to it, for the registers and history.

    The way out for an asset that evidence refers to and so cannot be deleted
    (jitportal/evidence.py). Audited as ``inventory.asset.archived``. Raises ValidationError
    when it is already archived, DataAsset.DoesNotExist for an unknown id. Live grants on it
    keep their window. Returns the archived asset.
    """
    with transaction.atomic(durable=True):
        locked = DataAsset.objects.select_for_update().get(pk=asset_id)
        if locked.archived_at is not None:
            raise ValidationError(
                _("“%(asset)s” was already archived on %(date)s.")
                % {"asset": locked, "date": date_display(locked.archived_at)}
            )
        locked.archived_at = timezone.now()
        locked.save(update_fields=["archived_at", "updated_at"])
        audit_event_record(
            action="inventory.asset.archived",
            actor=_user(actor),
            actor_label=_label(actor),
            target=locked,
            reason=(reason or "").strip(),
            data={"asset_id": locked.pk, "archived_at": locked.archived_at},
        )
    return locked


@checks_text(reason=PROSE)
def data_asset_unarchive(*, asset_id: int, actor: Any, reason: str = "") -> DataAsset:
    """Bring an archived asset back into use (offered and reported again); audited as
    ``inventory.asset.unarchived``. Raises ValidationError when it is not archived."""
    with transaction.atomic(durable=True):
        locked = DataAsset.objects.select_for_update().get(pk=asset_id)
        if locked.archived_at is None:
            raise ValidationError(_("“%(asset)s” is not archived.") % {"asset": locked})
        archived_at = locked.archived_at
        locked.archived_at = None
        locked.save(update_fields=["archived_at", "updated_at"])
        audit_event_record(
            action="inventory.asset.unarchived",
            actor=_user(actor),
            actor_label=_label(actor),
            target=locked,
            reason=(reason or "").strip(),
            data={"asset_id": locked.pk, "archived_at": archived_at},
        )
    return locked


def _user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _label(actor: Any) -> str:
    user = _user(actor)
    return user.get_username() if user is not None else "system"
