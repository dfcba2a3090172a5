"""The embedded default's web server that also keeps the gate alive.

With a broker, Celery beat runs the periodic work. Without one, this command runs the same schedule
(``CELERY_BEAT_SCHEDULE``, defined once in settings) on a background thread beside runserver, calling
each task in-process, so a newcomer's gate calls vehicles forward and sweeps on its own.
"""

import logging
import threading
import time

from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

logger = logging.getLogger(__name__)


def periodic_jobs() -> list[tuple[float, str]]:
    """(every how many seconds, task name) of each periodic job beat would run."""
    return [(float(entry["schedule"]), entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()]


def run_periodic(stop: threading.Event) -> None:
    jobs = periodic_jobs()
    last_run = {task: 0.0 for _every, task in jobs}
    while not stop.is_set():
        now = time.monotonic()
        for every, task in jobs:
            if now - last_run[task] >= every:
                last_run[task] = now
                try:
                    current_app.tasks[task]()
                except Exception:
                    logger.exception("periodic.failed", extra={"task": task})
                finally:
                    close_old_connections()
        stop.wait(1)


class Command(BaseCommand):
    help = "Serve the app; without a broker, also run the periodic gate work in-process."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            threading.Thread(target=run_periodic, args=(threading.Event(),), daemon=True, name="periodic").start()
            self.stdout.write("Periodic gate work (dispatch, sweeps, reconciliation) runs in this process.")
        else:
            self.stdout.write("A broker is configured: run `celery -A smartgate beat` for the periodic work.")
        call_command("runserver", options["addrport"], use_reloader=False)
