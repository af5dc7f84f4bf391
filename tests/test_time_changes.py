"""Every time computation on every night the clocks change (tests/timecases.py).

Durations are elapsed time (UTC); calendar schedules follow the local calendar; wall times the
clocks skip or repeat are refused in forms with a message, never a 500 or a shifted window.
"""

from __future__ import annotations

import ast
import inspect
import pkgutil
from datetime import UTC, datetime, timedelta
from importlib import import_module
from pathlib import Path

import pytest
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_celery_beat.models import CrontabSchedule, PeriodicTask

import apps
from apps.access import services
from apps.access.forms import AccessRequestForm, GrantExtendForm, target_value
from apps.access.models import AccessRequest, Grant, RequestStatus
from jitportal import timekeeping
from jitportal.forms import WindowDateTimeField
from tests.access.factories import AccessRoleFactory, GrantFactory
from tests.factories import DataAssetFactory, UserFactory
from tests.timecases import CHANGE_NIGHTS, TIME_COMPUTATIONS, ChangeNight, time_computation

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def _role(**values):
    values.setdefault("max_duration", timedelta(hours=8))
    values.setdefault("require_justification", False)
    return AccessRoleFactory(assets=[DataAssetFactory()], **values)


def _form_wall(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M}"


# --- the table: one row per time computation ---------------------------------------------------


@time_computation("access: request form window from a start and a number of hours")
def _request_form_hours(night: ChangeNight) -> None:
    role, user = _role(), UserFactory()
    with night.at(night.start - timedelta(days=1)):
        form = AccessRequestForm(
            data={
                "target": target_value(role=role),
                "start": "later",
                "starts_at": _form_wall(night.wall(night.start)),
                "duration": "8",
            },
            user=user,
        )
        assert form.is_valid(), form.errors
        request = services.access_request_submit(requester=user, **form.submit_kwargs())
    request.refresh_from_db()
    assert request.starts_at == night.start
    assert request.ends_at - request.starts_at == 8 * HOUR


@time_computation("access: maximum duration of a window given as local start and end")
def _submit_maximum(night: ChangeNight) -> None:
    role, user = _role(), UserFactory()
    start = night.start.astimezone(night.zone)
    # Eight hours of wall clock are 8 h ± the jump in real time.
    end = timekeeping.local_moment(night.wall(night.start) + 8 * HOUR, night.zone)
    with night.at(night.start - timedelta(days=1)):
        if night.direction == "back":
            with pytest.raises(ValidationError) as refused:
                services.access_request_submit(
                    requester=user, role=role, starts_at=start, ends_at=end
                )
            assert "At most 8 hours" in str(refused.value)
            assert not AccessRequest.objects.filter(requester=user).exists()
        else:
            request = services.access_request_submit(
                requester=user, role=role, starts_at=start, ends_at=end
            )
            assert request.ends_at - request.starts_at == 8 * HOUR - night.jump


@time_computation("access: lapse deadline and first reminder of a request")
def _lapse_and_reminder(night: ChangeNight) -> None:
    role = _role(pending_timeout=3 * HOUR, remind_approvers_after=2 * HOUR)
    user = UserFactory()
    with night.at(night.start):
        request = services.access_request_submit(
            requester=user,
            role=role,
            starts_at=night.start,
            ends_at=night.start + 8 * HOUR,
            justification="Complaint follow-up",
        )
    request.refresh_from_db()
    assert request.lapses_at - night.start == 3 * HOUR
    assert request.remind_at - night.start == 2 * HOUR
    with night.at(night.start + 3 * HOUR - timedelta(seconds=1)):
        services.access_reconcile()
    assert AccessRequest.objects.get(pk=request.pk).status == RequestStatus.PENDING
    with night.at(night.start + 3 * HOUR):
        services.access_reconcile()
    assert AccessRequest.objects.get(pk=request.pk).status == RequestStatus.LAPSED


