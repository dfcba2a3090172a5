"""One day at the gate, driven through clearance's real services on a virtual clock.

SimPy keeps the simulated time and plays the people: forwarders declaring, paying and cancelling, trucks
driving to the yard and to their lane, officers of each force inspecting (as many as the profile puts on
duty that hour, each inspection taking its drawn service time), supervisors deciding held crossings, and the
periodic dispatcher. Every effect on a declaration is a call of a service the real actors reach
(``declaration_submit``, the check tasks run in-process after commit, ``yard_arrival_record``,
``dispatch_run``, ``gate_decide``, ``weighbridge_record``, ``inspection_record_result``, ``payment_record``,
``crossing_record``, ``declaration_cancel``, ``declaration_release``…): the simulation keeps no record of its
own. The report reads the day back from the database.

The clock: the services stamp ``timezone.now()`` (events, check timings, inspection results, fees), so the
simulation moves the process's clock (time-machine, ``tick=False``) to the simulated moment before each
call, and passes the same moment where a service takes one (``now=``, ``occurred_at=``, ``read_at=``).

A paced day (simulation.paced.PacedDay) is this ``Day`` with another environment and clock (real time,
compressed by a speed) and other actuators (the live stack's API and workers): the methods between
``environment`` and ``background`` are what it replaces; the people's model is this module's.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import simpy
import time_machine
from celery import current_app
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from stdnum import iso6346
from stdnum.vn import mst

from clearance import roles
from clearance.audit import Actor
from clearance.errors import DomainError
from clearance.models import (
    ACTIVE_DECLARATION,
    Company,
    Declaration,
    DeclarationEvent,
    Fee,
    GateDecision,
    HsRiskRule,
    Inspection,
    RiskSettings,
    WatchlistEntry,
)
from clearance.services.companies import company_create
from clearance.services.declarations import declaration_cancel, declaration_submit
from clearance.services.dispatch import dispatch_run
from clearance.services.enqueue import DISPATCH_TASK
from clearance.services.fees import payment_record
from clearance.services.gate import CROSSING_MOVEMENT, crossing_record, gate_decide, weighbridge_record
from clearance.services.inspections import declaration_reject_held, declaration_release, inspection_record_result
from clearance.services.yard import declaration_turn_back, yard_arrival_record
from simulation.profiles import FORCES, Profile
from simulation.traffic import (
    CHANNEL_SUFFIX,
    CHANNEL_WEIGHT,
    GOODS,
    LOCAL,
    TruckPlan,
    clock_start,
    day_start,
    local_day,
    trucks_plan,
)
from vehicles.models import Direction, Driver, GateDevice, Lane, Route, Yard
from vehicles.plates import parse_plate

logger = logging.getLogger(__name__)

Status = Declaration.Status
Stage = Declaration.Stage
CONFIDENT_READ = Decimal("0.970")
TARE_KG = 9000  # goods (at most 30 t) and tare stay within the 40 t maximum the weighbridge checks
# Where a vehicle of a route and direction waits (the reference data's yards).
YARDS = {
    ("1119-1120", Direction.EXPORT): "1119-export-yard",
    ("1119-1120", Direction.IMPORT): "1119-import-yard",
    ("1088/2-1089", Direction.EXPORT): "1088-yard",
    ("1088/2-1089", Direction.IMPORT): "1088-yard",
}
# The officer's (or device's) first sight of a vehicle after it is called is at least this later.
POLL_OFFICER_SECONDS = 60


class SimulationError(RuntimeError):
    """The services took a vehicle somewhere the simulation cannot follow; the message says where."""


@dataclass
class DayResult:
    """What the run itself knows (the figures are read back from the database by simulation.report)."""

    profile: str
    seed: int
    vehicles: int
    started_at: datetime
    ended_at: datetime
    closed_at_horizon: list[str] = field(default_factory=list)
    clock: dict = field(default_factory=dict)  # how the stored times relate to the simulated day's


def tax_code(i: int) -> str:
    """The i-th of a run of valid, distinct Vietnamese tax codes (MST) for the simulated companies."""
    prefix = f"0{4200000 + i:07d}"
    for digit in "0123456789":
        check = mst.calc_check_digit(prefix + digit)
        if len(check) == 1:
            return prefix + digit + check
    raise AssertionError(f"no valid tax code with prefix {prefix}")  # never: a ninth digit always works


class Clock:
    """The process's clock, held still at the simulated moment (time-machine, tick=False)."""

    def __init__(self, start: datetime):
        self.start = start
        self._traveller = time_machine.travel(start, tick=False)
        self._coordinates = None

    def __enter__(self) -> Clock:
        self._coordinates = self._traveller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._traveller.stop()

    def at(self, env: simpy.Environment) -> datetime:
        moment = self.start + timedelta(seconds=env.now)
        self._coordinates.move_to(moment)
        return moment

    def begin(self, env: simpy.Environment) -> None:
        """The day's processes start now (the virtual clock needs nothing)."""

    def moment(self, planned: datetime, env: simpy.Environment) -> datetime:
        """The moment the services see for a moment of the plan (the same one on the virtual clock)."""
        return planned

    def metadata(self) -> dict:
        return {"speed": "max", "clock": "virtual: the stored times are the simulated day's"}


