"""Celery beat's scheduler: django-celery-beat's database schedule, seeded from settings, owned by the admin.

``CELERY_BEAT_SCHEDULE`` in settings is the one source of the periodic work. django-celery-beat writes it
into its tables at every start with ``update_or_create``, which would overwrite what an operator changed in
the admin (an interval, a disabled task). This scheduler only creates the entries that are missing: a new
periodic task in settings appears at the next start, and an edited one keeps its edits.
"""

from django_celery_beat import schedulers
from django_celery_beat.models import PeriodicTask


class DatabaseScheduler(schedulers.DatabaseScheduler):
    def update_from_dict(self, mapping):
        existing = set(PeriodicTask.objects.filter(name__in=list(mapping)).values_list("name", flat=True))
        super().update_from_dict({name: entry for name, entry in mapping.items() if name not in existing})
