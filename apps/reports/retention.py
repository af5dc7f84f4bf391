"""What the retention rules say about the assets of the record of processing.

The ROPA's "Retention schedule" column shows the rules of an activity's assets beside the
DPO's own description, and "Retained per policy?" is derived from the latest purge runs.
Read for all assets of a report at once, so the report's query count stays constant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

NOT_RECORDED = "not recorded yet"


@dataclass
class RetentionFacts:
    """Retention rules and their latest real purge runs, by asset."""

    available: bool = False
    schedules: dict[int, list[str]] = field(default_factory=dict)
    # asset id -> [(rule label, problems: list[str])]
    rule_states: dict[int, list[tuple[str, list[str]]]] = field(default_factory=dict)

    def schedule_for(self, asset_ids: Iterable[int]) -> str:
        lines: list[str] = []
        for asset_id in sorted(set(asset_ids)):
            for line in self.schedules.get(asset_id, []):
                if line not in lines:
                    lines.append(line)
        return "; ".join(lines)

    def retained_per_policy(self, asset_ids: list[int], *, today: date) -> dict[str, Any]:
        """yes: every asset has an enabled rule whose last run succeeded and none is overdue."""
        if not self.available:
            return {"status": "unknown", "label": NOT_RECORDED, "reasons": [NOT_RECORDED]}
        if not asset_ids:
            return {
                "status": "unknown",
                "label": "Unknown: no data assets linked",
                "reasons": ["no data assets are linked to the activity"],
            }
        reasons: list[str] = []
        for asset_id in sorted(set(asset_ids)):
            states = self.rule_states.get(asset_id, [])
            if not states:
                reasons.append(f"asset #{asset_id} has no retention rule")
            for _, problems in states:
                reasons.extend(problems)
        if reasons:
            return {"status": "no", "label": "No: " + "; ".join(reasons), "reasons": reasons}
        return {"status": "yes", "label": "Yes", "reasons": []}


def retention_facts_for_assets(asset_ids: Iterable[int], *, now: datetime) -> RetentionFacts:
    """Nothing is recorded until the retention app provides its rules and runs."""
    return RetentionFacts(available=False)


def retention_dashboard(*, now: datetime) -> dict[str, Any]:
    """Rules due to run and the latest purge runs; nothing until retention is recorded."""
    return {"available": False, "rules_due": [], "last_runs": [], "holds_review_due": 0}
