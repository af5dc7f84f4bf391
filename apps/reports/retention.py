"""What the retention rules say about the assets of the record of processing.

The ROPA's "Retention schedule" column shows the rules of an activity's assets beside the
DPO's own description, and "Retained per policy?" is derived from the latest purge runs.
Read for all assets of a report at once, so the report's query count stays constant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.retention.models import LegalHold, PurgeRun, PurgeRunStatus, RetentionRule
from apps.retention.selectors import (
    retention_rules_for_assets,
    rule_summary,
    rules_due,
    stuck_runs,
)
from jitportal.timekeeping import calendar_days_back, calendar_days_between


@dataclass
class RetentionFacts:
    """Retention rules and their latest real purge runs, by asset."""

    schedules: dict[int, list[str]] = field(default_factory=dict)
    # asset id -> [(rule label, problems: list[str])]
    rule_states: dict[int, list[tuple[str, list[str]]]] = field(default_factory=dict)

    def schedule_for(self, asset_ids: Iterable[int]) -> str:
        """The rules of these assets, one line each (their own one-line summaries)."""
        lines: list[str] = []
        for asset_id in sorted(set(asset_ids)):
            for line in self.schedules.get(asset_id, []):
                if line not in lines:
                    lines.append(line)
        return "\n".join(lines)

    def retained_per_policy(self, assets: dict[int, str]) -> dict[str, Any]:
        """yes: every asset has an enabled rule whose last run succeeded and none is overdue."""
        if not assets:
            return {
                "status": "unknown",
                "label": _("Unknown: no data assets linked"),
                "reasons": [_("no data assets are linked to the activity")],
            }
        reasons: list[str] = []
        for asset_id, asset_name in sorted(assets.items(), key=lambda item: item[1]):
            states = self.rule_states.get(asset_id, [])
            if not states:
                reasons.append(_("%(asset)s has no retention rule") % {"asset": asset_name})
            for _rule, problems in states:
                reasons.extend(problems)
        if reasons:
            label = _("No: %(reasons)s") % {"reasons": "; ".join(reasons)}
            return {"status": "no", "label": label, "reasons": reasons}
        return {"status": "yes", "label": _("Yes"), "reasons": []}


_RULE_FIELDS = (
    "name",
    "asset__name",
    "asset__system__name",
    "category__name",
    "date_field",
    "content_type_id",
    "filter",
    "period_amount",
    "period_unit",
    "action",
    "legal_citation",
    "enabled",
    "run_every_days",
)


def retention_facts_for_assets(asset_ids: Iterable[int], *, now: datetime) -> RetentionFacts:
    """Rules of these assets and their latest real runs, in three queries whatever the count."""
    ids = sorted(set(asset_ids))
    facts = RetentionFacts()
    if not ids:
        return facts
    latest = (
        PurgeRun.objects.real().done().filter(rule_id=OuterRef("pk")).order_by("-started_at", "-pk")
    )
    # Only what rule_summary() and the checks read: ten thousand rules stay cheap.
    rules = list(
        retention_rules_for_assets(ids)
        # rule_summary() reads the asset, its system and the category; the target model comes
        # from ContentType's own cache (one query per model, not per rule)
        .select_related(None)
        .select_related("asset__system", "category")
        .only(*_RULE_FIELDS)
        .annotate(last_run_id=Subquery(latest.values("pk")[:1]))
    )
    run_ids = {rule.pk: cast(Any, rule).last_run_id for rule in rules}
    runs: dict[int, tuple[str, datetime | None]] = {
        pk: (status, started)
        for pk, status, started in PurgeRun.objects.filter(
            pk__in=[r for r in run_ids.values() if r]
        ).values_list("pk", "status", "started_at")
    }
    for rule in rules:
        run_id = run_ids[rule.pk]
        status, started = runs.get(run_id, (None, None)) if run_id else (None, None)
        facts.schedules.setdefault(rule.asset_id, []).append(rule_summary(rule))
        facts.rule_states.setdefault(rule.asset_id, []).append(
            (
                rule.name,
                _rule_problems(rule, run_id=run_id, status=status, started=started, now=now),
            )
        )
    # Disabled rules are few: read them all rather than send every asset id again.
    wanted = set(ids)
    for asset_id, name in RetentionRule.objects.filter(enabled=False).values_list(
        "asset_id", "name"
    ):
        if asset_id in wanted:
            facts.rule_states.setdefault(asset_id, []).append(
                (name, [_("rule “%(rule)s” is disabled") % {"rule": name}])
            )
    return facts


def _rule_problems(
    rule: RetentionRule,
    *,
    run_id: int | None,
    status: str | None,
    started: datetime | None,
    now: datetime,
) -> list[str]:
    """Why the latest real purge run does not show the rule kept (empty when it does)."""
    if status is None:
        return [_("rule “%(rule)s” has never run") % {"rule": rule.name}]
    if status != PurgeRunStatus.SUCCEEDED:
        words: dict[str, str] = {
            PurgeRunStatus.PLANNED: pgettext("purge run", "planned"),
            PurgeRunStatus.RUNNING: pgettext("purge run", "running"),
            PurgeRunStatus.FAILED: pgettext("purge run", "failed"),
            PurgeRunStatus.PARTIAL: pgettext("purge run", "partial"),
        }
        label = words.get(status, status)
        return [
            _("rule “%(rule)s”: last run #%(run)s %(status)s")
            % {"rule": rule.name, "run": run_id, "status": label}
        ]
    # A day's grace beyond the rule's own interval before a missed run counts as overdue,
    # counted on the calendar (the same local time N + 1 days on), not in elapsed hours.
    if started is None or started < calendar_days_back(now, rule.run_every_days + 1):
        days = calendar_days_between(started, now) if started is not None else 0
        return [
            _("rule “%(rule)s” is overdue: last run %(days)d days ago, runs every %(every)d day(s)")
            % {"rule": rule.name, "days": days, "every": rule.run_every_days}
        ]
    return []


_BADGE: dict[str, str] = {
    PurgeRunStatus.SUCCEEDED: "ok",
    PurgeRunStatus.PARTIAL: "warn",
    PurgeRunStatus.FAILED: "bad",
    PurgeRunStatus.RUNNING: "warn",
    PurgeRunStatus.PLANNED: "",
}


def retention_dashboard(*, now: datetime) -> dict[str, Any]:
    """Rules due to run now, the latest purge runs and legal holds due for review."""
    due = rules_due(now=now)
    last_real: dict[int, datetime | None] = {}
    for rule_id, started in (
        PurgeRun.objects.real()
        .done()
        .filter(rule__in=due)
        .order_by("rule_id", "-started_at")
        .values_list("rule_id", "started_at")
    ):
        last_real.setdefault(rule_id, started)
    runs = PurgeRun.objects.select_related("rule").order_by("-created_at", "-pk")[:10]
    return {
        "rules_due": [
            {"name": r.name, "asset": str(r.asset), "last_run": last_real.get(r.pk)} for r in due
        ],
        "last_runs": [
            {
                "id": run.pk,
                "rule": run.rule.name,
                "dry_run": run.dry_run,
                "status": str(run.get_status_display()),
                "badge": _BADGE.get(run.status, ""),
                "affected": run.affected,
                "finished_at": run.finished_at,
            }
            for run in runs
        ],
        "holds_review_due": LegalHold.objects.review_due(timezone.localdate(now)).count(),
        # Marked running, process gone: the next run of the rule closes it as interrupted.
        "stuck_runs": [
            {
                "id": run.pk,
                "rule": run.rule.name,
                "batches": run.batches,
                "affected": run.affected,
                "last_batch_at": run.heartbeat_at,
            }
            for run in stuck_runs(now=now)
        ],
    }
