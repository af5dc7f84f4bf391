"""Writes of the CRM pages: the access log of list pages.

A detail page logs its one record through ``apps.access.services.access_record_view_log``.
A list page shows many records at once: it writes one ``access.records.listed`` event naming
the ids it showed (one chain lock and one row instead of one per record).

The trail outlives the records and auditors read it without a grant, so these events hold
ids and keyed digests only: never a name, a search term or other text from a record.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from apps.access.models import Grant
from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record, audit_search_term_digest
from apps.inventory.models import DataAsset


def records_listed_log(
    *,
    user: AbstractBaseUser,
    model: type[models.Model],
    ids: Sequence[int],
    asset: DataAsset | None,
    grant: Grant | None,
    query: str = "",
    page: int = 1,
) -> AuditEvent:
    """Record that ``user`` was shown the rows ``ids`` of ``model`` under ``grant``.

    ``data = {"grant", "assets", "model", "ids", "query_digest", "page"}``: the search typed is
    stored only as ``audit_search_term_digest(query)`` (HMAC-SHA256, "" for no search; GDPR
    Art. 5(1)(c)). Without a grant (``grant=None``: a superuser in the admin) the event is
    ``access.records.listed_as_superuser`` with no target, grant or assets.
    """
    data = {
        # The same keys as access.record.viewed, plus the ids shown.
        "grant": grant.pk if grant is not None else None,
        "assets": [asset.pk] if asset is not None else [],
        "model": model._meta.label_lower,
        "ids": [int(pk) for pk in ids],
        "query_digest": audit_search_term_digest(query),
        "page": page,
    }
    if grant is None:
        return audit_event_record(
            action="access.records.listed_as_superuser", actor=user, data=data
        )
    return audit_event_record(action="access.records.listed", actor=user, target=grant, data=data)
