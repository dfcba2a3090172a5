from django.conf import settings
from django.core.management.base import BaseCommand

from clearance.services.slots import slots_generate


class Command(BaseCommand):
    help = "Create the missing hourly arrival slots of the smart-gate routes for the coming days (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.SMARTGATE_SLOT_DAYS_AHEAD)

    def handle(self, *args, **options):
        created = slots_generate(days=options["days"])
        self.stdout.write(f"Arrival slots: created {created} for the next {options['days']} days.")
