"""Beat runs the Slack backstop (``chat.sync_due``) from the database, like the access
reconcile, so the schedule shows in the admin and can be changed there."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "chat: post and update Slack messages a lost task missed"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every = int(settings.JITPORTAL["RECONCILE_EVERY_SECONDS"])
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "chat.sync_due",
            "interval": interval,
            "enabled": True,
            "description": "Posts the Slack messages of pending requests that failed or were "
            "never tried, and updates the messages of decided requests. Does nothing without "
            "SLACK_BOT_TOKEN. Safe to run at any time.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
