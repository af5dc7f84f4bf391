"""A purge run's refusal or stop is stored as a code with its parameters and put in words
when it is read, in the reader's language. The stored text of earlier runs stays, as
``error_detail``, and is shown as it was written."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0003_purgerun_liveness"),
    ]

    operations = [
        migrations.RenameField(model_name="purgerun", old_name="error", new_name="error_detail"),
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