@time_computation("access: extension form adds elapsed hours to the grant's end")
def _extension(night: ChangeNight) -> None:
    role = _role()
    user = UserFactory()
    with night.at(night.start - 2 * HOUR):
        grant = GrantFactory(
            user=user, request__role=role, starts_at=night.start - 3 * HOUR, ends_at=night.start
        )
        form = GrantExtendForm(data={"extend_by": "8"}, grant=grant)
        assert form.is_valid(), form.errors
        assert form.cleaned_data["new_ends_at"] - grant.ends_at == 8 * HOUR
        # An end 8 wall-clock hours on is 8 h ± the jump: refused when it is more than 8 h.
        wall_end = timekeeping.local_moment(night.wall(night.start) + 8 * HOUR, night.zone)
        if night.direction == "back":
            with pytest.raises(ValidationError, match="at most 8 hours"):
                services.access_request_extend(grant_id=grant.pk, requester=user, ends_at=wall_end)
        request = services.access_request_extend(
            grant_id=grant.pk, requester=user, ends_at=form.cleaned_data["new_ends_at"]
        )
    request.refresh_from_db()
    assert request.ends_at - night.start == 8 * HOUR


@time_computation("access: expiry warning before a grant ends")
def _expiry_warning(night: ChangeNight) -> None:
    ends = night.change_at + 10 * timedelta(minutes=1)
    with night.at(night.start):
        grant = GrantFactory(starts_at=night.start - HOUR, ends_at=ends)
    before = timedelta(minutes=30)
    with night.at(ends - before - timedelta(seconds=1)):
        assert not Grant.objects.due_for_expiry_warning(
            timekeeping.as_utc(datetime.now(UTC)).astimezone(night.zone), before
        ).filter(pk=grant.pk)
    with night.at(ends - before):
        now_local = datetime.now(UTC).astimezone(night.zone)
        assert Grant.objects.due_for_expiry_warning(now_local, before).filter(pk=grant.pk)


@time_computation("access: break-glass access lasts its duration in real time")
def _break_glass(night: ChangeNight) -> None:
    from apps.inventory.roles import groups_sync
    from tests.factories import UserFactory as Users

    groups_sync()
    dpo = Users(groups=["DPO"], is_staff=True)
    with night.at(night.start):
        grant = services.grant_break_glass(
            user=dpo, asset=DataAssetFactory(), duration=4 * HOUR, reason="Outage INC-1"
        )
    grant.refresh_from_db()
    assert grant.ends_at - grant.starts_at == 4 * HOUR


@time_computation("access: a wall time the clocks skip or repeat is refused in every form")
def _odd_wall_times(night: ChangeNight) -> None:
    role, user = _role(), UserFactory()
    odd = _form_wall(night.odd_wall)
    word = "does not exist" if night.direction == "forward" else "happens twice"
    with night.at(night.start - timedelta(days=1)):
        request_form = AccessRequestForm(
            data={
                "target": target_value(role=role),
                "start": "later",
                "starts_at": odd,
                "ends_at": _form_wall(night.odd_wall + 5 * HOUR),
            },
            user=user,
        )
        assert not request_form.is_valid()
        assert word in " ".join(request_form.errors["starts_at"])
        grant = GrantFactory(user=user, request__role=role, ends_at=night.start - HOUR)
        extend_form = GrantExtendForm(data={"ends_at": odd}, grant=grant)
        assert not extend_form.is_valid()
        assert word in " ".join(extend_form.errors["ends_at"])
        if night.direction == "back":
            # The UTC offset settles which of the two is meant.
            offset = night.change_at.astimezone(night.zone).utcoffset()
            assert offset is not None
            sign = "+" if offset >= timedelta(0) else "-"
            hours, rest = divmod(abs(int(offset.total_seconds())), 3600)
            explicit = f"{odd}{sign}{hours:02d}:{rest // 60:02d}"
            extend_form = GrantExtendForm(data={"ends_at": explicit}, grant=grant)
            assert extend_form.is_valid(), extend_form.errors
            assert extend_form.cleaned_data["new_ends_at"] == night.change_at + 30 * timedelta(
                minutes=1
            )


