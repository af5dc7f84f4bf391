"""Reads of the connector pages, the dashboard and the health check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from apps.access.models import Grant

from .models import DriftFinding, Provisioning, ProvisioningState, Target, TargetBinding
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


@dataclass(frozen=True)
class GrantAccount:
    """One of a grant's accounts as its admin page shows it: the provisioning row (state,
    tries, last try, error, removal) and the latest drift finding about the same account in
    the same target, or None."""

    row: Provisioning
    drift: DriftFinding | None


def grant_accounts(*, grant_ids: list[int]) -> dict[int, list[GrantAccount]]:
    """Every provisioning of the grants, by grant, ordered by target name: two queries
    whatever the number of rows (for the admin, who may see any grant's)."""
    rows = list(
        Provisioning.objects.filter(grant_id__in=grant_ids)
        .select_related("target")
        .order_by("target__name", "pk")
    )
    latest: dict[tuple[int, str], DriftFinding] = {}
    findings = DriftFinding.objects.filter(
        target_id__in={r.target_id for r in rows}, account__in={r.account for r in rows}
    ).order_by("-found_at", "-pk")
    for finding in findings:
        latest.setdefault((finding.target_id, finding.account), finding)
    out: dict[int, list[GrantAccount]] = {}
    for row in rows:
        out.setdefault(row.grant_id, []).append(
            GrantAccount(row, latest.get((row.target_id, row.account)))
        )
    return out


def grant_bound_targets(*, grant_ids: list[int]) -> dict[int, list[str]]:
    """The names of the enabled targets a binding of each grant's assets names (where the
    grant opens, or would open, an account), by grant."""
    through = Grant.assets.through
    assets_of: dict[int, set[int]] = {}
    for grant_id, asset_id in through.objects.filter(grant_id__in=grant_ids).values_list(
        "grant_id", "dataasset_id"
    ):
        assets_of.setdefault(grant_id, set()).add(asset_id)
    bindings = list(
        TargetBinding.objects.filter(
            target__enabled=True, asset_id__in={a for ids in assets_of.values() for a in ids}
        ).values_list("asset_id", "target__name")
    )
    out: dict[int, list[str]] = {}
    for grant_id, assets in assets_of.items():
        names = sorted({name for asset_id, name in bindings if asset_id in assets})
        if names:
            out[grant_id] = names
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
