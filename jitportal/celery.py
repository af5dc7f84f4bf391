"""The Celery application: configuration comes from Django settings (``CELERY_*``).

Several workers and a lost one are safe by configuration (the Celery block of
``settings/base.py``: late acknowledgement, the message handed back when its worker process
dies, one message reserved at a time, a Redis visibility timeout longer than any task) and
by the tasks (rows claimed with SKIP LOCKED): docs/deploy.md, "Several workers, one beat".
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jitportal.settings.base")

app = Celery("jitportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