@time_computation("retention: a period of N days is N calendar days")
def _retention_period(night: ChangeNight) -> None:
    from apps.retention.periods import cutoff_for, period_days
    from apps.retention.validation import period_problem

    now = night.change_at + timedelta(days=10)
    with night.at(now), override_settings(JITPORTAL={**_jitportal(), "PURGE_MIN_PERIOD_DAYS": 30}):
        cutoff = cutoff_for(now=now, amount=30, unit="days")
        assert night.wall(cutoff) == night.wall(now) - timedelta(days=30)
        assert period_days(now=now, amount=30, unit="days") == 30
        assert period_problem(amount=30, unit="days", now=now) is None
        month = cutoff_for(now=now, amount=1, unit="months")
        assert night.wall(month).time() == night.wall(now).time()


def _jitportal() -> dict:
    from django.conf import settings

    return dict(settings.JITPORTAL)


def _slot(night: ChangeNight, day_offset: int, hour: int = 2, minute: int = 30) -> datetime:
    """The nightly 02:30 slot ``day_offset`` days after the change day (UTC instant)."""
    day = night.local_day + timedelta(days=day_offset)
    return timekeeping.local_slot(datetime(day.year, day.month, day.day, hour, minute), night.zone)


def _rule_with_run(started: datetime, every: int = 1):
    from apps.crm.models import Customer
    from apps.retention.models import PurgeRun, RetentionRule

    rule = RetentionRule.objects.create(
        name=f"rule {RetentionRule.objects.count() + 1}",
        asset=DataAssetFactory(),
        content_type=ContentType.objects.get_for_model(Customer),
        date_field="last_activity_at",
        period_amount=6,
        period_unit="years",
        action="delete",
        legal_reason="Limitation period",
        legal_citation="Limitation Act 1980 s.5",
        run_every_days=every,
    )
    PurgeRun.objects.create(
        rule=rule,
        trigger="beat",
        actor_label="system:beat",
        action="delete",
        status="succeeded",
        started_at=started,
        finished_at=started,
    )
    return rule


@time_computation("retention: 'run every N days' is due in the slot of the N-th day")
def _retention_due(night: ChangeNight) -> None:
    from apps.retention.selectors import rule_due_state

    # The last run started late (03:45) the night before the change.
    started = _slot(night, -1, 3, 45)
    daily, every_two = _rule_with_run(started), _rule_with_run(started, every=2)
    with night.at(started + HOUR):
        assert rule_due_state(daily).code == "not_due"
    with night.at(_slot(night, 0)):
        assert rule_due_state(daily).is_due
        assert rule_due_state(every_two).code == "not_due"
    with night.at(_slot(night, 1)):
        assert rule_due_state(every_two).is_due


@time_computation("reports: a rule is overdue a calendar day after its interval")
def _retention_overdue(night: ChangeNight) -> None:
    from apps.reports.retention import _rule_problems

    started = _slot(night, -1)
    rule = _rule_with_run(started)

    def problems(now: datetime) -> list[str]:
        with night.at(now):
            return _rule_problems(rule, run_id=1, status="succeeded", started=started, now=now)

    # Due the change day; a day's grace: overdue after the slot of the day after.
    assert problems(_slot(night, 1) - timedelta(minutes=1)) == []
    assert problems(_slot(night, 1) + timedelta(minutes=1)) == [
        f"rule “{rule.name}” is overdue: last run 2 days ago, runs every 1 day(s)"
    ]


@time_computation("reports: a nightly beat task is late once its next slot has passed")
def _beat_late(night: ChangeNight) -> None:
    from apps.reports.dashboard import beat_status

    PeriodicTask.objects.all().delete()
    nightly = CrontabSchedule.objects.create(minute="30", hour="2", timezone=night.zone_name)
    task = PeriodicTask.objects.create(
        name="retention: run due purges",
        task="apps.retention.tasks.purge_due_rules",
        crontab=nightly,
        last_run_at=_slot(night, -1),
    )

    def late(now: datetime) -> bool:
        with night.at(now):
            return {row["name"]: row for row in beat_status(now=now)}[task.name]["late"]

    assert not late(_slot(night, 0) + timedelta(minutes=4))
    assert late(_slot(night, 0) + timedelta(minutes=6))


