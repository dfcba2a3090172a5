from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vehicles.models import DeviceAPIKey, GateDevice, Lane, Yard


class Command(BaseCommand):
    help = "Register a gate device at a lane or yard and print its new key alone on the last line (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=GateDevice.Kind.values)
        place = parser.add_mutually_exclusive_group(required=True)
        place.add_argument("--lane", help="lane code, e.g. 1119-EX1")
        place.add_argument("--yard", help="yard id or code, e.g. 1119-export-yard")
        parser.add_argument("--name", required=True)

    @transaction.atomic
    def handle(self, *args, **options):
        kind = options["kind"]
        lane = yard = None
        if options["lane"]:
            lane = Lane.objects.filter(code=options["lane"]).first()
            if lane is None:
                raise CommandError(
                    f"No lane {options['lane']!r}; lanes: {', '.join(Lane.objects.values_list('code', flat=True))}."
                )
        else:
            key = options["yard"]
            yard = Yard.objects.filter(id=int(key)).first() if key.isdigit() else Yard.objects.filter(code=key).first()
            if yard is None:
                raise CommandError(f"No yard {key!r}; yards: {', '.join(Yard.objects.values_list('code', flat=True))}.")
        if kind in (GateDevice.Kind.LANE_GATE, GateDevice.Kind.BORDER_LINE) and lane is None:
            raise CommandError(f"A {kind} device stands at a lane: give --lane.")
        if kind == GateDevice.Kind.YARD_GATE and yard is None:
            raise CommandError("A yard_gate device stands at a yard: give --yard.")
        device = GateDevice.objects.create(kind=kind, name=options["name"], lane=lane, yard=yard)
        _api_key, key = DeviceAPIKey.objects.create_key(device=device, name=options["name"])
        self.stdout.write(
            f"Device {device} registered. Its key is shown only now; send it as 'Authorization: Api-Key <key>':"
        )
        self.stdout.write(key)
