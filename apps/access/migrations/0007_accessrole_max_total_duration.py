"""Roles get a limit on how far one grant may reach through extensions (24 hours by
default; never shorter than the role's maximum duration, so existing roles stay valid)."""

from datetime import timedelta

from django.db import migrations, models


def at_least_max_duration(apps, schema_editor):
    AccessRole = apps.get_model("access", "AccessRole")
    for role in AccessRole.objects.filter(max_duration__gt=timedelta(hours=24)):
        role.max_total_duration = role.max_duration
        role.save(update_fields=["max_total_duration"])


class Migration(migrations.Migration):
    dependencies = [("access", "0006_notice_outbox")]

    operations = [
        migrations.AddField(
            model_name="accessrole",
            name="max_total_duration",
            field=models.DurationField(
                default=timedelta(hours=24),
                help_text="How far one grant may reach from its start, its extensions "
                "included; checked on every extension, automatic ones too. At least the "
                "maximum duration.",
                verbose_name="longest reach through extensions",
            ),
        ),
        migrations.RunPython(at_least_max_duration, migrations.RunPython.noop),
    ]
