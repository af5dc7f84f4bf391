"""``manage.py connectors_drift``: drift by hand against the real PostgreSQL and MariaDB
targets, limited with --target, changing nothing with --dry-run, one line per target, exit 1
when drift is found (cron and CI alert on it), 2 for a target it cannot check, 3 when a target
did not answer; a webhook target is "not observable", never a failure."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from apps.audit.models import AuditEvent
from apps.connectors.models import DriftFinding, Provisioning, ProvisioningState, Target
from tests.connectors.conftest import TARGET_DB
from tests.connectors.helpers import activate, committed
from tests.connectors.mariadb_support import admin_connect

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


class Run:
    """One run of the command: its exit code, what it printed, and the closing error."""

    def __init__(self, *args: str) -> None:
        out = StringIO()
        self.code, self.error = 0, ""
        try:
            with committed():
                call_command("connectors_drift", *args, stdout=out, stderr=StringIO())
        except CommandError as exc:
            self.code, self.error = exc.returncode, str(exc)
        self.lines = out.getvalue().splitlines()


def pg_role_exists(cluster, name: str) -> bool:
    with cluster.superuser(TARGET_DB) as conn:
        found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
    return found is not None


def pg_role_by_hand(cluster, name: str = "jpt_by_hand") -> str:
    with cluster.superuser(TARGET_DB) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
    return name


def mariadb_user_by_hand(mariadb_target) -> str:
    name = f"{mariadb_target.target.account_prefix}by_hand"
    with admin_connect() as admin, admin.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY 'byhand'", [name])
    return name


@pytest.fixture
def webhook_target(db):
    return Target.objects.create(
        name="HR system", kind="webhook", account_prefix="jpt_", options={"subscription": "HR"}
    )


def test_no_drift_exits_zero_with_a_line_per_target(
    pg_target, bound_asset, staff_user, mariadb_target, webhook_target
):
    # Given a live grant's role in PostgreSQL, a clean MariaDB target and a webhook target
    activate(staff_user, bound_asset)
    maria = mariadb_target.target.name

    # When drift is checked by hand
    run = Run()

    # Then each target has its line, the webhook one "not observable", and the exit is 0
    assert run.code == 0, run.error
    assert run.lines == [
        "Checking 3 targets for drift.",
        "CRM database (postgresql): no drift",
        f"{maria} (mariadb): no drift",
        "HR system: not observable (webhook)",
        "No drift.",
    ]
    assert not DriftFinding.objects.exists()


def test_drift_exits_one_after_repairing_what_the_rules_allow(
    pg_target, target_db, mariadb_target, staff_user
):
    # Given a role made by hand in the authoritative PostgreSQL target and a user made by
    # hand in the report-only MariaDB target
    role = pg_role_by_hand(target_db)
    user = mariadb_user_by_hand(mariadb_target)

    # When drift is checked
    run = Run()

    # Then it exits 1 (so cron and CI alert), naming each finding under its target
    assert run.code == 1
    assert run.error == "Drift found: 2 findings."
    assert "CRM database (postgresql): 1 finding" in run.lines
    assert (
        "  jpt_by_hand: Account with the portal's prefix the portal never made; Removed"
        in run.lines
    )
    assert f"  {user}: Account with the portal's prefix the portal never made; Reported only" in (
        run.lines
    )
    # the authoritative target's stray is gone, the report-only one's stays
    assert not pg_role_exists(target_db, role)
    assert mariadb_target.users() == {user}
    # and each finding is recorded, with its audit event
    assert DriftFinding.objects.count() == 2
    assert AuditEvent.objects.filter(action="connectors.drift.found").count() == 2


def test_a_dry_run_says_what_would_be_done_and_changes_nothing(
    pg_target, target_db, bound_asset, staff_user, mariadb_target
):
    # Given a hand-made role, and a live grant whose role someone dropped
    role = pg_role_by_hand(target_db)
    row = Provisioning.objects.get(grant=activate(staff_user, bound_asset))
    with target_db.superuser(TARGET_DB) as conn:
        conn.execute(f'DROP ROLE "{row.account}"')
    user = mariadb_user_by_hand(mariadb_target)

    # When drift is checked as a dry run
    run = Run("--dry-run")

    # Then it says what a real check would do and still exits 1
    assert run.code == 1
    assert "Dry run: nothing is removed, provisioned again or recorded." in run.lines
    assert (
        "  jpt_by_hand: Account with the portal's prefix the portal never made; would be removed"
        in run.lines
    )
    assert (
        f"  {row.account}: Account a live grant needs is missing; would be provisioned again"
        in run.lines
    )
    reported = "would be reported only"
    assert f"  {user}: Account with the portal's prefix the portal never made; {reported}" in (
        run.lines
    )
    # but nothing changed: neither target, nor the provisioning, nor the records
    assert pg_role_exists(target_db, role)
    assert not pg_role_exists(target_db, row.account)
    row.refresh_from_db()
    assert row.state == ProvisioningState.PROVISIONED
    assert mariadb_target.users() == {user}
    assert not DriftFinding.objects.exists()
    assert not AuditEvent.objects.filter(action="connectors.drift.found").exists()


def test_target_limits_the_check_to_the_targets_named(pg_target, target_db, mariadb_target):
    # Given drift in PostgreSQL only
    role = pg_role_by_hand(target_db)
    maria = mariadb_target.target

    # When only the MariaDB target is checked (by name, and again by id)
    run = Run("--target", maria.name, "--target", str(maria.pk))

    # Then PostgreSQL is not looked at: its stray stays, and the exit is 0
    assert run.code == 0, run.error
    assert run.lines == [
        "Checking 1 target for drift.",
        f"{maria.name} (mariadb): no drift",
        "No drift.",
    ]
    assert pg_role_exists(target_db, role)

    # When PostgreSQL is named, then its drift is found
    run = Run("--target", "CRM database")
    assert run.code == 1 and not pg_role_exists(target_db, role)


def test_an_unknown_blank_or_disabled_target_is_refused_and_nothing_is_checked(
    pg_target, target_db, mariadb_target
):
    role = pg_role_by_hand(target_db)
    maria = mariadb_target.target

    unknown = Run("--target", "CRM databse")
    assert unknown.code == 2
    assert unknown.error == (
        f"No target with id or name “CRM databse”. Targets: {pg_target.pk} (CRM database), "
        f"{maria.pk} ({maria.name})."
    )
    # a known target given beside an unknown one is not checked either
    assert Run("--target", "CRM database", "--target", "nope").code == 2
    assert pg_role_exists(target_db, role) and not DriftFinding.objects.exists()

    blank = Run("--target", "  ")
    assert (blank.code, blank.error) == (2, "Name the target to check by its id or its exact name.")

    maria.enabled = False
    maria.save(update_fields=["enabled"])
    disabled = Run("--target", maria.name)
    assert disabled.code == 2 and "is disabled" in disabled.error

    with pytest.raises(CommandError, match="--target: expected one argument"):
        call_command("connectors_drift", "--target")


def test_refusals_are_in_the_organisations_language(pg_target, settings):
    settings.LANGUAGE_CODE = "de"
    with translation.override("de"):
        run = Run("--target", "nope")
    assert run.code == 2
    assert run.error.startswith("Kein Ziel mit der ID oder dem Namen „nope“")


def test_a_target_that_does_not_answer_exits_three(pg_target, mariadb_target, monkeypatch):
    monkeypatch.setenv("JITPORTAL_TEST_TARGET_URL", "postgresql://nobody@127.0.0.1:1/none")
    run = Run()
    assert run.code == 3
    assert run.error == "1 target did not answer."
    assert any(line.startswith("CRM database (postgresql): did not answer:") for line in run.lines)
    assert f"{mariadb_target.target.name} (mariadb): no drift" in run.lines
    assert not DriftFinding.objects.exists()


def test_a_webhook_target_alone_is_not_observable_and_exits_zero(webhook_target):
    run = Run("--target", "HR system")
    assert run.code == 0, run.error
    assert run.lines == [
        "Checking 1 target for drift.",
        "HR system: not observable (webhook)",
        "No drift.",
    ]


def test_without_enabled_targets_there_is_nothing_to_check(db):
    run = Run()
    assert (run.code, run.lines) == (0, ["No enabled target: nothing to check."])
