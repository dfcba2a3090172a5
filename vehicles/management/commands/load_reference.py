from django.core.management.base import BaseCommand
from django.db import transaction

from vehicles import reference_data
from vehicles.models import BorderGate, Lane, LaneWindow, Route, Yard


class Command(BaseCommand):
    help = (
        "Load Lạng Sơn's gates, the smart-gate routes, their lanes and yards. Idempotent: rows that exist "
        "(matched by code) are left as they are, so officers' edits survive a second run."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        created = {"gates": 0, "routes": 0, "lanes": 0, "yards": 0}
        gates = {}
        for code, country, kind, name_vi, name_en, name_zh, _counterpart in reference_data.GATES:
            gates[code], was_created = BorderGate.objects.get_or_create(
                code=code,
                defaults={"country": country, "kind": kind, "name_vi": name_vi, "name_en": name_en, "name_zh": name_zh},
            )
            created["gates"] += was_created
        for code, *_, counterpart in reference_data.GATES:
            gate = gates[code]
            if counterpart and gate.counterpart_id is None:
                gate.counterpart = gates[counterpart]
                gate.save(update_fields=["counterpart"])

        routes = {}
        for code, name, gate, counterpart, smart in reference_data.ROUTES:
            routes[code], was_created = Route.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "gate": gates[gate],
                    "counterpart_gate": gates[counterpart],
                    "is_smart_gate": smart,
                },
            )
            created["routes"] += was_created

        for route, code, direction, current, purpose, per_hour, in_lane, hours, bay in reference_data.LANES:
            _lane, was_created = Lane.objects.get_or_create(
                code=code,
                defaults={
                    "route": routes[route],
                    "direction": direction,
                    "current_direction": current,
                    "purpose": purpose,
                    "capacity_per_hour": per_hour,
                    "max_vehicles_in_lane": in_lane,
                    "opens_at": hours[0],
                    "closes_at": hours[1],
                    "has_inspection_bay": bay,
                    "is_smart": code in reference_data.SMART_LANES,
                },
            )
            created["lanes"] += was_created

        for code, gate, route, name, capacity, kind in reference_data.YARDS:
            _yard, was_created = Yard.objects.get_or_create(
                code=code,
                defaults={
                    "gate": gates[gate],
                    "route": routes[route] if route else None,
                    "name": name,
                    "capacity": capacity,
                    "kind": kind,
                },
            )
            created["yards"] += was_created

        # A lane's windows are loaded only while it has none: the board's edits stay.
        for lane_code, starts, ends, safety_driver, note in reference_data.LANE_WINDOWS:
            lane = Lane.objects.get(code=lane_code)
            if not lane.windows.exists():
                LaneWindow.objects.create(
                    lane=lane, starts_at=starts, ends_at=ends, safety_driver_required=safety_driver, note=note
                )

        summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
        self.stdout.write(f"Reference data loaded: created {summary}; existing rows left unchanged.")
