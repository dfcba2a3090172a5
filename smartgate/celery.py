"""The Celery app, configured from Django settings (CELERY_* names) and autodiscovering tasks."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgate.settings")

app = Celery("smartgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
