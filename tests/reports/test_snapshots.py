"""ROPA snapshots: taken by the DPO, digest of the canonical JSON, compared across dates."""

from __future__ import annotations

import hashlib
import json

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.reports.models import RopaSnapshot
from apps.reports.services import ropa_snapshot_take
from apps.reports.snapshots import canonical_json, ropa_diff, ropa_snapshot_intact
from tests.factories import ProcessingActivityFactory

pytestmark = pytest.mark.django_db


def test_snapshot_keeps_content_and_its_digest(ropa_world, dpo):
    # when the DPO freezes the record
    with time_machine.travel("2026-06-30 09:00:00+00:00", tick=False):
        snapshot = ropa_snapshot_take(taken_by=dpo, note="Annual review")
    snapshot.refresh_from_db()
    # then the digest is the SHA-256 of the canonical JSON of what is stored
    expected = hashlib.sha256(
        json.dumps(
            snapshot.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    ).hexdigest()
    assert snapshot.digest == expected
    assert ropa_snapshot_intact(snapshot)
    assert snapshot.taken_by == dpo and snapshot.taken_by_label == "dpo"
    assert snapshot.taken_at.isoformat() == "2026-06-30T09:00:00+00:00"
    assert snapshot.activity_count == 3 and snapshot.gaps_total == 10
    assert snapshot.content["generated_at"] == "2026-06-30T09:00:00+00:00"
    # and the act is in the audit trail with the digest
    event = AuditEvent.objects.get(action="reports.ropa.snapshot_taken")
    assert event.actor == dpo and event.data["digest"] == snapshot.digest
    assert event.target_id == str(snapshot.pk)


def test_a_changed_snapshot_no_longer_matches(ropa_world, dpo):
    snapshot = ropa_snapshot_take(taken_by=dpo)
    content = snapshot.content
    content["activities"][0]["name"] = "forged"
    RopaSnapshot.objects.filter(pk=snapshot.pk).update(content=content)
    snapshot.refresh_from_db()
    assert not ropa_snapshot_intact(snapshot)


def test_only_the_dpo_takes_snapshots(ropa_world, auditor):
    with pytest.raises(PermissionDenied):
        ropa_snapshot_take(taken_by=auditor)
    assert not RopaSnapshot.objects.exists()


def test_diff_names_added_removed_and_changed_fields(ropa_world, dpo):
    # given a snapshot, then one activity added, one made inactive, one changed
    before = ropa_snapshot_take(taken_by=dpo)
    ProcessingActivityFactory(name="New marketing", reference="PA-010")
    ropa_world.joint.is_active = False
    ropa_world.joint.save()
    ropa_world.complete.purposes = "Running and closing customer accounts"
    ropa_world.complete.security_measures = "MFA, encryption, JIT access"
    ropa_world.complete.save()
    after = ropa_snapshot_take(taken_by=dpo)
    # when compared
    diff = ropa_diff(before.content, after.content)
    # then
    assert [a["name"] for a in diff["added"]] == ["New marketing"]
    assert [a["name"] for a in diff["removed"]] == ["Joint research"]
    [changed] = diff["changed"]
    assert changed["name"] == "Customer accounts"
    fields = {f["key"]: (f["before"], f["after"]) for f in changed["fields"]}
    assert fields == {
        "purposes": ("Running customer accounts", "Running and closing customer accounts"),
        "security_measures": ("MFA, encryption at rest", "MFA, encryption, JIT access"),
    }
    assert diff["unchanged"] == 1


def test_admin_snapshot_pages(client, ropa_world, dpo, auditor):
    # the DPO takes a snapshot from the ROPA page
    client.force_login(dpo)
    response = client.post(
        reverse("admin:reports_ropasnapshot_take"), {"record": "controller", "note": "Q2"}
    )
    first = RopaSnapshot.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:reports_ropasnapshot_change", args=[first.pk])
    ropa_world.complete.purposes = "Something else"
    ropa_world.complete.save()
    client.post(reverse("admin:reports_ropasnapshot_take"), {"record": "controller"})
    second = RopaSnapshot.objects.exclude(pk=first.pk).get()
    # an auditor reads, verifies, downloads and compares them
    client.force_login(auditor)
    listing = client.get(reverse("admin:reports_ropasnapshot_changelist"))
    assert listing.status_code == 200 and first.digest[:16].encode() in listing.content
    detail = client.get(reverse("admin:reports_ropasnapshot_change", args=[first.pk]))
    assert detail.status_code == 200
    assert b'id="digest-ok"' in detail.content and first.digest.encode() in detail.content
    raw = client.get(
        reverse("admin:reports_ropasnapshot_download", args=[first.pk]), {"format": "json"}
    )
    # the JSON download is the canonical content: its SHA-256 is the digest
    assert hashlib.sha256(raw.content).hexdigest() == first.digest
    assert raw.content == canonical_json(first.content)
    for fmt in ("xlsx", "csv", "html"):
        r = client.get(
            reverse("admin:reports_ropasnapshot_download", args=[first.pk]), {"format": fmt}
        )
        assert r.status_code == 200 and r["Content-Disposition"].endswith(f'.{fmt}"')
    compare = client.get(
        reverse("admin:reports_ropasnapshot_compare"), {"before": first.pk, "after": second.pk}
    )
    body = compare.content.decode()
    assert compare.status_code == 200
    assert "0 added, 0 removed, 1 changed" in body
    assert "<del>Running customer accounts</del>" in body and "<ins>Something else</ins>" in body
    # the auditor may not take one
    assert (
        client.post(
            reverse("admin:reports_ropasnapshot_take"), {"record": "controller"}
        ).status_code
        == 403
    )
    # bad input: same snapshot twice, unknown format, unknown id
    same = client.get(
        reverse("admin:reports_ropasnapshot_compare"), {"before": first.pk, "after": first.pk}
    )
    assert b"Choose two different snapshots." in same.content
    bad = client.get(
        reverse("admin:reports_ropasnapshot_download", args=[first.pk]), {"format": "pdf"}
    )
    assert bad.status_code == 302
    assert client.get(reverse("admin:reports_ropasnapshot_change", args=[9999])).status_code == 404
    assert client.get("/admin/reports/ropasnapshot/abc/change/").status_code == 404
    assert RopaSnapshot.objects.count() == 2


def test_snapshot_of_a_changed_record_kind_cannot_be_compared(ropa_world, dpo, client):
    a = ropa_snapshot_take(taken_by=dpo)
    b = ropa_snapshot_take(taken_by=dpo, processor=True)
    client.force_login(dpo)
    response = client.get(
        reverse("admin:reports_ropasnapshot_compare"), {"before": a.pk, "after": b.pk}
    )
    assert b"Compare a controller record with a controller record" in response.content