class Officers:
    """A force's officers: a SimPy resource with as many places as the most officers ever on duty; off-duty
    places are held by the shift process (requests served first, never interrupting an inspection)."""

    def __init__(self, env: simpy.Environment, profile: Profile, force: str, users: list, first_hour: int):
        self.env, self.profile, self.force, self.users = env, profile, force, users
        self.size = max(1, max(profile.officers_on_duty(force, hour) for hour in range(24)))
        self.resource = simpy.PriorityResource(env, capacity=self.size)
        self.off_duty: list = []
        self.next_user = 0
        env.process(self._shifts(first_hour))

    def _shifts(self, first_hour: int):
        hour = first_hour
        while True:
            wanted = self.size - self.profile.officers_on_duty(self.force, hour)
            while len(self.off_duty) < wanted:
                self.off_duty.append(self.resource.request(priority=0))
            while len(self.off_duty) > wanted:
                request = self.off_duty.pop()
                if request.triggered:
                    self.resource.release(request)
                else:
                    request.cancel()
            yield self.env.timeout(3600 - self.env.now % 3600)
            hour += 1

    def user(self):
        user = self.users[self.next_user % len(self.users)]
        self.next_user += 1
        return user


class Day:
    def __init__(self, profile: Profile, *, seed: int, progress=None):
        self.profile, self.seed, self.progress = profile, seed, progress
        self.plans = trucks_plan(profile, seed=seed)
        self.env = self.environment()
        self.clock = self.make_clock()
        self.called: dict[int, simpy.Event] = {}
        self.cleared: dict[int, simpy.Event] = {}
        self.dispatch_request = self.env.event()
        self.finished = 0
        self.all_done = self.env.event()
        self.declarations: dict[int, int] = {}  # plan index -> declaration id

    # What differs between the virtual-clock day and a paced one (simulation.paced overrides these).
    paced = False

    def environment(self) -> simpy.Environment:
        return simpy.Environment()

    def make_clock(self):
        return Clock(clock_start(self.profile))

    @contextmanager
    def tasks_in_process(self):
        """Checks and the on-commit work run in-process, in the same moment as the change that sent them; a
        dispatch request reaches the simulation's gate worker."""
        eager = current_app.conf.task_always_eager
        current_app.conf.task_always_eager = True
        tasks = current_app.tasks
        dispatch_task = tasks.get(DISPATCH_TASK)
        tasks[DISPATCH_TASK] = _DispatchRequests(self)
        try:
            yield
        finally:
            current_app.conf.task_always_eager = eager
            if dispatch_task is not None:
                tasks[DISPATCH_TASK] = dispatch_task
            else:
                tasks.pop(DISPATCH_TASK, None)

    def declare(self, plan: TruckPlan, company: Company) -> int:
        """The forwarder's system declares the crossing; returns the declaration's id."""
        declaration = declaration_submit(company=company, actor=_forwarder(company), data=self.declaration_data(plan))
        return declaration.id

    def checks_decided(self, declaration_id: int):
        """Wait until the checks decided (in-process: they already have, after the submission's commit)."""
        yield from ()

    def gate_read(self, device: GateDevice, plan: TruckPlan, now: datetime) -> tuple[str, list[str], int | None]:
        """The lane barrier's plate read: (decision, reasons, lane id)."""
        decision = gate_decide(device=device, plate=plan.plate_read, read_at=now, confidence=CONFIDENT_READ)
        return decision.decision, list(decision.reasons), decision.lane_id

    def weigh(self, device: GateDevice, plan: TruckPlan, now: datetime) -> None:
        weighbridge_record(
            device=device, plate=plan.plate_read, gross_weight_kg=plan.weight_kg + TARE_KG, measured_at=now
        )

    def cross(self, device: GateDevice, plan: TruckPlan, now: datetime) -> bool:
        """The border line sees the vehicle cross; False when that completed no crossing."""
        crossing = crossing_record(
            device=device, plate=plan.plate_read, kind=CROSSING_MOVEMENT[plan.direction], occurred_at=now
        )
        return crossing is not None

    def background(self) -> None:
        """The stack's own periodic work: the gate queue's worker and the hourly dispatch."""
        self.env.process(self.gate_worker())
        self.env.process(self.hourly_dispatch())

    # --- Setup: the installation, as its operators set it up ------------------------------------------

    def setup(self) -> None:
        quiet = {"stdout": _Null(), "verbosity": 0}
        call_command("load_reference", **quiet)
        call_command("load_tariff", **quiet)
        call_command("load_slos", **quiet)
        call_command("setup_roles", **quiet)
        # The random selection is a keyed hash of plate and day with the server's secret: switched off so that a
        # seed alone decides the day; the profile's red and yellow shares are realised through HS risk rules.
        RiskSettings.current()
        RiskSettings.objects.update(random_rate_percent=0, random_rate_priority_percent=0, random_rate_floor_percent=0)
        for hs_code, description, *_rest in (line for lines in GOODS.values() for line in lines):
            for channel, suffix in CHANNEL_SUFFIX.items():
                HsRiskRule.objects.get_or_create(
                    hs_prefix=hs_code[:6] + suffix,
                    defaults={
                        "weight": CHANNEL_WEIGHT[channel],
                        "description": f"Simulation: {description} of a {channel} risk profile",
                    },
                )
        for code, settings in self.profile.lanes.items():
            lane = Lane.objects.filter(code=code).first()
            if lane is None:
                raise SimulationError(f"The profile sets lane {code!r}, which the reference data does not have.")
            for key, value in settings.items():
                setattr(lane, key, value)
            lane._change_reason = f"simulation profile {self.profile.name}"
            lane.save()
        self.devices = {}
        for lane in Lane.objects.all():
            for kind in (GateDevice.Kind.LANE_GATE, GateDevice.Kind.BORDER_LINE, GateDevice.Kind.WEIGHBRIDGE):
                device, _created = GateDevice.objects.get_or_create(
                    kind=kind, lane=lane, defaults={"name": f"{kind}-{lane.code}"}
                )
                self.devices[(kind, lane.id)] = device
        self.yards = {yard.code: yard for yard in Yard.objects.all()}
        self.routes = {route.code: route for route in Route.objects.select_related("gate")}
        companies = self.profile.companies
        self.companies = []
        for i in range(companies["count"]):
            share = i / companies["count"]
            rating = (
                Company.Rating.PRIORITY
                if share < companies.get("priority_share", 0)
                else Company.Rating.UNDER_WATCH
                if share >= 1 - companies.get("under_watch_share", 0)
                else Company.Rating.NORMAL
            )
            company = Company.objects.filter(tax_code=tax_code(i)).first() or company_create(
                tax_code_text=tax_code(i), name=f"Simulated forwarder {i:03d}", compliance_rating=rating
            )
            self.companies.append(company)
        User = get_user_model()
        self.officer_users = {}
        for force in FORCES:
            group = Group.objects.get(name=roles.FORCE_ROLES[force])
            size = max(1, max(self.profile.officers_on_duty(force, hour) for hour in range(24)))
            users = []
            for k in range(size):
                user, _created = User.objects.get_or_create(
                    username=f"sim-{force}-{k:02d}", defaults={"is_staff": True}
                )
                user.groups.set([group])
                users.append(user)
            self.officer_users[force] = users
        self.supervisor, _created = User.objects.get_or_create(username="sim-supervisor", defaults={"is_staff": True})
        self.supervisor.groups.set([Group.objects.get(name=roles.SUPERVISOR)])
        for plan in self.plans:
            if plan.watchlist is not None:
                WatchlistEntry.objects.get_or_create(
                    kind=WatchlistEntry.Kind.VEHICLE,
                    plate=plan.plate,
                    defaults={"action": plan.watchlist, "reason": "Simulation: vehicle of interest"},
                )

    # --- The run ---------------------------------------------------------------------------------------

    def run(self) -> DayResult:
        with self.tasks_in_process():
            with self.clock:
                self.clock.at(self.env)
                self.setup()
                self.clock.begin(self.env)
                start_hour = self.clock.start.astimezone(LOCAL).hour
                self.officers = {
                    force: Officers(self.env, self.profile, force, self.officer_users[force], start_hour)
                    for force in FORCES
                }
                for plan in self.plans:
                    self.env.process(self.truck(plan))
                self.background()
                horizon = self.env.event()
                day_end = day_start(self.profile) + timedelta(hours=24) - self.clock.start
                limit = day_end.total_seconds() + self.profile.horizon_hours * 3600
                self.env.process(self._horizon(limit, horizon))
                self.env.run(until=simpy.AnyOf(self.env, [self.all_done, horizon]))
                closed = [] if self.all_done.triggered else self.close_at_horizon()
                ended = self.clock.at(self.env)
        return DayResult(
            profile=self.profile.name,
            seed=self.seed,
            vehicles=len(self.plans),
            started_at=self.clock.start,
            ended_at=ended if not self.paced else self.clock.start + timedelta(seconds=self.env.now),
            closed_at_horizon=closed,
            clock=self.clock.metadata(),
        )

    def _horizon(self, seconds: float, event: simpy.Event):
        yield self.env.timeout(seconds)
        event.succeed()

    def now(self) -> datetime:
        return self.clock.at(self.env)

    def wait_until(self, moment: datetime):
        return self.env.timeout(max(0.0, (moment - self.clock.start).total_seconds() - self.env.now))

    def done(self) -> None:
        self.finished += 1
        if self.progress and self.finished % 250 == 0:
            self.progress(self.finished, len(self.plans), self.clock.start + timedelta(seconds=self.env.now))
        if self.finished == len(self.plans) and not self.all_done.triggered:
            self.all_done.succeed()

    def dispatch_wanted(self) -> None:
        """A service asked for a dispatch after its commit (``dispatch_soon``): the gate worker runs one."""
        if not self.dispatch_request.triggered:
            self.dispatch_request.succeed()

    def gate_worker(self):
        """The gate queue's worker: runs the dispatch the services ask for, at most once every
        ``dispatch_every_seconds`` (requests made meanwhile are served by the next run, as queued messages
        would be)."""
        while True:
            yield self.dispatch_request
            self.dispatch_request = self.env.event()
            called = dispatch_run(now=self.now())
            for declaration in called:
                event = self.called.get(declaration.id)
                if event is not None and not event.triggered:
                    event.succeed()
            yield self.env.timeout(self.profile.dispatch_every_seconds)

    def hourly_dispatch(self):
        """The periodic dispatcher's share that no event asks for: a lane's hourly capacity and operating hours
        start again on the hour."""
        while True:
            yield self.env.timeout(3600 - self.env.now % 3600 + 1)
            self.dispatch_wanted()

    def notice_clearance(self, declaration: Declaration) -> None:
        event = self.cleared.get(declaration.id)
        if declaration.status == Status.CLEARED and event is not None and not event.triggered:
            event.succeed()

    # --- A truck's day -------------------------------------------------------------------------------

    def truck(self, plan: TruckPlan):
        yield self.wait_until(plan.declare_at)
        self.now()
        company = self.companies[plan.company]
        declaration_id = self.declare(plan, company)
        self.declarations[plan.index] = declaration_id
        yield from self.checks_decided(declaration_id)
        declaration = Declaration.objects.get(id=declaration_id)
        if declaration.status == Status.REJECTED:
            self.done()  # denied by a check: the forwarder learns it before the truck sets off
            return
        self.cleared[declaration.id] = self.env.event()
        self.notice_clearance(declaration)
        self.env.process(self.pay(plan, declaration))
        if plan.arrival is None:
            # A no-show: its forwarder cancels two hours after the expected arrival.
            yield self.wait_until(plan.expected_arrival + timedelta(hours=2))
            self.now()
            declaration_cancel(
                declaration_id=declaration.id,
                company=company,
                actor=_forwarder(company),
                reason="Simulation: the truck did not come.",
            )
            self.done()
            return

        yield self.wait_until(plan.arrival)
        self.called[declaration.id] = self.env.event()
        now = self.now()
        yard = self.yards[YARDS[(plan.route, plan.direction)]]
        camera = f"camera-{yard.code}"
        yard_arrival_record(
            plate_read=plan.plate_read,
            yard=yard,
            occurred_at=now,
            source=camera,
            actor=Actor(kind=DeclarationEvent.ActorKind.DEVICE, name=camera),
        )
        officers = self.env.process(self.inspect(plan, declaration))
        outcome = yield self.called[declaration.id] | officers
        if officers in outcome and officers.value is False:
            self.done()  # rejected after inspection and turned back
            return
        if self.called[declaration.id] not in outcome:
            yield self.called[declaration.id]
        yield self.env.timeout(plan.drive_minutes * 60)
        yield officers
        if officers.value is False:
            self.done()
            return
        yield self.cleared[declaration.id]
        device = self.devices[(GateDevice.Kind.LANE_GATE, _lane_of(declaration.id))]
        while True:
            now = self.now()
            decision, reasons, lane_id = self.gate_read(device, plan, now)
            if decision == GateDecision.Decision.OPEN:
                break
            if GateDecision.HoldReason.NOT_CALLED in reasons:
                # The call was taken back (it came too late): wait for the next call in the yard.
                self.called[declaration.id] = self.env.event()
                yield self.called[declaration.id]
                yield self.env.timeout(plan.drive_minutes * 60)
                device = self.devices[(GateDevice.Kind.LANE_GATE, _lane_of(declaration.id))]
                continue
            if {GateDecision.HoldReason.OUTSIDE_HOURS, GateDecision.HoldReason.LANE_CLOSED} & set(reasons):
                yield self.env.timeout(3600 - self.env.now % 3600 + 1)  # the lane opens on an hour
            else:
                yield self.env.timeout(self.profile.movement.get("gate_retry_minutes", 2) * 60)
        self.weigh(self.devices[(GateDevice.Kind.WEIGHBRIDGE, lane_id)], plan, now)
        yield self.env.timeout(plan.lane_minutes * 60)
        now = self.now()
        if not self.cross(self.devices[(GateDevice.Kind.BORDER_LINE, lane_id)], plan, now):
            raise SimulationError(f"{_where(declaration.id)}: the border line did not complete the crossing.")
        self.done()

    def pay(self, plan: TruckPlan, declaration: Declaration):
        """The forwarder pays the fee issued with the clearance, ``pay_minutes`` after it."""
        yield self.cleared[declaration.id]
        yield self.env.timeout(plan.pay_minutes * 60)
        self.now()
        fee = Fee.objects.filter(declaration_id=declaration.id).select_related("declaration").first()
        if fee is None or fee.status != Fee.Status.ISSUED:
            return  # none issued, already paid, or void: the crossing was cancelled
        payment_record(
            provider_payment_id=f"SIM-PAY-{declaration.id}",
            reference=fee.declaration.reference,
            amount_vnd=Decimal(fee.amount_vnd),
            payload={"simulation": True},
        )

    def inspect(self, plan: TruckPlan, declaration: Declaration):
        """Officers inspect the vehicle in the yard (or at the inspection bay it was called to), one force
        after another; a failed inspection holds it for a supervisor. Returns False when the crossing ends
        rejected (the truck is turned back)."""
        while True:
            declaration.refresh_from_db(fields=["status", "version", "stage"])
            if declaration.status == Status.CLEARED:
                self.notice_clearance(declaration)
                return True
            if declaration.status == Status.HELD:
                yield self.env.timeout(plan.supervisor_minutes * 60)
                self.now()
                reason = "Simulation: supervisor's decision on the inspection's finding."
                if plan.released:
                    declaration_release(declaration_id=declaration.id, user=self.supervisor, reason=reason)
                else:
                    declaration_reject_held(declaration_id=declaration.id, user=self.supervisor, reason=reason)
                continue
            if declaration.status == Status.REJECTED:
                self.now()
                declaration_turn_back(
                    declaration_id=declaration.id, actor=Actor.system("gate-operator"), reason="Crossing rejected."
                )
                return False
            if self.paced and declaration.status in (Status.SUBMITTED, Status.CHECKING):
                yield self.env.timeout(self.poll_seconds)  # a worker is still at a check
                continue
            if declaration.status != Status.INSPECTION:
                raise SimulationError(f"{_where(declaration.id)}: the simulation does not know what comes next.")
            inspection = (
                Inspection.objects.filter(
                    declaration_id=declaration.id, version=declaration.version, status=Inspection.Status.OPEN
                )
                .order_by("id")
                .first()
            )
            if inspection is None and self.paced:
                yield self.env.timeout(self.poll_seconds)  # a worker has not finished what the last change sent
                continue
            if inspection is None:
                raise SimulationError(f"{_where(declaration.id)}: in inspection with no open inspection.")
            officers = self.officers[inspection.force]
            with officers.resource.request(priority=1) as request:
                yield request
                yield self.env.timeout(plan.inspection_minutes[inspection.kind] * 60)
                self.now()
                passed = plan.inspection_passes[inspection.force]
                inspection_record_result(
                    inspection_id=inspection.id,
                    user=officers.user(),
                    passed=passed,
                    notes="" if passed else "Simulation: finding on inspection.",
                )

    def declaration_data(self, plan: TruckPlan) -> dict:
        """What the forwarder's system sends, as the API's input serializer hands it to the service."""
        expected_arrival = self.clock.moment(plan.expected_arrival, self.env)
        arrival_day: date = local_day(expected_arrival)
        country = plan.country
        perishable = int(plan.hs_code[:2]) <= 24
        data = {
            "direction": plan.direction,
            "route": self.routes[plan.route],
            "expected_arrival": expected_arrival,
            "customs_declarations": [
                {
                    "number": f"3{self.seed % 10}{plan.index:010d}",
                    "type": "B11" if plan.direction == Direction.EXPORT else "A12",
                }
            ],
            "vehicle": {
                "plate": parse_plate(plan.plate, country=country),
                "max_gross_weight_kg": 40000,
                "permit_number": f"{country}-CN-SIM-{plan.index:06d}",
                "permit_expires": arrival_day + timedelta(days=365),
            },
            "driver": {
                "full_name": DRIVER_NAMES_OF[country][plan.index % len(DRIVER_NAMES_OF[country])],
                "nationality": country,
                "document_type": Driver.DocumentType.PASSPORT,
                "document_number": f"{'C' if country == 'VN' else 'E'}{plan.index:08d}",
                "document_expires": arrival_day + timedelta(days=3 if plan.document_expiring else 900),
            },
            "containers": [],
            "goods": [
                {
                    "hs_code": plan.hs_code,
                    "description": plan.description,
                    "quantity": Decimal(plan.weight_kg),
                    "unit": "KGM",
                    "gross_weight_kg": Decimal(plan.weight_kg),
                    "value": Decimal(plan.value_usd),
                    "currency": "USD",
                    "origin_country": country,
                }
            ],
            "quarantine_certificates": [],
        }
        if plan.goods_type == "general":
            number = f"SIMU{plan.index:06d}"
            data["containers"] = [
                {"number": number + iso6346.calc_check_digit(number), "size": "40", "seals": [f"S{plan.index:08d}"]}
            ]
        if perishable and plan.has_certificate:
            data["quarantine_certificates"] = [
                {
                    "number": f"KD-SIM-{plan.index:06d}",
                    "issued_on": arrival_day - timedelta(days=2),
                    "expires_on": arrival_day + timedelta(days=20),
                }
            ]
        return data

    # --- The end -------------------------------------------------------------------------------------

    def close_at_horizon(self) -> list[str]:
        """Vehicles still between stages when the horizon is reached are sent away (turned back, or their
        crossing cancelled by the forwarder), so no generated vehicle is left in between; the report names
        them."""
        self.now()
        closed = []
        for declaration in Declaration.objects.filter(ACTIVE_DECLARATION).exclude(
            status=Status.REJECTED, stage=Stage.EXPECTED
        ):
            reason = "Simulation horizon reached."
            try:
                if declaration.stage in (Stage.EXPECTED,):
                    declaration_cancel(
                        declaration_id=declaration.id,
                        company=declaration.company,
                        actor=_forwarder(declaration.company),
                        reason=reason,
                    )
                else:
                    declaration_turn_back(
                        declaration_id=declaration.id, actor=Actor.system("gate-operator"), reason=reason
                    )
            except DomainError as error:
                raise SimulationError(f"{_where(declaration.id)}: cannot close it at the horizon ({error}).") from error
            closed.append(declaration.reference)
        return closed


