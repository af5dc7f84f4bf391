"""Drift: what a target really holds under the portal's prefix, compared with live grants
(docs/connectors.md, "Drift"). Designed against syncs that put removed access back or make
temporary access permanent: the portal's own rows decide, never what the target says.

- An account no live grant needs (a grant ended but its removal was lost, or someone made a
  role with the portal's prefix by hand, flagged as such): removed where the target is
  authoritative, reported otherwise.
- An account a live grant needs but the target lacks (dropped by hand): provisioned again.
- Accounts whose removal is already asked for are the reconcile's, not drift.
- A target whose connector cannot observe it (``Connector.observable`` False: a webhook
  endpoint) is not observable: said as such, never as a failure, and never alerted on.

Each finding is a ``DriftFinding`` row and an audit event (none on a dry run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.audit.services import EventSpec, audit_events_record_bulk

from ..base import ConnectorError
from ..models import DriftAction, DriftFinding, DriftKind, Provisioning, ProvisioningState, Target
from ..registry import connector_for
from ._common import SYSTEM_CONNECTORS
from .provisioning import provisioning_provision


class DriftStatus:
    """The outcome of one target's check (codes; pages and the command say them)."""

    CHECKED = "checked"
    DID_NOT_ANSWER = "did_not_answer"
    NOT_OBSERVABLE = "not_observable"


@dataclass
class DriftResult:
    """One target's check: its ``findings`` (unsaved on a dry run, their ``action`` then
    what would be done), or the ``error`` that stopped it (the target did not answer), or
    ``observable`` False for a target nobody can ask what it holds (nothing was checked)."""

    findings: list[DriftFinding] = field(default_factory=list)
    error: str = ""
    observable: bool = True

    @property
    def status(self) -> str:
        if not self.observable:
            return DriftStatus.NOT_OBSERVABLE
        return DriftStatus.DID_NOT_ANSWER if self.error else DriftStatus.CHECKED

    @property
    def alerts(self) -> bool:
        """Whether monitoring should hear of it: drift found, or a target that did not
        answer; never a target that cannot be observed."""
        return self.status == DriftStatus.DID_NOT_ANSWER or bool(self.findings)


def not_observable_text(target: Target) -> str:
    """What a person reads for a target drift cannot check: "HR system: not observable
    (webhook)", in the reader's language (the organisation's in a command)."""
    return gettext("%(target)s: not observable (%(kind)s)") % {
        "target": target.name,
        "kind": target.kind,
    }


def target_drift_check(
    *, target_id: int, now: datetime | None = None, dry_run: bool = False
) -> DriftResult:
    """Compare target ``target_id`` with live grants, repair what the rules allow, record
    every finding (row + audit event). Returns a ``DriftResult``.

    ``dry_run``: observe and compare only; the findings are not saved, nothing is removed,
    provisioned again or audited, and each finding's ``action`` is what a real check would
    do. Raises ``Target.DoesNotExist`` for an unknown id.
    """
    now = now or timezone.now()
    target = Target.objects.get(pk=target_id)
    try:
        connector = connector_for(target)
    except LookupError as exc:
        return DriftResult(error=str(exc))
    if not connector.observable:
        return DriftResult(observable=False)
    try:
        observed = {account.name for account in connector.observe()}
    except ConnectorError as exc:
        return DriftResult(error=str(exc))
    rows = list(
        Provisioning.objects.filter(target=target)
        .exclude(state=ProvisioningState.DEPROVISIONED)
        .select_related("grant")
    )
    being_removed = {r.account for r in rows if r.remove_requested_at is not None}
    needed = {r.account: r for r in rows if r.remove_requested_at is None and r.grant.is_live(now)}
    known = set(Provisioning.objects.filter(target=target).values_list("account", flat=True))
    strays = sorted(observed - set(needed) - being_removed)
    missing = [
        row
        for account, row in sorted(needed.items())
        if row.state == ProvisioningState.PROVISIONED and account not in observed
    ]
    stray_action = DriftAction.REMOVED if target.authoritative else DriftAction.REPORTED
    if strays and target.authoritative and not dry_run:
        try:
            connector.deprovision(strays)
        except ConnectorError:
            stray_action = DriftAction.FAILED
    findings = [
        DriftFinding(
            target=target,
            kind=DriftKind.STRAY if name in known else DriftKind.HAND_MADE,
            account=name,
            action=stray_action,
            found_at=now,
        )
        for name in strays
    ]
    findings += [
        DriftFinding(
            target=target,
            kind=DriftKind.MISSING,
            account=row.account,
            action=DriftAction.REPROVISIONED,
            grant_id=row.grant_id,
            found_at=now,
        )
        for row in missing
    ]
    if dry_run:
        return DriftResult(findings=findings)
    with transaction.atomic(durable=True):
        if missing:
            Provisioning.objects.filter(pk__in=[r.pk for r in missing]).update(
                state=ProvisioningState.PENDING, next_try_at=None
            )
        DriftFinding.objects.bulk_create(findings)
        audit_events_record_bulk(
            returning=False,
            events=[
                EventSpec(
                    action="connectors.drift.found",
                    actor_label=SYSTEM_CONNECTORS,
                    target=target,
                    data={
                        "kind": f.kind,
                        "account": f.account,
                        "action": f.action,
                        "grant": f.grant_id,
                    },
                    occurred_at=now,
                )
                for f in findings
            ],
        )
    for row in missing:
        provisioned = provisioning_provision(provisioning_id=row.pk)
        if provisioned is None or provisioned.state != ProvisioningState.PROVISIONED:
            DriftFinding.objects.filter(
                target=target, account=row.account, found_at=now, kind=DriftKind.MISSING
            ).update(action=DriftAction.FAILED)
            for finding in findings:
                if finding.kind == DriftKind.MISSING and finding.account == row.account:
                    finding.action = DriftAction.FAILED
    return DriftResult(findings=findings)


def connectors_drift_check(*, now: datetime | None = None) -> dict[str, int]:
    """Every enabled target that can be observed: ``{target name: findings}`` (-1 when it
    did not answer). Targets that cannot be observed (webhook) are left out: nothing about
    them was checked, and nothing is wrong with them."""
    out = {}
    for target in Target.objects.filter(enabled=True).order_by("pk"):
        result = target_drift_check(target_id=target.pk, now=now)
        if result.status == DriftStatus.NOT_OBSERVABLE:
            continue
        out[target.name] = -1 if result.error else len(result.findings)
    return out
