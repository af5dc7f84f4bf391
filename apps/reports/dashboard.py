"""The landing page for the DPO and approvers: counts and charts, all read in a few queries."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat.models import PeriodicTask

from apps.access.models import AccessRequest, Grant
from apps.connectors.selectors import removals_pending_by_target
from apps.inventory.completeness import REQUIREMENTS
from apps.inventory.models import ProcessingActivity
from apps.webhooks.selectors import deliveries_given_up_by_subscription, given_up_alert_period
from jitportal.timekeeping import (
    crontab_next_slot,
    day_start,
    elapsed_add,
    elapsed_between,
    local_date,
)

from . import svg
from .approvals import human_seconds
from .retention import retention_dashboard
from .ropa import CONTROLLER, PROCESSOR, missing_requirements_by_activity, record_completeness

AGE_BUCKETS: tuple[tuple[str | Promise, timedelta], ...] = (
    (gettext_lazy("< 1 h"), timedelta(hours=1)),
    (gettext_lazy("1–8 h"), timedelta(hours=8)),
    (gettext_lazy("8–24 h"), timedelta(days=1)),
    (gettext_lazy("1–2 days"), timedelta(days=2)),
    (gettext_lazy("> 2 days"), timedelta.max),
)
DAYS = 30


def _age_label(age: timedelta) -> str:
    for label, limit in AGE_BUCKETS:
        if age < limit:
            return str(label)
    return str(AGE_BUCKETS[-1][0])


def _grants_over_time(now: datetime) -> tuple[list[str], list[int], list[int]]:
    """Per day of the last 30: grants live at some moment of the day, and grants started."""
    today = timezone.localdate(now)
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    first = day_start(days[0])
    windows = list(
        Grant.objects.filter(starts_at__lt=now, ends_at__gt=first).values_list(
            "starts_at", "ends_at", "revoked_at"
        )
    )
    live = [0] * DAYS
    started = [0] * DAYS
    for starts_at, ends_at, revoked_at in windows:
        end = min(ends_at, revoked_at) if revoked_at else ends_at
        if end <= starts_at:
            continue
        first_day = max(0, (timezone.localdate(starts_at) - days[0]).days)
        last_day = min(DAYS - 1, (local_date(end - timedelta(microseconds=1)) - days[0]).days)
        for i in range(first_day, last_day + 1):
            live[i] += 1
        if starts_at >= first:
            started[(local_date(starts_at) - days[0]).days] += 1
    return [d.strftime("%d %b") for d in days], live, started


# django-celery-beat's DatabaseScheduler writes last_run_at back every few minutes, not at
# each run: allow for that before calling a schedule late.
BEAT_SYNC_SLACK = timedelta(minutes=5)
DAILY_SLACK = timedelta(hours=26)


def _next_due(task: PeriodicTask) -> tuple[datetime, datetime] | None:
    """``(due, late_after)``: when ``task`` is next due, and when it is late if it has not
    run by then (three intervals, or the crontab slot, plus the slack).

    Counted from its last run, or, for a task that never ran, from when its schedule began
    (``start_time``, else when the task was created or last changed): a nightly job created
    this afternoon is first due tonight, not late now."""
    since = task.last_run_at or task.start_time or task.date_changed
    if since is None:
        return None
    if task.interval is not None:
        every = task.interval.schedule.run_every
        due = since if task.last_run_at is None else elapsed_add(since, every)
        return due, elapsed_add(since, 3 * every + BEAT_SYNC_SLACK)
    if task.crontab is not None:
        # A calendar schedule: late once the slot after the last run has passed, found on
        # the crontab's own calendar (a nightly 02:30 stays 02:30 when the clocks change).
        # A minute on, so a run sent a moment before its slot still counts for it.
        after = elapsed_add(since, timedelta(minutes=1)) if task.last_run_at else since
        slot = crontab_next_slot(task.crontab.schedule, after)
        return slot, elapsed_add(slot, BEAT_SYNC_SLACK)
    return since, elapsed_add(since, DAILY_SLACK)


def beat_status(*, now: datetime) -> list[dict[str, Any]]:
    """The portal's periodic tasks, when each last ran, and whether that is later than its
    schedule allows: a late reconcile means beat or the worker is down (access still ends on
    time, decided at use, but statuses, mirror rows and notices wait)."""
    rows = []
    tasks = (
        PeriodicTask.objects.filter(Q(task__startswith="access.") | Q(task__startswith="apps."))
        .select_related("interval", "crontab")
        .order_by("name")
    )
    for task in tasks:
        since = elapsed_between(task.last_run_at, now) if task.last_run_at else None
        due = _next_due(task)
        late = due is not None and due[1] < now
        rows.append(
            {
                "name": task.name,
                "enabled": task.enabled,
                "last_run_at": task.last_run_at,
                "ago": human_seconds(since.total_seconds()) if since is not None else None,
                # A task that never ran is late only once it has been due (plus the slack).
                "first_due_at": due[0] if due is not None and not task.last_run_at else None,
                "late": task.enabled and late,
            }
        )
    return rows


def dashboard_data(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    live_grants = Grant.objects.live(now)
    pending = list(
        AccessRequest.objects.pending()
        .select_related("requester", "role", "asset__system")
        .order_by("created_at")
        .values_list("pk", "created_at", "requester__username", "role__name", "asset__name")
    )
    ages = Counter(_age_label(elapsed_between(created, now)) for _pk, created, *_rest in pending)
    labels, live_series, started_series = _grants_over_time(now)
    expiring = (
        live_grants.filter(ends_at__lte=elapsed_add(now, timedelta(days=1)))
        .select_related("user")
        .order_by("ends_at")[:10]
    )
    active = ProcessingActivity.objects.filter(is_active=True)
    activities = list(active.values("pk", "name", "next_review_on"))
    missing_by_activity = missing_requirements_by_activity(active)
    requirement_labels = {r.key: str(r.label) for r in REQUIREMENTS}
    gaps_by_req: Counter[str] = Counter()
    for keys in missing_by_activity.values():
        gaps_by_req.update(requirement_labels[k] for k in keys)
    complete, total = record_completeness(CONTROLLER)
    processor_complete, processor_total = record_completeness(PROCESSOR)
    today = timezone.localdate(now)
    reviews_due = sorted(
        (a for a in activities if a["next_review_on"] is None or a["next_review_on"] <= today),
        key=lambda a: (a["next_review_on"] is not None, a["next_review_on"] or today),
    )
    retention = retention_dashboard(now=now)
    return {
        "now": now,
        # "Access not yet removed in target X" until the target confirms (apps/connectors).
        "connector_removals": removals_pending_by_target(),
        # "Webhook deliveries given up to X" while one was, lately (apps/webhooks.selectors).
        "webhooks_given_up": deliveries_given_up_by_subscription(now=now),
        "webhooks_given_up_hours": int(given_up_alert_period().total_seconds() // 3600),
        "live_grants": live_grants.count(),
        "break_glass_live": live_grants.filter(is_break_glass=True).count(),
        "break_glass_unreviewed": Grant.objects.filter(
            is_break_glass=True, needs_review=True
        ).count(),
        "pending": len(pending),
        "pending_oldest": [
            {
                "id": pk,
                "age": human_seconds((now - created).total_seconds()),
                "requester": who,
                "target": role or asset or "",
            }
            for pk, created, who, role, asset in pending[:5]
        ],
        "pending_age_chart": svg.bar_chart(
            [(str(label), ages.get(str(label), 0)) for label, _limit in AGE_BUCKETS],
            title=_("Pending requests by age"),
            colors=("#1f7a4d", "#2446a6", "#a35c00", "#b3261e", "#b3261e"),
        ),
        "grants_chart": svg.line_chart(
            {_("grants live that day"): live_series, _("grants started"): started_series},
            labels,
            title=_("Grants over the last 30 days"),
        ),
        "grants_sparkline": svg.sparkline(live_series, title=_("Grants live per day, 30 days")),
        "expiring_24h": list(expiring),
        "expiring_7d": live_grants.filter(ends_at__lte=elapsed_add(now, timedelta(days=7))).count(),
        # Counted as the record of processing counts them (ropa.record_activities).
        "activities": total,
        "activities_complete": complete,
        "completeness_percent": round(100 * complete / total) if total else None,
        "processor_activities": processor_total,
        "processor_activities_complete": processor_complete,
        "gaps_chart": svg.bar_chart(
            gaps_by_req.most_common(8), title=_("Missing Art. 30 values"), color="#b3261e"
        ),
        "reviews_due": reviews_due[:10],
        "reviews_due_count": len(reviews_due),
        "retention": retention,
        "beat": beat_status(now=now),
    }
