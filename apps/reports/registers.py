"""Access registers: who held access to what, when, why, who approved, under which policy.

A grant is in a register for a period when the access it gave overlaps the period:
``starts_at < period end`` and its effective end (``ends_at``, or ``revoked_at`` when it
was revoked earlier) is after the period start. A grant revoked before it began never gave
access and is listed as such only when its window overlaps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.access.models import Approval, Grant, GrantEnd
from apps.inventory.models import DataAsset
from jitportal.formats import datetime_display

StrOrPromise = str | Promise

REGISTER_COLUMNS: tuple[tuple[str, StrOrPromise], ...] = (
    ("grant", gettext_lazy("Grant")),
    ("user", gettext_lazy("Person")),
    ("assets", gettext_lazy("Data assets")),
    ("rights", gettext_lazy("Rights")),
    ("held_from", gettext_lazy("Held from")),
    ("held_until", gettext_lazy("Held until")),
    ("ended", gettext_lazy("How it ended")),
    ("justification", gettext_lazy("Why (justification)")),
    ("ticket", gettext_lazy("Ticket")),
    ("purpose", gettext_lazy("Processing activity (purpose)")),
    ("break_glass", gettext_lazy("Break-glass")),
    ("requested_at", gettext_lazy("Requested at")),
    ("approved_by", gettext_lazy("Approved by")),
    ("decided_by", gettext_lazy("Decided by")),
    ("policy", gettext_lazy("Policy (access role)")),
    ("policy_terms", gettext_lazy("Policy terms when requested")),
)


def _effective_end(grant: Grant) -> datetime:
    if grant.revoked_at is not None and grant.revoked_at < grant.ends_at:
        return max(grant.revoked_at, grant.starts_at)
    return grant.ends_at


def _how_it_ended(grant: Grant, now: datetime) -> str:
    """The register's "How it ended", from ``Grant.ended_how`` (one derivation for every
    page and export): a lapse at the end of the window is never mixed up with an end someone
    chose (given back, revoked, holder offboarded or no longer entitled)."""
    how = grant.ended_how(now)
    if how is None:
        return _("scheduled") if grant.starts_at > now else _("still live")
    if how == GrantEnd.EXPIRED:
        return _("expired at the end of its window")
    before_start = grant.revoked_at is not None and grant.revoked_at <= grant.starts_at
    if how == GrantEnd.GIVEN_BACK:
        if before_start:
            return _("given back by its holder before it started")
        return _("given back early by its holder")
    if how == GrantEnd.REVOKED:
        values = {
            "who": grant.revoked_by.get_username() if grant.revoked_by else _("unknown"),
            "reason": grant.revoke_text or _("no reason given"),
        }
        if before_start:
            return _("withdrawn before it started by %(who)s: %(reason)s") % values
        return _("revoked by %(who)s: %(reason)s") % values
    # Ended by the portal (holder no longer entitled, holder offboarded): the code's text.
    return str(how.label)


def _policy_terms(snapshot: dict[str, Any]) -> str:
    if not snapshot:
        return ""
    parts = []
    if snapshot.get("break_glass"):
        parts.append(_("break-glass (self-granted, reviewed afterwards)"))
    if "approvals_required" in snapshot:
        parts.append(_("%(n)s approval(s)") % {"n": snapshot["approvals_required"]})
    if snapshot.get("dpo_required"):
        parts.append(_("DPO approval"))
    rights = [r for r in ("view", "change", "export") if snapshot.get(f"can_{r}")]
    if rights:
        parts.append(_("rights: %(rights)s") % {"rights": "/".join(rights)})
    for key in ("max_duration", "max_duration_seconds"):
        if key in snapshot:
            parts.append(_("max duration %(duration)s") % {"duration": snapshot[key]})
    return "; ".join(parts)


def _grants(*, start: datetime, end: datetime, asset_id: int | None, user_id: int | None):
    qs = Grant.objects.filter(starts_at__lt=end, ends_at__gt=start).filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=start)
    )
    if asset_id is not None:
        qs = qs.filter(assets=asset_id)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return (
        qs.select_related(
            "user",
            "revoked_by",
            "request",
            "request__role",
            "request__processing_activity",
            "request__decided_by",
        )
        .prefetch_related(
            Prefetch(
                "request__approvals",
                queryset=Approval.objects.select_related("approver").order_by("created_at"),
            ),
            Prefetch(
                "assets",
                queryset=DataAsset.objects.select_related("system").order_by(
                    "system__name", "name"
                ),
            ),
        )
        .order_by("starts_at", "pk")
        .distinct()
    )


def access_register(
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    asset_id: int | None = None,
    user_id: int | None = None,
) -> list[dict[str, Any]]:
    """Rows of the register for one asset or one person (or both) over ``[start, end)``."""
    rows = []
    for grant in _grants(start=start, end=end, asset_id=asset_id, user_id=user_id):
        request = grant.request
        approvals = list(request.approvals.all())
        approved = [
            (_("%(who)s (as DPO) at %(at)s") if a.as_dpo else _("%(who)s at %(at)s"))
            % {"who": a.approver.get_username(), "at": datetime_display(a.created_at)}
            + (f": {a.comment}" if a.comment else "")
            for a in approvals
            if a.decision == "approve"
        ]
        if request.is_break_glass and not approved:
            approved = ["nobody: break-glass, self-granted"]
        elif request.approvals_required == 0 and not approved:
            approved = ["automatic: the policy needs no approval"]
        rows.append(
            {
                "grant": grant.pk,
                "request": request.pk,
                "user": grant.user.get_username(),
                "user_name": grant.user.get_full_name(),
                "assets": "; ".join(str(a) for a in grant.assets.all()),
                "asset_ids": [a.pk for a in grant.assets.all()],
                "rights": "/".join(
                    r for r in ("view", "change", "export") if getattr(grant, f"can_{r}")
                ),
                "held_from": grant.starts_at,
                "held_until": _effective_end(grant),
                "ended": _how_it_ended(grant, now),
                "end_reason": (how.value if (how := grant.ended_how(now)) else ""),
                "justification": request.justification,
                "ticket": request.ticket,
                "purpose": str(request.processing_activity)
                if request.processing_activity_id
                else "",
                "break_glass": "yes" if grant.is_break_glass else "no",
                "requested_at": request.created_at,
                "approved_by": "; ".join(approved),
                "decided_by": request.decided_by.get_username() if request.decided_by else "",
                "policy": str(request.role)
                if request.role_id
                else _("direct request for the asset"),
                "policy_terms": _policy_terms(request.policy_snapshot or {}),
            }
        )
    return rows


def register_table(rows: list[dict[str, Any]]) -> Iterator[list[Any]]:
    """The register as plain rows (CSV/XLSX), header first."""
    yield [str(label) for _key, label in REGISTER_COLUMNS]
    for row in rows:
        yield [_plain(row[key]) for key, _label in REGISTER_COLUMNS]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value
