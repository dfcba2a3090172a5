"""Load a synthetic history of N declarations with PostgreSQL's COPY, to measure the hot paths at scale.

    manage.py load_synthetic --declarations 1000000 [--companies 200] [--company 0101234565] [--seed 1]

About 95 % of them crossed over the past year (with their checks, fee, yard arrival, gate decision,
movements and audit events), 5 % cancelled, and the newest 0.5 % still active at the gate (expected,
in a yard, called or in a lane; unique vehicles, as the database requires). The audit events are real
hash chains (``verify_audit`` walks them). ``--company`` (a tax code, created if missing) declares a
tenth of them, so its lists run over many rows. Rows bypass the services on purpose: this fills a
database for benchmarks, it is not traffic (``simulate_day`` is).
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from clearance import audit_chain
from clearance.models import (
    Check,
    Company,
    Declaration,
    DeclarationEvent,
    Fee,
    GateDecision,
    Tariff,
)
from vehicles.models import Direction, Driver, GateDevice, Lane, Movement, Route, Vehicle, Yard

Status = Declaration.Status
Stage = Declaration.Stage
Kind = DeclarationEvent.Kind
SYSTEM = DeclarationEvent.ActorKind.SYSTEM
# The share of the declarations still at the gate, and of the others cancelled.
ACTIVE_SHARE = 0.005
CANCELLED_SHARE = 0.05
GOODS = [("08106000", "Durian", "KGM"), ("84713020", "Laptops", "PCE"), ("08109050", "Dragon fruit", "KGM")]


def _plate(number: int, series: str) -> tuple[str, str]:
    """A Vietnamese plate of the synthetic series (display form, normalized form)."""
    province = 11 + (number // 100_000) % 89
    digits = number % 100_000
    display = f"{province:02d}{series}-{digits // 100:03d}.{digits % 100:02d}"
    return display, display.replace("-", "").replace(".", "")


class Command(BaseCommand):
    help = "Load N synthetic declarations (a year of history and today's gate) with COPY, for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--declarations", type=int, required=True)
        parser.add_argument("--companies", type=int, default=200)
        parser.add_argument("--company", default="0101234565", help="tax code of the company with a tenth of them")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, declarations: int, companies: int, company: str, seed: int, **options):
        if connection.vendor != "postgresql":
            raise CommandError("load_synthetic needs PostgreSQL (it loads with COPY).")
        if declarations < 1:
            raise CommandError("--declarations must be at least 1.")
        started = time.monotonic()
        self.random = random.Random(seed)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
            self._prepare(companies=companies, company=company, declarations=declarations)
            counts = self._load(declarations)
            self._reset_sequences()
        with connection.cursor() as cursor:
            for table in counts:
                cursor.execute(f'ANALYZE "{table}"')
        rows = ", ".join(f"{n:,} {table}" for table, n in counts.items())
        self.stdout.write(f"Loaded {declarations:,} declarations in {time.monotonic() - started:.0f} s: {rows}")

    # --- Reference rows -------------------------------------------------------------------------------

    def _prepare(self, *, companies: int, company: str, declarations: int) -> None:
        self.routes = {route.code: route for route in Route.objects.all()}
        if not self.routes:
            raise CommandError("Load the reference data first (manage.py load_reference).")
        self.tariff = Tariff.objects.order_by("id").first()
        if self.tariff is None:
            raise CommandError("Load a tariff first (manage.py load_tariff).")
        self.lanes = {}
        for lane in Lane.objects.filter(purpose=Lane.Purpose.CARGO).exclude(direction=Lane.Kind.REVERSIBLE):
            self.lanes.setdefault((lane.route_id, lane.current_direction), lane)
        # A yard named for one direction serves it; a route's only yard serves both (the transfer yard none).
        self.yards = {}
        for yard in Yard.objects.exclude(route=None).exclude(code__contains="transfer").order_by("code"):
            for direction in Direction.values:
                if direction in yard.code or not any(name in yard.code for name in Direction.values):
                    self.yards.setdefault((yard.route_id, direction), yard)
        self.devices = {}
        for lane in self.lanes.values():
            self.devices[lane.id] = GateDevice.objects.get_or_create(
                kind=GateDevice.Kind.LANE_GATE, lane=lane, name=f"synthetic-{lane.code}"
            )[0]
        main, _created = Company.objects.get_or_create(tax_code=company, defaults={"name": "Synthetic main forwarder"})
        start = Company.objects.count()
        Company.objects.bulk_create(
            [
                Company(tax_code=f"99{start + index:08d}", name=f"Synthetic forwarder {index}")
                for index in range(companies)
            ]
        )
        self.company_ids = [
            main.id,
            *Company.objects.filter(name__startswith="Synthetic forwarder").values_list("id", flat=True),
        ]
        active = max(1, int(declarations * ACTIVE_SHARE))
        history = min(20_000, max(100, declarations // 2))  # vehicles and drivers that come back
        self.vehicle_ids, self.vehicles = self._vehicles(active + history)
        self.active_count = active
        self.driver_ids, self.drivers = self._drivers(history)

    def _copy(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        with connection.connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _vehicles(self, count: int) -> tuple[list[int], list[dict]]:
        first_id = self._max_id("vehicles_vehicle") + 1
        first = Vehicle.objects.filter(plate__contains="D-").count()  # synthetic plates of an earlier load
        now = timezone.now()
        ids, snapshots, rows = [], [], []
        for offset, index in enumerate(range(first, first + count)):
            display, normalized = _plate(index, "D")
            permit = f"VN-CN-{index:07d}"
            rows.append(
                (
                    first_id + offset,
                    "VN",
                    display,
                    normalized,
                    now,
                    now,
                    Vehicle.Class.RIGID_TRUCK,
                    40000,
                    permit,
                    date(2030, 6, 30),
                    False,
                )
            )
            ids.append(first_id + offset)
            snapshots.append(
                {
                    "plate": display,
                    "normalized_plate": normalized,
                    "country": "VN",
                    "vehicle_class": Vehicle.Class.RIGID_TRUCK,
                    "max_gross_weight_kg": 40000,
                    "permit_number": permit,
                    "permit_expires": "2030-06-30",
                    "is_autonomous": False,
                }
            )
        columns = [
            "id",
            "country",
            "plate",
            "normalized_plate",
            "created_at",
            "updated_at",
            "vehicle_class",
            "max_gross_weight_kg",
            "permit_number",
            "permit_expires",
            "is_autonomous",
        ]
        self._copy("vehicles_vehicle", columns, rows)
        return ids, snapshots

    def _drivers(self, count: int) -> tuple[list[int], list[dict]]:
        first_id = self._max_id("vehicles_driver") + 1
        now = timezone.now()
        ids, snapshots, rows = [], [], []
        for offset in range(count):
            index = first_id + offset
            snapshot = {
                "full_name": f"Nguyễn Văn Tổng {index}",
                "name_key": f"nguyen van tong {index}",
                "nationality": "VN",
                "document_type": Driver.DocumentType.PASSPORT,
                "document_number": f"S{index:08d}",
                "document_country": "VN",
                "document_expires": "2031-01-01",
            }
            rows.append((index, *[snapshot[k] for k in list(snapshot)[:6]], date(2031, 1, 1), now, now))
            ids.append(index)
            snapshots.append(snapshot)
        columns = [
            "id",
            "full_name",
            "name_key",
            "nationality",
            "document_type",
            "document_number",
            "document_country",
            "document_expires",
            "created_at",
            "updated_at",
        ]
        self._copy("vehicles_driver", columns, rows)
        return ids, snapshots

    # --- The declarations and everything they carry ---------------------------------------------------

    def _load(self, total: int) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM clearance_declaration")
            first_id = cursor.fetchone()[0] + 1
        self.next_id = {"clearance_gatedecision": self._max_id("clearance_gatedecision") + 1}
        now = timezone.now()
        routes = list(self.routes.values())
        counts = dict.fromkeys(
            [
                "clearance_declaration",
                "clearance_customsdeclaration",
                "clearance_goodsline",
                "clearance_check",
                "clearance_fee",
                "clearance_gatedecision",
                "clearance_declarationevent",
                "vehicles_movement",
            ],
            0,
        )
        raw = connection.connection  # psycopg 3: COPY streams rows without building statements
        copies = {
            "clearance_declaration": (
                "id, reference, direction, expected_arrival, status, stage, version, needs_quarantine, created_at,"
                " updated_at, company_id, driver_id, lane_id, route_id, vehicle_id, channel, arrived_at, call_misses,"
                " called_at, crossed_at, in_lane_at, queue_class, slot_moves, yard_id, audit_head, audit_seq,"
                " declared, slot_bookings, event_seq, kind, smart_lane_eligible, smart_lane_reason, handover_status"
            ),
            "clearance_customsdeclaration": "number, type, is_active, declaration_id",
            "clearance_goodsline": (
                "hs_code, description, quantity, unit, gross_weight_kg, value, currency, origin_country, declaration_id"
            ),
            "clearance_check": (
                "kind, version, status, outcome, reasons, attempts, claim_token, claimed_by_task, created_at,"
                " started_at, finished_at, declaration_id"
            ),
            "clearance_fee": "journey, amount_vnd, breakdown, status, issued_at, paid_at, declaration_id, tariff_id",
            "clearance_gatedecision": (
                "id, plate_read, normalized_plate, confidence, read_at, decided_at, decision, reasons,"
                " declaration_id, device_id, lane_id, ticket_reference"
            ),
            "clearance_declarationevent": (
                "at, actor_kind, actor, event, reason, version, data, declaration_id, hash, prev_hash, seq"
            ),
            "vehicles_movement": (
                "plate_read, normalized_plate, kind, occurred_at, recorded_at, source, lane_id, yard_id"
            ),
        }
        # Parents before children: each COPY runs to its end before the next starts, so the rows are
        # built once into lists per batch and written table by table.
        batch = 20_000
        for start in range(0, total, batch):
            rows = {table: [] for table in copies}
            for offset in range(start, min(start + batch, total)):
                self._declaration(rows, first_id + offset, offset, total, routes, now)
            with raw.cursor() as cursor:
                for table, columns in copies.items():
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in rows[table]:
                            copy.write_row(row)
                    counts[table] += len(rows[table])
            self.stdout.write(f"  {min(start + batch, total):,} / {total:,}")
        return counts

    def _max_id(self, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"')
            return cursor.fetchone()[0]

    def _declaration(self, rows: dict, declaration_id: int, index: int, total: int, routes, now) -> None:
        rnd = self.random
        remaining = total - index  # the newest are still at the gate
        active = remaining <= self.active_count
        created_at = now - timedelta(days=365 * remaining / total, minutes=rnd.randint(60, 600))
        route = routes[index % len(routes)]
        direction = Direction.EXPORT if rnd.random() < 0.6 else Direction.IMPORT
        lane = self.lanes.get((route.id, direction))
        yard = self.yards.get((route.id, direction))
        company_id = (
            self.company_ids[0] if index % 10 == 0 else self.company_ids[1 + index % (len(self.company_ids) - 1)]
        )
        if active:
            vehicle_index = remaining - 1  # unique among the active ones
            stage = rnd.choice([Stage.EXPECTED, Stage.IN_YARD, Stage.IN_YARD, Stage.CALLED, Stage.IN_LANE])
            status = Status.CLEARED if stage != Stage.EXPECTED else rnd.choice([Status.CHECKING, Status.CLEARED])
            if lane is None and stage in (Stage.CALLED, Stage.IN_LANE):
                stage = Stage.IN_YARD
        else:
            vehicle_index = self.active_count + rnd.randrange(len(self.vehicle_ids) - self.active_count)
            cancelled = rnd.random() < CANCELLED_SHARE or lane is None or yard is None
            stage, status = (Stage.EXPECTED, Status.CANCELLED) if cancelled else (Stage.CROSSED, Status.CLEARED)
        vehicle = self.vehicles[vehicle_index]
        driver_index = rnd.randrange(len(self.driver_ids))
        hs_code, description, unit = GOODS[index % len(GOODS)]
        perishable = hs_code.startswith("08")
        reached = [Stage.EXPECTED, Stage.IN_YARD, Stage.CALLED, Stage.IN_LANE, Stage.CROSSED]
        depth = reached.index(stage) if stage in reached else 0
        arrived_at = created_at + timedelta(hours=4) if depth >= 1 else None
        called_at = arrived_at + timedelta(minutes=rnd.randint(5, 240)) if depth >= 2 else None
        in_lane_at = called_at + timedelta(minutes=rnd.randint(3, 20)) if depth >= 3 else None
        crossed_at = in_lane_at + timedelta(minutes=rnd.randint(2, 8)) if depth >= 4 else None
        checked = status != Status.CHECKING
        channel = Check.Outcome.GREEN if checked else ""

        # The audit trail, chained as the lifecycle chains it.
        events = [(Kind.SUBMITTED, created_at, {})]
        if checked:
            events.append((Kind.CLEARED, created_at + timedelta(seconds=5), {}))
        if status == Status.CANCELLED:
            events.append((Kind.CANCELLED, created_at + timedelta(hours=2), {}))
        if arrived_at:
            events.append((Kind.ARRIVED_IN_YARD, arrived_at, {"yard": yard.code if yard else ""}))
        if called_at:
            events.append((Kind.CALLED, called_at, {"lane": lane.code}))
        decision_id = None
        if in_lane_at:
            decision_id = self.next_id["clearance_gatedecision"]
            self.next_id["clearance_gatedecision"] += 1
            events.append((Kind.ENTERED_LANE, in_lane_at, {"lane": lane.code, "decision": decision_id}))
        if crossed_at:
            events.append((Kind.CROSSED, crossed_at, {"lane": lane.code}))
        head = audit_chain.GENESIS
        for seq, (kind, at, data) in enumerate(events, start=1):
            content = audit_chain.canonical(
                declaration_id=declaration_id,
                seq=seq,
                at=at,
                actor_kind=SYSTEM,
                actor="synthetic",
                user_id=None,
                event=kind,
                reason="",
                version=1,
                data=data,
            )
            digest = audit_chain.link(head, content)
            rows["clearance_declarationevent"].append(
                (at, SYSTEM, "synthetic", kind, "", 1, Jsonb(data), declaration_id, digest, head, seq)
            )
            head = digest

        at_lane = stage in (Stage.CALLED, Stage.IN_LANE)
        rows["clearance_declaration"].append(
            (
                declaration_id,
                f"SG-{created_at.year}-{declaration_id:06d}",
                direction,
                created_at + timedelta(hours=4),
                status,
                stage,
                1,
                perishable,
                created_at,
                crossed_at or created_at,
                company_id,
                self.driver_ids[driver_index],
                lane.id if at_lane else None,
                route.id,
                self.vehicle_ids[vehicle_index],
                channel,
                arrived_at,
                0,
                called_at,
                crossed_at,
                in_lane_at,
                0 if perishable else 4,
                0,
                yard.id if arrived_at else None,
                head,
                len(events),
                Jsonb({"vehicle": vehicle, "driver": self.drivers[driver_index]}),
                0,
                0,
                Declaration.Kind.CARGO,
                True,
                "",
                Declaration.HandoverStatus.NONE,
            )
        )
        is_active = stage not in (Stage.CROSSED,) and status != Status.CANCELLED
        rows["clearance_customsdeclaration"].append(
            (f"{declaration_id:012d}", "B11" if direction == Direction.EXPORT else "A11", is_active, declaration_id)
        )
        rows["clearance_goodsline"].append((hs_code, description, 1000, unit, 1000, 3000, "USD", "VN", declaration_id))
        if checked:
            for kind, outcome in (
                (Check.Kind.CUSTOMS, Check.Outcome.GREEN),
                (Check.Kind.BORDER_GUARD, Check.Outcome.PASS),
                (Check.Kind.QUARANTINE, Check.Outcome.PASS),
                # No epidemic period in force: the health check records that none was required.
                (Check.Kind.HEALTH, Check.Outcome.NOT_REQUIRED),
            ):
                done = created_at + timedelta(seconds=3)
                rows["clearance_check"].append(
                    (
                        kind,
                        1,
                        Check.Status.DONE,
                        outcome,
                        Jsonb([]),
                        1,
                        "",
                        "",
                        created_at,
                        created_at,
                        done,
                        declaration_id,
                    )
                )
        if status == Status.CLEARED:
            paid = arrived_at is not None
            rows["clearance_fee"].append(
                (
                    Fee.Journey.EXPORT if direction == Direction.EXPORT else Fee.Journey.IMPORT_INLAND,
                    1_000_000,
                    Jsonb({}),
                    Fee.Status.PAID if paid else Fee.Status.ISSUED,
                    created_at + timedelta(seconds=5),
                    arrived_at if paid else None,
                    declaration_id,
                    self.tariff.id,
                )
            )
        plate, normalized = vehicle["plate"], vehicle["normalized_plate"]
        if arrived_at:
            rows["vehicles_movement"].append(
                (plate, normalized, Movement.Kind.YARD_IN, arrived_at, arrived_at, "synthetic", None, yard.id)
            )
        if in_lane_at:
            device = self.devices[lane.id]
            rows["clearance_gatedecision"].append(
                (
                    decision_id,
                    plate,
                    normalized,
                    "0.970",
                    in_lane_at,
                    in_lane_at,
                    GateDecision.Decision.OPEN,
                    Jsonb([]),
                    declaration_id,
                    device.id,
                    lane.id,
                    "",
                )
            )
            rows["vehicles_movement"].append(
                (plate, normalized, Movement.Kind.LANE_IN, in_lane_at, in_lane_at, "synthetic", lane.id, None)
            )
        if crossed_at:
            kind = Movement.Kind.BORDER_OUT if direction == Direction.EXPORT else Movement.Kind.BORDER_IN
            rows["vehicles_movement"].append(
                (plate, normalized, kind, crossed_at, crossed_at, "synthetic", lane.id, None)
            )

    def _reset_sequences(self) -> None:
        with connection.cursor() as cursor:
            for table in ("clearance_declaration", "clearance_gatedecision", "vehicles_vehicle", "vehicles_driver"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM \"{table}\"))"
                )
