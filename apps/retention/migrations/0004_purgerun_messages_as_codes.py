"""A purge run's refusal, stop and notes are stored as codes with their parameters and put
in words when they are read, in the reader's language. The stored text of earlier runs
stays, as ``error_detail`` and ``note_detail``, and is shown as it was written."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0003_purgerun_liveness"),
    ]

    operations = [
        migrations.RenameField(model_name="purgerun", old_name="error", new_name="error_detail"),
        migrations.RenameField(model_name="purgerun", old_name="note", new_name="note_detail"),
        migrations.AddField(
            model_name="purgerun",
            name="note_codes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="purgerun",
            name="error_code",
            field=models.CharField(
                blank=True,
                choices=[
                    ("another_running", "another run of the rule was running"),
                    ("rule_problems", "the rule could not run"),
                    ("batch_size", "the batch size was below 1"),
                    ("four_eyes", "four-eyes confirmation needed"),
                    ("stopped_before_start", "stopped before it began"),
                    ("interrupted", "interrupted"),
                ],
                max_length=30,
                verbose_name="error",
            ),
        ),
        migrations.AddField(
            model_name="purgerun",
            name="error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
