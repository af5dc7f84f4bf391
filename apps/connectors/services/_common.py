"""What the connector services share: settings, the grant context, failures and backoff."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from apps.access.models import Grant, NoticeKind
from apps.access.outbox import notice_record
from apps.audit.services import audit_event_record
from jitportal.timekeeping import elapsed_add

from ..base import ACTIONS, ConnectorError, GrantContext
from ..models import Provisioning, ProvisioningState, TargetBinding

logger = logging.getLogger("apps.connectors")

#: Who acts when no person does (the worker, beat).
SYSTEM_CONNECTORS = "system:connectors"

# The registered names of the connector tasks (apps/connectors/tasks.py).
TASK_PROVISION = "connectors.provision"
TASK_DEPROVISION = "connectors.deprovision"
TASK_REFRESH = "connectors.refresh"
TASK_GRANT_END = "connectors.grant_end"


def conf(name: str) -> Any:
    return settings.CONNECTORS[name]


def retry_delay(tries: int) -> timedelta:
    """Exponential backoff: RETRY_SECONDS × 2^(tries − 1), at most RETRY_MAX_SECONDS."""
    base, cap = conf("RETRY_SECONDS"), conf("RETRY_MAX_SECONDS")
    return timedelta(seconds=min(cap, base * 2 ** max(0, min(tries - 1, 20))))


def grant_context(provisioning: Provisioning, grant: Grant | None = None) -> GrantContext:
    grant = grant or Grant.objects.select_related("user").get(pk=provisioning.grant_id)
    asset_ids = list(grant.assets.values_list("pk", flat=True))
    bindings = list(
        TargetBinding.objects.filter(target_id=provisioning.target_id, asset_id__in=asset_ids)
    )
    return GrantContext(
        grant_id=grant.pk,
        user_id=grant.user_id,
        username=grant.user.get_username(),
        email=getattr(grant.user, "email", "") or "",
        starts_at=grant.starts_at,
        ends_at=grant.ends_at,
        actions=frozenset(a for a in ACTIONS if getattr(grant, f"can_{a}")),
        account=provisioning.account,
        bindings=tuple(bindings),
    )


def record_failures(rows: list[Provisioning], *, error: Exception, now: datetime) -> None:
    """Count a failed try on each row (inside the caller's transaction): the error, the next
    try after the backoff, and the admins alerted once the tries reach ALERT_AFTER_TRIES
    (an audit event; readiness then fails). The state becomes ``failed``; a removal that
    failed keeps ``remove_requested_at``, so it stays "not yet removed".

    An error that trying again cannot mend (``ConnectorError(retryable=False)``: a binding
    naming a group or table that is gone, a URL setting that is not set; or a target kind
    no connector registers, ``LookupError``) alerts the admins at its first try and is tried
    again only every RETRY_MAX_SECONDS, until someone mends the configuration: a removal
    is never given up."""
    mendable = isinstance(error, ConnectorError) and error.retryable
    alert = []
    for row in rows:
        row.tries += 1
        row.last_try_at = now
        row.state = ProvisioningState.FAILED
        row.error = str(error)[:2000]
        delay = retry_delay(row.tries) if mendable else timedelta(seconds=conf("RETRY_MAX_SECONDS"))
        row.next_try_at = elapsed_add(now, delay)
        if row.alerted_at is None and (not mendable or row.tries >= conf("ALERT_AFTER_TRIES")):
            row.alerted_at = now
            alert.append(row)
    Provisioning.objects.bulk_update(
        rows,
        [
            "tries",
            "last_try_at",
            "state",
            "error",
            "next_try_at",
            "alerted_at",
            "remove_requested_at",
        ],
    )
    for row in alert:
        audit_event_record(
            action="connectors.provisioning.alerted",
            actor_label=SYSTEM_CONNECTORS,
            target=row,
            data={
                "grant": row.grant_id,
                "target": row.target_id,
                "account": row.account,
                "tries": row.tries,
                "removal": row.remove_requested_at is not None,
            },
        )
        # An email to the DPO group and the superusers, through the access outbox (sent
        # once, retried with backoff, in the same transaction as the failure it reports).
        notice_record(kind=NoticeKind.GRANT_TARGET_FAILING, object_id=row.grant_id)
    # Besides the email the admins see it where they watch: the readiness check fails
    # ("Connectors"), the dashboard lists the accounts not yet removed, and the holder reads
    # "failed, the admins are told" (docs/connectors.md, "Life of an account").


def among(queryset: QuerySet[Any], column: str, ids: list[int]) -> QuerySet[Any]:
    """``queryset`` filtered to rows whose ``column`` is one of ``ids``; on PostgreSQL the ids
    travel as one array parameter (a thousand placeholders cost more to send and plan than
    the rows they name: the removal of 1,000 accounts is one batch)."""
    if connection.vendor != "postgresql":
        return queryset.filter(**{f"{column}__in": ids})
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    field = queryset.model._meta.get_field(column)
    name = connection.ops.quote_name(field.column)  # type: ignore[union-attr]
    return queryset.extra(where=[f"{table}.{name} = ANY(%s)"], params=[list(ids)])  # noqa: S610
