"""Reads: rule summaries for the record of processing, previews, due status, snapshots."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.inventory.models import ProcessingActivity
from jitportal.formats import date_display, datetime_display
from jitportal.timekeeping import local_date

from .holds import HoldState, hold_state
from .liveness import run_process_gone
from .models import (
    PurgeAction,
    PurgeRun,
    PurgeRunStatus,
    RetentionRule,
    TargetKind,
)
from .targets import Counts, target_for
from .validation import anonymised_field_validate, rule_problems

# --- the record of processing -------------------------------------------------------------


def retention_rules_for_assets(asset_ids: Iterable[int]) -> QuerySet[RetentionRule]:
    """Enabled rules of these assets, asset by asset (for the ROPA's retention column)."""
    return (
        RetentionRule.objects.enabled()
        .for_assets(asset_ids)
        .select_related("asset__system", "category", "content_type")
        .order_by("asset__system__name", "asset__name", "name")
    )


def _field_words(model: Any, path: str) -> tuple[str, Any]:
    """The verbose name of a field path (``contract_ended_on``, ``customer__status__in``) on
    ``model`` in the reader's language, and the field; the path in words and None when
    ``model`` is unknown (a raw table) or the path names no field."""
    parts = [p for p in path.split("__") if p not in _LOOKUPS]
    current, found = model, None
    for part in parts:
        try:
            found = current._meta.get_field(part) if current is not None else None
        except Exception:
            found = None
        if found is None:
            return path.replace("__in", "").replace("__", " ").replace("_", " "), None
        current = found.related_model
    return (str(found.verbose_name) if found is not None else path), found


def _value_words(field: Any, value: Any) -> str:
    """A filter value as people read it: a choice's label, else the value itself."""
    choices = dict(getattr(field, "flatchoices", None) or [])
    values = value if isinstance(value, list) else [value]
    return ", ".join(str(choices.get(v, v)) for v in values)


_LOOKUPS = {"in", "exact", "iexact", "lt", "lte", "gt", "gte", "isnull", "contains"}


def rule_summary(rule: RetentionRule) -> str:
    """One line: what happens, after how long, counted from what, and why; field names and
    filter values in the reader's language where the rule's model is known."""
    model = (
        ContentType.objects.get_for_id(rule.content_type_id).model_class()
        if rule.content_type_id
        else None
    )
    date_label, _date_field = _field_words(model, rule.date_field)
    values = {"period": rule.period_label, "date": date_label}
    what = (
        _("Delete %(period)s after %(date)s") % values
        if rule.action == PurgeAction.DELETE
        else _("Anonymise %(period)s after %(date)s") % values
    )
    filter_text = ""
    if rule.filter:
        parts = []
        for key, value in rule.filter.items():
            label, field_ = _field_words(model, key)
            parts.append(f"{label} {_value_words(field_, value)}")
        filter_text = f" ({'; '.join(parts)})"
    category = f" [{rule.category.name}]" if rule.category is not None else ""
    return f"{rule.asset}{category}: {what}{filter_text} — {rule.legal_citation}"


def retention_summary_for_activity(activity: ProcessingActivity) -> str:
    """The retention rules of the activity's assets, one per line; "" when there are none
    (the ROPA then shows the activity's own retention description)."""
    asset_ids = list(activity.assets.values_list("pk", flat=True))
    return "\n".join(rule_summary(rule) for rule in retention_rules_for_assets(asset_ids))


# --- snapshots --------------------------------------------------------------------------


def rule_snapshot(rule: RetentionRule) -> dict[str, Any]:
    """The rule's settings as they are now, JSON-safe (kept with each run and event)."""
    target: dict[str, Any] = {"kind": rule.target_kind}
    if rule.target_kind == TargetKind.RAW_TABLE:
        target.update(
            database=rule.raw_database, table=rule.raw_table, key_column=rule.raw_key_column
        )
    elif rule.content_type is not None:
        target["model"] = f"{rule.content_type.app_label}.{rule.content_type.model}"
    fields = []
    if rule.pk:
        fields = [
            {
                "field": spec.field_name,
                "strategy": spec.strategy,
                "value": spec.value,
                "truncate_to": spec.truncate_to,
            }
            for spec in rule.anonymised_fields.order_by("field_name")
        ]
    return json.loads(
        json.dumps(
            {
                "id": rule.pk,
                "name": rule.name,
                "asset": {"id": rule.asset_id, "name": str(rule.asset) if rule.asset_id else ""},
                "category": rule.category.name if rule.category is not None else None,
                "target": target,
                "date_field": rule.date_field,
                "filter": rule.filter or {},
                "period": {"amount": rule.period_amount, "unit": rule.period_unit},
                "action": rule.action,
                "anonymised_marker_field": rule.anonymised_marker_field,
                "anonymised_fields": fields,
                "legal_reason": rule.legal_reason,
                "legal_citation": rule.legal_citation,
                "enabled": rule.enabled,
                "run_every_days": rule.run_every_days,
                "batch_size": rule.batch_size,
            },
            cls=DjangoJSONEncoder,
        )
    )


_DIGEST_KEYS = ("target", "date_field", "filter", "period", "action", "anonymised_fields")


def rule_settings_digest(rule: RetentionRule) -> str:
    """Digest of what decides which rows go and how: a confirmation is for these only."""
    snapshot = rule_snapshot(rule)
    relevant = {key: snapshot[key] for key in _DIGEST_KEYS}
    payload = json.dumps(relevant, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


# --- what a run would do ------------------------------------------------------------------


def rule_runtime_problems(rule: RetentionRule, *, now: datetime | None = None) -> list[str]:
    """Why the rule may not run now (empty when it may): validation and safety checks."""
    problems = [
        f"{field}: {message}" if field != "__all__" else message
        for field, messages in rule_problems(rule).items()
        for message in messages
    ]
    if rule.pk and rule.action == PurgeAction.ANONYMISE:
        specs = list(rule.anonymised_fields.all())
        if not specs:
            problems.append(_("An anonymise rule needs at least one field to anonymise."))
        for spec in specs:
            try:
                anonymised_field_validate(spec)
            except ValidationError as exc:
                problems.extend(f"{spec.field_name}: {m}" for m in exc.messages)
    now = now or timezone.now()
    if rule.period_amount and rule.period_unit:
        try:
            cutoff = rule.cutoff(now)
        except (ValueError, OverflowError):
            problems.append(_("The cutoff date cannot be computed for this period."))
        else:
            if cutoff >= now:
                problems.append(
                    _(
                        "The cutoff (%(cutoff)s) is not in the past: the rule would match "
                        "every row; refused."
                    )
                    % {"cutoff": datetime_display(cutoff)}
                )
    return problems


def rule_has_real_run(rule: RetentionRule) -> bool:
    return (
        rule.runs.real()
        .filter(status__in=[PurgeRunStatus.SUCCEEDED, PurgeRunStatus.PARTIAL], affected__gt=0)
        .exists()
    )


def rule_confirmation_valid(rule: RetentionRule) -> bool:
    return bool(rule.confirmed_at) and rule.confirmed_settings_digest == rule_settings_digest(rule)


def four_eyes_needed(rule: RetentionRule, *, would_go: int) -> bool:
    """A first real run above the threshold needs a second person's confirmation."""
    if would_go <= settings.JITPORTAL["PURGE_FOUR_EYES_THRESHOLD"]:
        return False
    if rule_has_real_run(rule):
        return False
    return not rule_confirmation_valid(rule)


@dataclass
class PurgePreview:
    rule: RetentionRule
    now: datetime
    cutoff: datetime | None = None
    counts: Counts = field(default_factory=Counts)
    sample: list[dict[str, Any]] = field(default_factory=list)
    holds: HoldState = field(default_factory=HoldState)
    problems: list[str] = field(default_factory=list)
    needs_four_eyes: bool = False
    target_label: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.pk,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "matched": self.counts.matched,
            "held": self.counts.held,
            "protected": self.counts.protected,
            "would_go": self.counts.would_go,
            "blocked_by": self.holds.blocking_label(),
            "needs_four_eyes": self.needs_four_eyes,
            "problems": self.problems,
        }


def purge_preview(
    *, rule: RetentionRule, now: datetime | None = None, sample_size: int = 10
) -> PurgePreview:
    """What a run would do now, without changing anything."""
    now = now or timezone.now()
    preview = PurgePreview(rule=rule, now=now)
    preview.problems = rule_runtime_problems(rule, now=now)
    if preview.problems:
        return preview
    preview.cutoff = rule.cutoff(now)
    target = target_for(rule, cutoff=preview.cutoff, now=now)
    preview.target_label = target.label
    preview.holds = hold_state(rule)
    preview.counts = target.counts(preview.holds)
    preview.sample = target.sample(preview.holds, sample_size)
    preview.needs_four_eyes = four_eyes_needed(rule, would_go=preview.counts.would_go)
    return preview


# --- due status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DueState:
    code: str  # due | not_due | disabled | held | queued | running | stuck
    label: str

    @property
    def is_due(self) -> bool:
        return self.code == "due"


def rule_due_state(rule: RetentionRule, *, now: datetime | None = None) -> DueState:
    now = now or timezone.now()
    if not rule.enabled:
        return DueState("disabled", _("disabled"))
    active = rule.runs.real().filter(status__in=[PurgeRunStatus.PLANNED, PurgeRunStatus.RUNNING])
    running = active.filter(status=PurgeRunStatus.RUNNING).first()
    if running is not None:
        if run_process_gone(running, now=now):
            # The next run from any route closes it as interrupted.
            return DueState(
                "stuck", _("stuck (run #%(id)s: its process is gone)") % {"id": running.pk}
            )
        return DueState("running", _("running (run #%(id)s)") % {"id": running.pk})
    queued = active.first()
    if queued is not None:
        return DueState("queued", _("queued (run #%(id)s)") % {"id": queued.pk})
    holds = hold_state(rule)
    if holds.blocks_rule:
        return DueState("held", _("held by %(holds)s") % {"holds": holds.blocking_label()})
    # A run closed as interrupted did not finish its work: the rule is due again at once.
    last = (
        rule.runs.real()
        .done()
        .filter(interrupted_at__isnull=True)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
    )
    last_started = next((s for s in last if s is not None), None)
    if last_started is None:
        return DueState("due", _("due (never run)"))
    # A calendar schedule: due in beat's slot on the N-th local calendar day after the last
    # run's, however late that run started and whatever the clocks did in between.
    next_on = local_date(last_started) + timedelta(days=rule.run_every_days)
    if local_date(now) >= next_on:
        return DueState("due", _("due"))
    return DueState("not_due", _("next on %(date)s") % {"date": date_display(next_on)})


def rules_due(*, now: datetime | None = None) -> list[RetentionRule]:
    now = now or timezone.now()
    rules = RetentionRule.objects.enabled().select_related("asset__system", "content_type")
    return [rule for rule in rules if rule_due_state(rule, now=now).is_due]


def stuck_runs(*, now: datetime | None = None) -> list[PurgeRun]:
    """Real runs marked running whose process is gone (liveness.py): the next run of their
    rule, from any route, closes them as interrupted."""
    running = PurgeRun.objects.real().running().select_related("rule").order_by("pk")
    return [run for run in running if run_process_gone(run, now=now)]