@time_computation("reports and audit: a period of whole days runs from local midnight")
def _day_bounds(night: ChangeNight) -> None:
    from apps.audit.exports import parse_moment
    from apps.audit.forms import AuditExportForm
    from apps.reports.forms import PeriodForm

    day = night.local_day
    length = 24 * HOUR - night.jump
    with night.at(night.change_at + timedelta(days=2)):
        period = PeriodForm(data={"start": day.isoformat(), "end": day.isoformat()})
        assert period.is_valid(), period.errors
        start, end = period.bounds()
        assert end - start == length
        assert (
            night.wall(start).date() == day
            and night.wall(start - timedelta(seconds=1)).date() < day
        )
        export = AuditExportForm(
            data={"since": day.isoformat(), "until": day.isoformat(), "format": "jsonl"}
        )
        assert export.is_valid(), export.errors
        assert export.since_at() == start and export.until_at() == end
        assert parse_moment(day.isoformat(), name="since") == start
        with pytest.raises(ValueError, match=r"does not exist|happens twice"):
            parse_moment(night.odd_wall.isoformat(), name="since")


@time_computation("reports: dashboard counts grants per local day")
def _dashboard_days(night: ChangeNight) -> None:
    from apps.reports.dashboard import _grants_over_time

    # A grant live only in the last minutes of the change day.
    next_day = timekeeping.day_start(night.local_day + timedelta(days=1), night.zone)
    with night.at(night.start):
        GrantFactory(starts_at=next_day - timedelta(minutes=20), ends_at=next_day - HOUR / 6)
    with night.at(next_day + HOUR):
        labels, live, started = _grants_over_time(next_day + HOUR)
    assert labels[-2] == f"{night.local_day:%d %b}"
    assert live[-2:] == [1, 0] and started[-2:] == [1, 0]


# --- the table runs on every night -------------------------------------------------------------


@pytest.mark.parametrize("night", CHANGE_NIGHTS, ids=str)
@pytest.mark.parametrize("name", sorted(TIME_COMPUTATIONS))
def test_every_time_computation_on_every_change_night(groups, name, night):
    TIME_COMPUTATIONS[name](night)


@pytest.mark.parametrize("night", CHANGE_NIGHTS, ids=str)
def test_the_nights_are_real_changes(night):
    # given the tz database: the offset changes at the instant named, the way named
    assert night.jump == (HOUR if night.direction == "forward" else -HOUR)


# --- the examples --------------------------------------------------------------------------------


DUBLIN_BACK = CHANGE_NIGHTS[1]


def test_eight_hours_from_half_past_midnight_in_dublin_when_clocks_go_back_are_eight(groups):
    # given TIME_ZONE=Europe/Dublin and a role with an 8-hour maximum
    role, user = _role(max_duration=timedelta(hours=8)), UserFactory()
    with DUBLIN_BACK.at(datetime(2027, 10, 30, 12, 0, tzinfo=UTC)):
        # when 8 hours are asked from 2027-10-31 00:30 local
        form = AccessRequestForm(
            data={
                "target": target_value(role=role),
                "start": "later",
                "starts_at": "2027-10-31T00:30",
                "duration": "8",
            },
            user=user,
        )
        assert form.is_valid(), form.errors
        request = services.access_request_submit(requester=user, **form.submit_kwargs())
        # and a window of 00:30 to 08:30 wall clock (9 real hours) is asked directly
        with pytest.raises(ValidationError, match="this asks for 9 hours"):
            services.access_request_submit(
                requester=UserFactory(),
                role=role,
                starts_at=datetime(2027, 10, 31, 0, 30, tzinfo=DUBLIN_BACK.zone),
                ends_at=datetime(2027, 10, 31, 8, 30, tzinfo=DUBLIN_BACK.zone),
            )
    # then the stored window is 8 elapsed hours, ending 07:30 local (GMT)
    request.refresh_from_db()
    assert request.ends_at - request.starts_at == timedelta(hours=8)
    assert request.ends_at == datetime(2027, 10, 31, 7, 30, tzinfo=UTC)


