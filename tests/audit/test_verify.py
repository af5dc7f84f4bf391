"""audit_verify command, the verification selector and the admin page."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import GENESIS_HASH, audit_event_record

from .conftest import make_events, tamper

pytestmark = pytest.mark.django_db


def _ids() -> list[int]:
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def test_command_reports_an_intact_chain(capsys):
    # given a chain of 25 events
    make_events(25)
    # when the command runs
    call_command("audit_verify")
    # then it says how many were verified, from the genesis
    out = capsys.readouterr().out
    assert "Chain intact: 25 event(s) verified from the first event ever written" in out


def test_command_exits_1_and_names_the_first_broken_link():
    # given a chain whose 10th event was edited with raw SQL
    make_events(20)
    broken = _ids()[9]
    tamper(broken, reason="rewritten")
    # when the command runs, then it fails with exit code 1 naming that event
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert exc.value.returncode == 1
    assert f"Chain BROKEN at event #{broken}" in str(exc.value)
    assert "9 event(s) before it verified" in str(exc.value)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_command_run_as_a_process_exits_1():
    # given a committed chain with a forged action, seen by a separate manage.py process
    make_events(3)
    forged = _ids()[1]
    tamper(forged, action="test.forged")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jitportal.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    # when the operator runs the command
    proc = subprocess.run(
        [sys.executable, "manage.py", "audit_verify"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # then the process exits 1 and names the forged event on stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"Chain BROKEN at event #{forged}" in proc.stderr


def test_command_reports_progress_for_long_chains(capsys):
    # given 1,200 events and progress every 500
    make_events(1200)
    call_command("audit_verify", "--progress-every", "500", "--chunk-size", "300")
    err = capsys.readouterr().err
    # then progress lines name the count, the total and the event reached
    lines = [line for line in err.splitlines() if line.startswith("verified")]
    assert len(lines) == 2
    assert lines[0].startswith("verified 500 of 1200 (42%)")


def test_command_rejects_bad_options():
    with pytest.raises(CommandError, match="--chunk-size must be 1 or more"):
        call_command("audit_verify", "--chunk-size", "0")


def test_deleted_event_in_the_middle_is_detected():
    # given a chain where one event in the middle was deleted
    make_events(5)
    ids = _ids()
    AuditEvent.objects.filter(pk=ids[2]).delete()
    # then the event after the gap is the first broken link
    result = audit_chain_verify()
    assert not result.ok
    assert result.first_broken_id == ids[3]
    assert "prev_hash" in result.problem


def test_recomputed_digest_still_breaks_the_next_link():
    # given an attacker who edits an event and recomputes its own digest
    make_events(4)
    ids = _ids()
    event = AuditEvent.objects.get(pk=ids[1])
    event.reason = "forged"
    from apps.audit.services import digest_of

    tamper(ids[1], reason="forged", hash=digest_of(event))
    # then the following event no longer links to it
    result = audit_chain_verify()
    assert not result.ok and result.first_broken_id == ids[2]


def test_verification_starts_at_the_oldest_remaining_event_after_a_purge():
    # given a chain whose three oldest events were purged by retention
    make_events(8)
    ids = _ids()
    last_purged = AuditEvent.objects.get(pk=ids[2])
    AuditEvent.objects.filter(pk__in=ids[:3]).delete()
    # when it is verified
    result = audit_chain_verify()
    # then the remaining five verify, anchored at the last purged digest, not vouched for
    assert result.ok and result.checked == 5
    assert result.first_id == ids[3]
    assert result.anchor == last_purged.hash and not result.from_genesis
    assert result.anchor_confirmed is False
    assert "NOT vouched for" in result.describe()
    # and once the purge is recorded with its anchor, the anchor is vouched for
    audit_event_record(
        action="audit.trail.purged",
        actor_label="system:beat",
        data={"anchor": last_purged.hash, "up_to_id": ids[2], "deleted": 3},
    )
    result = audit_chain_verify()
    assert result.ok and result.checked == 6 and result.anchor_confirmed is True


def test_empty_chain_verifies():
    result = audit_chain_verify()
    assert result.ok and result.checked == 0 and result.anchor == GENESIS_HASH
    assert "empty" in result.describe()


def test_old_positional_use_still_works():
    # audit_chain_verify's signature stays backward compatible
    make_events(3)
    result = audit_chain_verify(chunk_size=2)
    assert result.ok and result.checked == 3 and result.first_broken_id is None


# --- admin page ---------------------------------------------------------------------------


def test_admin_page_verifies_and_names_the_broken_link(client, auditor):
    # given a chain with a raw-SQL edit of an old event
    make_events(12)
    broken = _ids()[4]
    tamper(broken, data='{"n": 999}')
    client.force_login(auditor)
    url = reverse("admin:audit_auditevent_verify")
    # when the auditor opens the page, nothing runs until asked
    page = client.get(url)
    assert page.status_code == 200 and b"Verify now" in page.content
    assert b"Broken." not in page.content
    # when they verify
    page = client.get(url, {"run": "1"})
    # then the page names the first broken link and links to it
    assert page.status_code == 200
    body = page.content.decode()
    assert f"Chain BROKEN at event #{broken}" in body
    assert reverse("admin:audit_auditevent_change", args=[broken]) in body


def test_admin_page_shows_an_intact_chain(client, dpo):
    make_events(7)
    client.force_login(dpo)
    body = client.get(reverse("admin:audit_auditevent_verify"), {"run": "1"}).content.decode()
    assert "Intact." in body and "7 event(s) verified" in body


def test_admin_pages_are_for_dpo_and_auditors_only(client, approver, staff_user, dpo):
    verify = reverse("admin:audit_auditevent_verify")
    export = reverse("admin:audit_auditevent_export")
    # staff in the admin without the permission: 403
    client.force_login(approver)
    assert client.get(verify).status_code == 403
    assert client.get(export).status_code == 403
    # not admin staff at all: sent to the admin login
    client.force_login(staff_user)
    response = client.get(verify)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # anonymous: login too
    client.logout()
    assert client.get(export).status_code == 302
    # the changelist links both pages for the DPO
    client.force_login(dpo)
    body = client.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    assert verify in body and export in body