DRIVER_NAMES_OF = {
    "VN": ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Đức Dũng", "Hoàng Văn Em", "Vũ Thị Hoa"],
    "CN": ["Wang Wei", "Li Na", "Zhang Wei", "Liu Yang", "Chen Jie", "Huang Lei"],
}


def _forwarder(company: Company) -> Actor:
    return Actor(kind=DeclarationEvent.ActorKind.API_KEY, name=f"simulated ERP of {company.tax_code}")


def _lane_of(declaration_id: int) -> int:
    lane_id = Declaration.objects.filter(id=declaration_id).values_list("lane_id", flat=True).first()
    if lane_id is None:
        raise SimulationError(f"{_where(declaration_id)}: called, but to no lane.")
    return lane_id


def _where(declaration_id: int) -> str:
    declaration = Declaration.objects.get(id=declaration_id)
    return f"{declaration.reference} is {declaration.status}, {declaration.stage}"


class _DispatchRequests:
    """Stands for the dispatch task in Celery's registry while a day runs: a request (``dispatch_soon``)
    reaches the simulation's gate worker instead of running a dispatch in-process at once, so requests made
    in the same minute are served by one run, as the real worker serves its queue."""

    name = DISPATCH_TASK

    def __init__(self, day: Day):
        self.day = day

    def apply_async(self, *args, **kwargs) -> None:
        self.day.dispatch_wanted()


class _Null:
    def write(self, *args, **kwargs) -> None:
        pass

    def flush(self) -> None:
        pass


def simulate(profile: Profile, *, seed: int, progress=None) -> DayResult:
    """Run the profile's day with this seed against the current database (which must hold no declarations:
    the day's figures are read back from it)."""
    simulate_check()
    return Day(profile, seed=seed, progress=progress).run()


def simulate_check() -> None:
    if Declaration.objects.exists():
        raise SimulationError(
            "The database already holds declarations; simulate a day against a database of its own "
            "(simulate_day creates one unless told --use-database; a paced run needs a live stack whose "
            "database holds none)."
        )
