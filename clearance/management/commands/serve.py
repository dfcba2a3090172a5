"""The embedded default's web server that also keeps the gate alive.

With a broker, Celery beat runs the periodic work (dispatch, call timeouts, no-show sweep, slots,
reconciliation). Without one, this command runs the same services on a background thread beside
runserver, so a newcomer's gate calls vehicles forward and sweeps on its own.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from clearance.services.checks import checks_reconcile
from clearance.services.queue import calls_expire, dispatch_run, slots_generate, slots_sweep_no_shows

logger = logging.getLogger(__name__)

# (every how many seconds, what)
PERIODIC = [
    (settings.SMARTGATE_DISPATCH_EVERY_SECONDS, dispatch_run),
    (60, calls_expire),
    (settings.SMARTGATE_RECONCILE_EVERY_SECONDS, checks_reconcile),
    (300, slots_sweep_no_shows),
    (3600, slots_generate),
]


def run_periodic(stop: threading.Event) -> None:
    last_run = {job: 0.0 for _every, job in PERIODIC}
    while not stop.is_set():
        now = time.monotonic()
        for every, job in PERIODIC:
            if now - last_run[job] >= every:
                last_run[job] = now
                try:
                    job()
                except Exception:
                    logger.exception("periodic.failed", extra={"job": job.__name__})
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
