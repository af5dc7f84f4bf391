"""Approval statistics over a period: outcomes, time to decision, break-glass, early ends.

Requests count in the period they were made; approvals in the period they were given;
revocations and give-backs in the period they happened.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from apps.access.models import GIVEN_BACK_CODES, AccessRequest, Approval, Grant, RequestStatus
from apps.audit.models import AuditEvent
from jitportal.durations import duration_text

OUTCOMES = [s.value for s in RequestStatus]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def human_seconds(seconds: float | None) -> str:
    """A median or an age as the statistics show it ("30 min", "3.0 h", "2.5 days")."""
    return duration_text(seconds, rounded=True, empty="–")


def approval_statistics(*, start: datetime, end: datetime) -> dict[str, Any]:
    """Everything the approval statistics page and its downloads show."""
    requests = list(
        AccessRequest.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("asset__system", "role")
        .prefetch_related("role__assets__system")
        .order_by("pk")
    )
    outcomes = Counter(r.status for r in requests)
    decision_seconds = [
        (r.decided_at - r.created_at).total_seconds()
        for r in requests
        if r.decided_at
        and r.status in (RequestStatus.APPROVED, RequestStatus.DENIED)
        and not r.is_break_glass
    ]
    break_glass = [r for r in requests if r.is_break_glass]

    per_asset: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"requests": 0, "outcomes": Counter(), "decision_seconds": []}
    )
    for r in requests:
        if r.asset is not None:
            assets = [r.asset]
        elif r.role is not None:
            assets = list(r.role.assets.all())
        else:
            assets = []
        for asset in assets:
            entry = per_asset[str(asset)]
            entry["requests"] += 1
            entry["outcomes"][r.status] += 1
            if r.is_break_glass:
                entry["outcomes"]["break_glass"] += 1
            decided = r.status in (RequestStatus.APPROVED, RequestStatus.DENIED)
            if r.decided_at and decided and not r.is_break_glass:
                entry["decision_seconds"].append((r.decided_at - r.created_at).total_seconds())

    approvals = (
        Approval.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("approver", "request")
        .order_by("pk")
    )
    per_approver: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"approve": 0, "deny": 0, "as_dpo": 0, "seconds": []}
    )
    for a in approvals:
        entry = per_approver[a.approver.get_username()]
        entry[a.decision] += 1
        entry["as_dpo"] += int(a.as_dpo)
        entry["seconds"].append((a.created_at - a.request.created_at).total_seconds())

    # Ended early by someone else than the holder (an approver or the DPO, an offboarding,
    # the entitlement check at the start); what the holder gave back is counted below.
    revoked = Grant.objects.filter(revoked_at__gte=start, revoked_at__lt=end).exclude(
        revoke_code__in=GIVEN_BACK_CODES
    )
    revoked_early = [
        g
        for g in revoked.select_related("revoked_by", "user").order_by("revoked_at")
        if g.revoked_at is not None and g.revoked_at < g.ends_at
    ]
    given_back = AuditEvent.objects.filter(
        action="access.grant.relinquished", occurred_at__gte=start, occurred_at__lt=end
    ).count()
    # Awaiting review now, whenever they were taken (the backlog the DPO has to clear).
    bg_unreviewed = Grant.objects.filter(is_break_glass=True, needs_review=True).count()

    return {
        "start": start,
        "end": end,
        "requests": len(requests),
        "outcomes": {o: outcomes.get(o, 0) for o in OUTCOMES},
        "decided": len(decision_seconds),
        "median_decision_seconds": _median(decision_seconds),
        "median_decision": human_seconds(_median(decision_seconds)),
        "break_glass_uses": len(break_glass),
        "break_glass_unreviewed": bg_unreviewed,
        "revoked_early": len(revoked_early),
        "revoked_early_rows": [
            {
                "grant": g.pk,
                "user": g.user.get_username(),
                "revoked_at": g.revoked_at,
                "revoked_by": g.revoked_by.get_username() if g.revoked_by else "",
                "reason": g.revoke_text,
                "unused_hours": round(
                    (g.ends_at - (g.revoked_at or g.ends_at)).total_seconds() / 3600, 1
                ),
            }
            for g in revoked_early
        ],
        "given_back_early": given_back,
        "per_asset": [
            {
                "asset": name,
                "requests": e["requests"],
                **{o: e["outcomes"].get(o, 0) for o in OUTCOMES},
                "break_glass": e["outcomes"].get("break_glass", 0),
                "median_decision_seconds": _median(e["decision_seconds"]),
                "median_decision": human_seconds(_median(e["decision_seconds"])),
            }
            for name, e in sorted(per_asset.items())
        ],
        "per_approver": [
            {
                "approver": name,
                "approved": e["approve"],
                "denied": e["deny"],
                "as_dpo": e["as_dpo"],
                "median_decision_seconds": _median(e["seconds"]),
                "median_decision": human_seconds(_median(e["seconds"])),
            }
            for name, e in sorted(per_approver.items())
        ],
    }


def approval_tables(stats: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """The statistics as plain tables (CSV/XLSX): summary, per asset, per approver."""
    labels = {value: str(label) for value, label in RequestStatus.choices}
    summary = [
        [_("Measure"), _("Value")],
        [_("Requests made"), stats["requests"]],
        *[
            [_("Outcome: %(outcome)s") % {"outcome": labels.get(o, o)}, n]
            for o, n in stats["outcomes"].items()
        ],
        [_("Median time to decision (seconds)"), stats["median_decision_seconds"]],
        [_("Break-glass uses"), stats["break_glass_uses"]],
        [_("Break-glass grants awaiting review"), stats["break_glass_unreviewed"]],
        [_("Grants revoked early"), stats["revoked_early"]],
        [_("Grants given back early by the holder"), stats["given_back_early"]],
    ]
    per_asset = [
        [
            _("Data asset"),
            _("Requests"),
            *[labels.get(o, o) for o in OUTCOMES],
            _("Break-glass"),
            _("Median time to decision (s)"),
        ],
        *[
            [
                a["asset"],
                a["requests"],
                *[a[o] for o in OUTCOMES],
                a["break_glass"],
                a["median_decision_seconds"],
            ]
            for a in stats["per_asset"]
        ],
    ]
    per_approver = [
        [
            _("Approver"),
            _("Approved"),
            _("Denied"),
            _("As DPO"),
            _("Median time to decision (s)"),
        ],
        *[
            [a["approver"], a["approved"], a["denied"], a["as_dpo"], a["median_decision_seconds"]]
            for a in stats["per_approver"]
        ],
    ]
    return {"summary": summary, "per_asset": per_asset, "per_approver": per_approver}
