"""Beat's schedule comes from settings once; what an operator changes in the admin survives a restart."""

import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from smartgate.beat import DatabaseScheduler
from smartgate.celery import app


def start_beat() -> DatabaseScheduler:
    return DatabaseScheduler(app=app)


def test_beat_uses_the_database_scheduler_seeded_from_settings():
    assert app.conf.beat_scheduler == "smartgate.beat:DatabaseScheduler"
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert "expires" not in entry.get("options", {}), f"{name}: the database scheduler drops `expires`"


@pytest.mark.django_db(transaction=True)  # beat closes its connections between reads
def test_first_start_creates_every_periodic_task_with_its_expiry():
    start_beat()

    tasks = {task.name: task for task in PeriodicTask.objects.all()}
    assert set(settings.CELERY_BEAT_SCHEDULE) <= set(tasks)
    dispatch = tasks["dispatch"]
    assert dispatch.task == "clearance.tasks.dispatch_task"
    assert dispatch.queue == "gate"
    assert dispatch.expire_seconds == settings.SMARTGATE_DISPATCH_EVERY_SECONDS
    assert dispatch.interval.every == settings.SMARTGATE_DISPATCH_EVERY_SECONDS


@pytest.mark.django_db(transaction=True)  # beat closes its connections between reads
def test_an_admin_edit_survives_a_restart_and_a_new_task_in_settings_appears(settings):
    start_beat()
    reconcile = PeriodicTask.objects.get(name="checks-reconcile")
    reconcile.interval, _ = IntervalSchedule.objects.get_or_create(every=90, period=IntervalSchedule.SECONDS)
    reconcile.save()
    PeriodicTask.objects.filter(name="slots-generate").update(enabled=False)
    settings.CELERY_BEAT_SCHEDULE = {
        **settings.CELERY_BEAT_SCHEDULE,
        "new-job": {"task": "clearance.tasks.calls_expire_task", "schedule": 120, "options": {"queue": "gate"}},
    }
    app.conf.beat_schedule = settings.CELERY_BEAT_SCHEDULE

    try:
        start_beat()
    finally:
        app.conf.beat_schedule = {k: v for k, v in settings.CELERY_BEAT_SCHEDULE.items() if k != "new-job"}

    assert PeriodicTask.objects.get(name="checks-reconcile").interval.every == 90
    assert PeriodicTask.objects.get(name="slots-generate").enabled is False
    assert PeriodicTask.objects.get(name="new-job").interval.every == 120
