"""Beat runs the access reconcile task from the database (django-celery-beat's
DatabaseScheduler), so the schedule shows in the admin and can be changed there."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "access: reconcile grants and requests"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every = int(settings.JITPORTAL["RECONCILE_EVERY_SECONDS"])
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "access.reconcile",
            "interval": interval,
            "enabled": True,
            "description": "Activates scheduled grants, expires ended ones, removes their "
            "django-guardian rows, lapses undecided requests, sends expiry warnings and "
            "reminders to approvers. Safe to run at any time.",
        },
    )
    # Tell a running DatabaseScheduler to reload (what PeriodicTasks.changed() does).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0002_policy_reminders_permissions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
