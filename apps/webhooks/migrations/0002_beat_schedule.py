"""Beat sends due webhook deliveries from the database schedule (django-celery-beat), so
retries happen and a delivery whose message was lost is still sent."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "webhooks: send due deliveries"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every = int(settings.WEBHOOKS["SWEEP_EVERY_SECONDS"])
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "webhooks.deliveries_send_due",
            "interval": interval,
            "enabled": True,
            "description": "Sends webhook deliveries whose next try has come: retries with "
            "backoff, and deliveries whose queued message was lost. Safe to run at any time.",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
