import json
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from clearance.models import ServiceLevelObjective

DEFAULTS = Path(__file__).resolve().parents[2] / "default_slos.json"


class Command(BaseCommand):
    help = (
        "Load the default service-level objectives (clearance/default_slos.json) once: only into an empty table, "
        "never over objectives supervisors have edited."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        if ServiceLevelObjective.objects.exists():
            self.stdout.write("Service-level objectives: already there, left unchanged.")
            return
        for data in json.loads(DEFAULTS.read_text(encoding="utf-8")):
            objective = ServiceLevelObjective(**data)
            objective.full_clean()
            objective._change_reason = "Default objectives (manage.py load_slos)"
            objective.save()
        self.stdout.write(f"Service-level objectives: {ServiceLevelObjective.objects.count()} loaded.")
