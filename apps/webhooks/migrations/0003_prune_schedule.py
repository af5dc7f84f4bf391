"""The nightly beat entry that applies the delivery log's retention
(``WEBHOOK_DELIVERY_RETENTION_DAYS``; editable under *Periodic tasks* afterwards)."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "webhooks: delete old deliveries"
TASK = "webhooks.deliveries_prune"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return  # already there, perhaps edited in the admin: leave it alone
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task=TASK,
        crontab=crontab,
        enabled=True,
        description="Deletes delivered and given-up webhook deliveries older than "
        "WEBHOOK_DELIVERY_RETENTION_DAYS, in batches; waiting ones and those a connector "
        "still needs are kept. Safe to run at any time.",
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME, task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
