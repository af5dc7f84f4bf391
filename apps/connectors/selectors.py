"""Reads of the connector pages, the dashboard and the health check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from .models import Provisioning, ProvisioningState, Target
from .registry import connector_class


class HolderState:
    """What the holder reads of an account (codes; the template says them)."""

    SETTING_UP = "setting_up"
    READY = "ready"
    FAILED = "failed"
    REMOVING = "removing"
    REMOVED = "removed"


HOLDER_STATE_LABELS = {
    HolderState.SETTING_UP: _("being set up"),
    HolderState.READY: _("ready"),
    HolderState.FAILED: _("failed, the admins are told"),
    HolderState.REMOVING: _("being removed"),
    HolderState.REMOVED: _("removed"),
}


def holder_state(row: Provisioning) -> str:
    if row.state == ProvisioningState.DEPROVISIONED:
        return HolderState.REMOVED
    if row.remove_requested_at is not None:
        return HolderState.REMOVING
    if row.state == ProvisioningState.PROVISIONED:
        return HolderState.READY
    if row.state == ProvisioningState.FAILED and row.alerted_at is not None:
        return HolderState.FAILED
    return HolderState.SETTING_UP


@dataclass(frozen=True)
class HolderAccount:
    row: Provisioning
    state: str
    state_label: Any
    host: str
    port: str
    database: str
    #: What the account is, for its holder ("Database login", "Group membership"…).
    account_label: Any


def account_label(kind: str) -> Any:
    """What an account of a target of ``kind`` is (the connector's ``account_label``), or
    plain "Account" for a kind whose connector says nothing or is not registered."""
    cls = connector_class(kind)
    return (cls.account_label if cls else "") or _("Account")


def connection_facts(target: Target) -> tuple[str, str, str]:
    """Host, port and database a holder connects to: the target's ``options`` ("host",
    "port", "database") or, where unset, those of its URL (never the URL's user or password)."""
    options = target.options or {}
    parts = urlsplit(target.connection_url() or "")
    host = str(options.get("host") or parts.hostname or "")
    port = str(options.get("port") or (parts.port if parts.hostname else "") or "")
    database = str(options.get("database") or parts.path.lstrip("/"))
    return host, port, database


def holder_accounts(*, grant_ids: list[int], user: Any) -> dict[int, list[HolderAccount]]:
    """The accounts of the user's own grants, by grant (nobody sees another's)."""
    out: dict[int, list[HolderAccount]] = {}
    rows = (
        Provisioning.objects.filter(grant_id__in=grant_ids, grant__user_id=user.pk)
        .select_related("target")
        .order_by("target__name")
    )
    for row in rows:
        state = holder_state(row)
        host, port, database = connection_facts(row.target)
        out.setdefault(row.grant_id, []).append(
            HolderAccount(
                row,
                state,
                HOLDER_STATE_LABELS[state],
                host,
                port,
                database,
                account_label(row.target.kind),
            )
        )
    return out


def removals_pending() -> QuerySet[Provisioning]:
    """Accounts the portal asked to remove that the target has not confirmed removed."""
    return Provisioning.objects.to_remove()


def removals_pending_by_target() -> list[dict[str, Any]]:
    """[{"target__name": …, "count": n, "failing": n}] for the dashboard's warning line."""
    return list(
        removals_pending()
        .values("target__name")
        .annotate(count=Count("pk"))
        .order_by("target__name")
    )


def failures() -> QuerySet[Provisioning]:
    """Rows whose last try failed (provisioning or removal)."""
    return Provisioning.objects.filter(state=ProvisioningState.FAILED)


def failures_alerted() -> QuerySet[Provisioning]:
    """Failed rows the admins were alerted about (tries reached ALERT_AFTER_TRIES)."""
    return failures().filter(alerted_at__isnull=False)