def test_a_thirty_day_period_is_not_refused_as_29_days_after_spring_forward(groups):
    # given TIME_ZONE=Europe/Dublin, a 30-day minimum, and a day 10 days after clocks went forward
    from apps.retention.validation import period_problem

    dublin_forward = CHANGE_NIGHTS[0]
    now = datetime(2027, 4, 7, 12, 0, tzinfo=UTC)
    with (
        dublin_forward.at(now),
        override_settings(JITPORTAL={**_jitportal(), "PURGE_MIN_PERIOD_DAYS": 30}),
    ):
        # when a rule of 30 days is checked, then it is 30 days, not refused
        assert period_problem(amount=30, unit="days", now=now) is None


def test_a_nightly_rule_does_not_skip_the_night_the_clocks_go_forward(groups):
    # given TIME_ZONE=Europe/Dublin and a daily rule whose run began at 02:30:40 the night before
    from apps.retention.selectors import rule_due_state

    night = CHANGE_NIGHTS[0]
    rule = _rule_with_run(datetime(2027, 3, 27, 2, 30, 40, tzinfo=UTC))
    # when beat asks at 02:30 local (01:30 UTC) on the night clocks went forward
    with night.at(datetime(2027, 3, 28, 1, 30, tzinfo=UTC)):
        # then the rule is due (23 elapsed hours later, but the next calendar slot)
        assert rule_due_state(rule).is_due


def test_a_wall_time_in_the_spring_gap_is_a_form_error_not_a_500(client, groups):
    # given Europe/Dublin, where 2027-03-28 01:30 does not exist
    role = _role()
    user = UserFactory()
    with CHANGE_NIGHTS[0].at(datetime(2027, 3, 27, 12, 0, tzinfo=UTC)):
        client.force_login(user)
        response = client.post(
            "/request/",
            {
                "target": target_value(role=role),
                "start": "later",
                "starts_at": "2027-03-28T01:30",
                "duration": "2",
            },
        )
    # then the page answers with the reason and nothing is stored
    assert response.status_code == 200
    assert "does not exist in Europe/Dublin" in response.content.decode()
    assert not AccessRequest.objects.filter(requester=user).exists()


# --- the kind: no time arithmetic outside the helper ---------------------------------------------

APPS_DIR = Path(apps.__file__).parent
# Demo data (apps/demo) is generated for a screenshot, not decided on.
EXEMPT = {"demo"}


def _calls(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = ast.unparse(func)
            if name.endswith(("make_aware", "datetime.combine")):
                found.append((node.lineno, name))
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "replace"
                and any(k.arg in {"hour", "minute", "day", "tzinfo"} for k in node.keywords)
            ):
                found.append((node.lineno, ast.unparse(node)))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            for side in (node.left, node.right):
                if isinstance(side, ast.Call) and ast.unparse(side.func).endswith("localtime"):
                    found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_time_arithmetic_outside_the_shared_helper():
    # given every module of the apps (migrations and demo data aside)
    offenders = []
    for path in sorted(APPS_DIR.rglob("*.py")):
        if "migrations" in path.parts or path.relative_to(APPS_DIR).parts[0] in EXEMPT:
            continue
        for line, text in _calls(ast.parse(path.read_text())):
            offenders.append(f"{path.relative_to(APPS_DIR.parent)}:{line}: {text}")
    # then local wall times are made and moved only by jitportal.timekeeping
    assert offenders == []


def _all_form_classes() -> list[type[forms.Form]]:
    for info in pkgutil.walk_packages(apps.__path__, "apps."):
        if info.name.rsplit(".", 1)[-1] in {"forms", "admin", "views"}:
            import_module(info.name)
    seen, todo = [], [forms.BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("apps."):
                seen.append(sub)
    return seen


def test_every_date_time_field_of_the_apps_refuses_skipped_and_repeated_times():
    # given every form class of the apps, discovered at run time
    plain = []
    for form in _all_form_classes():
        for name, field in getattr(form, "base_fields", {}).items():
            if isinstance(field, forms.DateTimeField) and not isinstance(
                field, WindowDateTimeField
            ):
                plain.append(f"{form.__module__}.{form.__qualname__}.{name}")
    # then each date-time field is the one that explains a skipped or repeated wall time
    assert plain == []
    assert inspect.getsource(WindowDateTimeField.to_python).count("local_moment") == 1
