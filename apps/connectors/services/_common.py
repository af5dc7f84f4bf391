"""What the connector services share: settings, the grant context, failures and backoff."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from apps.access.models import Grant
from apps.audit.services import audit_event_record
from jitportal.timekeeping import elapsed_add

from ..base import ACTIONS, GrantContext
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


def record_failures(rows: list[Provisioning], *, error: str, now: datetime) -> None:
    """Count a failed try on each row (inside the caller's transaction): the error, the next
    try after the backoff, and the admins alerted once the tries reach ALERT_AFTER_TRIES
    (an audit event and an email on commit). The state becomes ``failed``; a removal that
    failed keeps ``remove_requested_at``, so it stays "not yet removed"."""
    alert = []
    for row in rows:
        row.tries += 1
        row.state = ProvisioningState.FAILED
        row.error = error[:2000]
        row.next_try_at = elapsed_add(now, retry_delay(row.tries))
        if row.alerted_at is None and row.tries >= conf("ALERT_AFTER_TRIES"):
            row.alerted_at = now
            alert.append(row)
    Provisioning.objects.bulk_update(rows, ["tries", "state", "error", "next_try_at", "alerted_at"])
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
    if alert:
        ids = [(r.pk, r.target_id, r.account, r.remove_requested_at is not None) for r in alert]
        transaction.on_commit(lambda: _mail_alert(ids, error))


def _mail_alert(rows: list[tuple[int, int, str, bool]], error: str) -> None:
    """Tell the admins (settings.ADMINS) in the organisation's language; no secret, no URL."""
    from ..models import Target

    names = dict(Target.objects.filter(pk__in={r[1] for r in rows}).values_list("pk", "name"))
    with translation.override(settings.LANGUAGE_CODE):
        lines = [
            (
                gettext("Access not yet removed in target %(target)s: account %(account)s.")
                if removal
                else gettext("Access not yet set up in target %(target)s: account %(account)s.")
            )
            % {"target": names.get(target_id, target_id), "account": account}
            for _pk, target_id, account, removal in rows
        ]
        subject = gettext("Connector failures need attention")
        body = "\n".join([*lines, "", gettext("Last error: %(error)s") % {"error": error}])
    try:
        mail_admins(subject, body, fail_silently=False)
    except Exception:
        logger.warning("could not mail the connector alert", exc_info=True)
