"""Writes of the CRM pages: the access log of list pages.

A detail page logs its one record through ``apps.access.services.access_record_view_log``.
A list page shows many records at once: it writes one ``access.records.listed`` event naming
the ids it showed (one chain lock and one row instead of one per record).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from apps.access.models import Grant
from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record
from apps.inventory.models import DataAsset


def records_listed_log(
    *,
    user: AbstractBaseUser,
    model: type[models.Model],
    ids: Sequence[int],
    asset: DataAsset,
    grant: Grant,
    query: str = "",
    page: int = 1,
) -> AuditEvent:
    """Record that ``user`` was shown the rows ``ids`` of ``model`` under ``grant``."""
    return audit_event_record(
        action="access.records.listed",
        actor=user,
        target=grant,
        data={
            # The same keys as access.record.viewed, plus the ids shown.
            "grant": grant.pk,
            "assets": [asset.pk],
            "model": model._meta.label_lower,
            "ids": [int(pk) for pk in ids],
            "query": query,
            "page": page,
        },
    )
