"""A grant its holder gave back after it started is ``revoked`` with ``revoke_code``
``given_back`` (it used to be ``expired`` with its end moved to the give-back time).

Existing rows are found by their ``access.grant.relinquished`` audit event, which holds the
planned end (``previous_ends_at``) and when it was given back (``ended_at``): the window gets
its planned end back and ``revoked_at`` / ``revoked_by`` say when and by whom it ended, as
for a give-back from now on. The audit trail itself is not changed.
"""

from datetime import datetime

from django.db import migrations, models

GIVEN_BACK_REASON = "Given back by the holder before its end."


def given_back_to_revoked(apps, schema_editor):
    Grant = apps.get_model("access", "Grant")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    events = (
        AuditEvent.objects.filter(action="access.grant.relinquished", target_type="access.grant")
        .order_by("pk")
        .values_list("target_id", "actor_id", "data")
    )
    for target_id, actor_id, data in events.iterator(chunk_size=2000):
        if not target_id.isdigit():
            continue
        grant = Grant.objects.filter(
            pk=int(target_id), status="expired", revoked_at__isnull=True
        ).first()
        if grant is None:
            continue
        data = data or {}
        ended_at = grant.ends_at
        planned = grant.ends_at
        try:
            planned = max(planned, datetime.fromisoformat(data["previous_ends_at"]))
        except (KeyError, TypeError, ValueError):
            pass
        grant.revoked_at = ended_at
        grant.revoked_by_id = actor_id or grant.user_id
        grant.revoke_reason = GIVEN_BACK_REASON
        grant.revoke_code = "given_back"
        grant.status = "revoked"
        grant.ends_at = planned
        grant.save(
            update_fields=[
                "revoked_at",
                "revoked_by",
                "revoke_reason",
                "revoke_code",
                "status",
                "ends_at",
            ]
        )


def revoked_to_given_back(apps, schema_editor):
    Grant = apps.get_model("access", "Grant")
    for grant in Grant.objects.filter(revoke_code="given_back").iterator(chunk_size=2000):
        grant.ends_at = grant.revoked_at
        grant.status = "expired"
        grant.revoked_at = None
        grant.revoked_by_id = None
        grant.revoke_reason = ""
        grant.revoke_code = ""
        grant.save(
            update_fields=[
                "ends_at",
                "status",
                "revoked_at",
                "revoked_by",
                "revoke_reason",
                "revoke_code",
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0012_notice_kind_grant_target_failing"),
        ("audit", "0004_action_with_time_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="grant",
            name="revoke_code",
            field=models.CharField(
                blank=True,
                choices=[
                    ("given_back_early", "Given back by the holder before it started."),
                    ("given_back", "Given back by the holder before its end."),
                    (
                        "not_entitled",
                        "Ended at its start: its holder was no longer entitled to it.",
                    ),
                    ("holder_offboarded", "Ended because its holder's account was deactivated."),
                ],
                max_length=32,
                verbose_name="revoke code",
            ),
        ),
        migrations.RunPython(given_back_to_revoked, revoked_to_given_back),
    ]
