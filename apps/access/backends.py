"""Object permissions answered from grants, at the moment of use.

``GrantBackend`` is listed after ``ModelBackend`` in ``AUTHENTICATION_BACKENDS``. It answers
``user.has_perm(perm, obj)`` for

* a ``DataAsset``: ``inventory.view_data`` / ``inventory.change_data`` / ``inventory.export_data``;
* a governed row (a model some asset names as ``governed_model``): ``<app>.view_<model>``,
  ``<app>.change_<model>`` and ``<app>.export_<model>``, mapped to the same three rights.

The user's grants that have not ended are loaded in ONE query and kept on the user object
with their windows, so every call still compares the window with the clock: a grant stops
counting the instant it ends, whatever beat, the worker or Redis are doing (docs/architecture.md, invariant 1).
The django-guardian rows are a mirror for other readers, never consulted here.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.inventory.models import DataAsset

CACHE_ATTR = "_access_grant_cache"
# A user object living longer than a request (shell, worker) reloads its grants this often.
CACHE_MAX_AGE_SECONDS = 30.0
_ACTION_INDEX = {"view": 0, "change": 1, "export": 2}

# (starts_at, ends_at, can_view, can_change, can_export)
Window = tuple[datetime, datetime, bool, bool, bool]


class GrantSet:
    """A user's not-yet-ended grants, by asset and by governed model."""

    __slots__ = ("by_asset", "by_model", "loaded_at")

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        by_asset: dict[int, list[Window]] = defaultdict(list)
        by_model: dict[int, set[int]] = defaultdict(set)
        for asset_id, model_id, starts_at, ends_at, view, change, export in rows:
            by_asset[asset_id].append((starts_at, ends_at, view, change, export))
            if model_id is not None:
                by_model[model_id].add(asset_id)
        self.by_asset = dict(by_asset)
        self.by_model = {k: tuple(v) for k, v in by_model.items()}
        self.loaded_at = time.monotonic()

    def allows(self, asset_id: int, index: int, now: datetime) -> bool:
        for window in self.by_asset.get(asset_id, ()):
            if window[2 + index] and window[0] <= now < window[1]:
                return True
        return False

    def allows_model(self, model_id: int, index: int, now: datetime) -> bool:
        return any(self.allows(a, index, now) for a in self.by_model.get(model_id, ()))


def _load(user_obj: Any) -> GrantSet:
    from .models import Grant

    rows = Grant.assets.through.objects.filter(
        grant__user_id=user_obj.pk,
        grant__revoked_at__isnull=True,
        grant__ends_at__gt=timezone.now(),
    ).values_list(
        "dataasset_id",
        "dataasset__governed_model_id",
        "grant__starts_at",
        "grant__ends_at",
        "grant__can_view",
        "grant__can_change",
        "grant__can_export",
    )
    return GrantSet(list(rows))


def grant_set_for(user_obj: Any) -> GrantSet:
    cached = getattr(user_obj, CACHE_ATTR, None)
    if cached is None or time.monotonic() - cached.loaded_at > CACHE_MAX_AGE_SECONDS:
        cached = _load(user_obj)
        setattr(user_obj, CACHE_ATTR, cached)
    return cached


def grant_cache_clear(user_obj: Any) -> None:
    """Forget the grants cached on this user object (after a service changed them)."""
    if user_obj is not None and hasattr(user_obj, CACHE_ATTR):
        delattr(user_obj, CACHE_ATTR)


def _split(perm: str) -> tuple[str, str, str] | None:
    """'inventory.view_data' -> ('inventory', 'view', 'data')."""
    app_label, _, codename = perm.partition(".")
    action, _, model = codename.partition("_")
    if not model or action not in _ACTION_INDEX:
        return None
    return app_label, action, model


class GrantBackend(BaseBackend):
    """Answers object permissions from live grants; never authenticates anybody."""

    def authenticate(self, request, **credentials):
        return None

    def _active(self, user_obj: Any) -> bool:
        return bool(
            user_obj is not None
            and user_obj.is_active
            and not user_obj.is_anonymous
            and user_obj.pk is not None
        )

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if obj is None or not self._active(user_obj):
            return False
        parts = _split(perm)
        if parts is None:
            return False
        app_label, action, model = parts
        index = _ACTION_INDEX[action]
        if isinstance(obj, DataAsset):
            if app_label != "inventory" or model != "data":
                return False
            return grant_set_for(user_obj).allows(obj.pk, index, timezone.now())
        meta = obj._meta.concrete_model._meta
        if app_label != meta.app_label or model != meta.model_name:
            return False
        ct = ContentType.objects.get_for_model(obj, for_concrete_model=True)
        return grant_set_for(user_obj).allows_model(ct.pk, index, timezone.now())

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is None or not self._active(user_obj):
            return set()
        now = timezone.now()
        grants = grant_set_for(user_obj)
        if isinstance(obj, DataAsset):
            return {
                f"inventory.{action}_data"
                for action, index in _ACTION_INDEX.items()
                if grants.allows(obj.pk, index, now)
            }
        meta = obj._meta.concrete_model._meta
        ct = ContentType.objects.get_for_model(obj, for_concrete_model=True)
        return {
            f"{meta.app_label}.{action}_{meta.model_name}"
            for action, index in _ACTION_INDEX.items()
            if grants.allows_model(ct.pk, index, now)
        }
