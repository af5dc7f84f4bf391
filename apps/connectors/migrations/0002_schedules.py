"""Beat runs the connectors' reconcile (removals due, retries, exact-end tasks of grants
ending soon) and the drift check from the database schedule (django-celery-beat)."""

from django.db import migrations
from django.utils import timezone

SCHEDULES = {
    "connectors: reconcile accounts": (
        "connectors.reconcile",
        30,
        "Removes accounts of ended grants, retries failed provisioning and removals with "
        "backoff, and queues the exact-end task of grants ending in the next minute or so. "
        "Safe to run at any time.",
    ),
    "connectors: drift": (
        "connectors.drift",
        300,
        "Compares what each target holds under the portal's prefix with live grants: "
        "removes strays where authoritative, reports otherwise, provisions what is missing.",
    ),
}


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, (task, every, description) in SCHEDULES.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": interval,
                "enabled": True,
                "description": description,
            },
        )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(SCHEDULES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
