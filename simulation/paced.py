"""A paced day: the same vehicles and people as ``--speed max``, in real time (1×) or compressed (5×, 100×…),
against a live stack, the way a load test would.

What differs from the virtual-clock day (simulation.engine.Day), and nothing else:

- The clock: SimPy's ``RealtimeEnvironment(factor=1/speed, strict=False)``, so a simulated second takes
  1/speed of a real one; no time-machine: every service stamps the real clock. A moment of the plan (an
  expected arrival) is sent as ``real now + (planned − simulated now) / speed``. The simulated day starts
  on the hour before the first declaration (a paced run does not wait through the empty hours before it). The
  run does not stop when it falls behind its schedule (one thread sends the requests one at a time); the
  summary says how far behind it ended (``behind_real_time_seconds``).
- The actuators: declarations are POSTed to the running server (``/api/v1/declarations/``, each simulated
  company's own API key); its checks run on the stack's Celery workers, and the simulation waits for their
  decision by reading the database; the lane barrier's plate reads, the weighbridge and the border line are
  POSTed with device keys (``/api/v1/gate/reads/``, ``gate/weights/``, ``gate/movements/``). Officers'
  results, supervisors' decisions, yard-camera arrivals, payments and cancellations call the same services
  as the virtual-clock day, in this process, against the stack's database (officers work on admin screens,
  which call these services). Whatever those changes send after their commit (checks, dispatch requests)
  goes to the stack's broker and its workers, as in production.
- Dispatch: the stack's workers run the dispatches the services ask for; the simulation also runs
  ``dispatch_run`` itself every ``dispatch_every_seconds`` of simulated time (at least every half real
  second), standing for the periodic dispatcher (beat) whose schedule is in real time. It learns a vehicle
  was called from its declaration's stage in the database, whoever dispatched.
- A lane's hourly capacity and operating hours are rules on the real clock; a compressed hour would
  otherwise see the capacity of a real one. The run multiplies each lane's capacity per hour by the speed
  and opens the lanes around the clock (so a run started at night is not held by real opening hours), and
  divides each gate's crossing notice (hours before arrival) by the speed, rounded down; it puts them back when
  the day ends (the profile's lane settings stay, as at ``--speed max``). Other real-clock
  rules (the call timeout, slot tolerances) are left as they are: at high speeds they never fire.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from urllib import error as urllib_error
from urllib import request as urllib_request

import simpy
import simpy.rt
from django.utils import timezone

from clearance.models import Company, Declaration, GateDecision
from clearance.services.companies import api_key_create
from clearance.services.dispatch import dispatch_run
from clearance.services.gate import CROSSING_MOVEMENT
from simulation.engine import CONFIDENT_READ, TARE_KG, Day, DayResult, SimulationError, simulate_check
from simulation.profiles import Profile
from simulation.traffic import TruckPlan
from vehicles.models import BorderGate, DeviceAPIKey, GateDevice, Lane, Route

Status = Declaration.Status
Stage = Declaration.Stage
# How often, in real seconds, the simulation looks at what the workers did (checks decided, vehicles called).
POLL_REAL_SECONDS = 0.25
DISPATCH_REAL_SECONDS = 0.5
HTTP_TIMEOUT_SECONDS = 30
MAX_CAPACITY = 32767  # Lane.capacity_per_hour is a PositiveSmallIntegerField


class RealClock:
    """The real clock, running ``speed`` times slower than the simulated one."""

    def __init__(self, start: datetime, speed: float):
        self.start, self.speed = start, speed
        self.real_start = timezone.now()

    def __enter__(self) -> RealClock:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def at(self, env: simpy.Environment) -> datetime:
        return timezone.now()

    def begin(self, env: simpy.rt.RealtimeEnvironment) -> None:
        """The day's processes start now: simulated second 0 is this real moment."""
        self.real_start = timezone.now()
        self.env = env
        env.sync()

    def behind(self) -> float:
        """How many real seconds the simulation is behind its schedule (it does not stop when it falls behind:
        strict=False; a single thread sends the requests one at a time)."""
        return (timezone.now() - self.real_start).total_seconds() - self.env.now / self.speed

    def moment(self, planned: datetime, env: simpy.Environment) -> datetime:
        """A moment of the plan as the real clock sees it from now: a forwarder declaring 4 h ahead declares
        4 h / speed ahead of the real moment it sends, even when the simulation runs behind its schedule."""
        now = self.start + timedelta(seconds=env.now)
        return timezone.now() + (planned - now) / self.speed

    def metadata(self) -> dict:
        return {
            "behind_real_time_seconds": round(self.behind(), 1),
            "speed": self.speed,
            "clock": "real: the stored times are real; every time and duration in this summary is the simulated "
            "day's equivalent, simulated_start + (stored − real_start) × speed",
            "real_start": self.real_start.isoformat(),
            "simulated_start": self.start.isoformat(),
        }


class PacedDay(Day):
    paced = True

    def __init__(self, profile: Profile, *, seed: int, speed: float, base_url: str, progress=None):
        self.speed, self.base_url = speed, base_url.rstrip("/")
        self.poll_seconds = POLL_REAL_SECONDS * speed
        super().__init__(profile, seed=seed, progress=progress)
        self.real_clock_rules: list = []  # (model, id, field values) as they were before the run scaled them

    def run(self) -> DayResult:
        try:
            return super().run()
        finally:
            for model, pk, values in self.real_clock_rules:
                row = model.objects.get(pk=pk)
                for name, value in values.items():
                    setattr(row, name, value)
                row._change_reason = "simulation ended: the real-clock rules as they were"
                row.save()

    def environment(self) -> simpy.Environment:
        return simpy.rt.RealtimeEnvironment(factor=1 / self.speed, strict=False)

    def make_clock(self) -> RealClock:
        first = min(plan.declare_at for plan in self.plans) - timedelta(minutes=1)
        return RealClock(first.replace(minute=0, second=0, microsecond=0), self.speed)

    @contextmanager
    def tasks_in_process(self):
        yield  # the stack's workers take every task, as in production

    def setup(self) -> None:
        super().setup()
        for lane in Lane.objects.all():
            self.real_clock_rules.append(
                (
                    Lane,
                    lane.pk,
                    {
                        "capacity_per_hour": lane.capacity_per_hour,
                        "opens_at": lane.opens_at,
                        "closes_at": lane.closes_at,
                    },
                )
            )
            lane.capacity_per_hour = min(MAX_CAPACITY, math.ceil(lane.capacity_per_hour * self.speed))
            lane.opens_at = lane.closes_at = None
            lane._change_reason = f"simulation at {self.speed:g}× speed: capacity per real hour, open around the clock"
            lane.save()
        for gate in BorderGate.objects.all():
            self.real_clock_rules.append((BorderGate, gate.pk, {"crossing_notice_hours": gate.crossing_notice_hours}))
            # The notice is hours of the real clock; a forwarder's lead, compressed, must still meet it.
            gate.crossing_notice_hours = int(gate.crossing_notice_hours / self.speed)
            gate._change_reason = f"simulation at {self.speed:g}× speed: the notice on the compressed clock"
            gate.save()
        self.company_keys = {
            company.id: api_key_create(company=company, name=f"simulation {timezone.now():%Y%m%d%H%M%S}")[1]
            for company in self.companies
        }
        self.device_keys = {
            device.id: DeviceAPIKey.objects.create_key(device=device, name="simulation")[1]
            for device in self.devices.values()
        }

    # --- Actuators: the live stack's API --------------------------------------------------------------

    def post(self, path: str, body: dict, *, key: str) -> dict:
        data = json.dumps(body, default=_json_value).encode()
        request = urllib_request.Request(
            self.base_url + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Api-Key {key}"},
        )
        try:
            with urllib_request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"{}")
        except urllib_error.HTTPError as error:
            raise SimulationError(
                f"POST {path} answered {error.code}: {error.read().decode(errors='replace')[:500]}"
            ) from None
        except urllib_error.URLError as error:
            raise SimulationError(f"POST {self.base_url}{path}: the server is unreachable ({error.reason}).") from None

    def declare(self, plan: TruckPlan, company: Company) -> int:
        data = self.declaration_data(plan)
        data["vehicle"] = {**data["vehicle"], "plate": plan.plate, "country": plan.country}
        answer = self.post("/api/v1/declarations/", data, key=self.company_keys[company.id])
        return answer["id"]

    def checks_decided(self, declaration_id: int):
        """The stack's workers run the checks; wait until the declaration's status says they decided."""
        while Declaration.objects.filter(id=declaration_id, status__in=(Status.SUBMITTED, Status.CHECKING)).exists():
            yield self.env.timeout(self.poll_seconds)

    def gate_read(self, device: GateDevice, plan: TruckPlan, now: datetime) -> tuple[str, list[str], int | None]:
        body = {"plate": plan.plate_read, "read_at": now, "confidence": CONFIDENT_READ}
        answer = self.post("/api/v1/gate/reads/", body, key=self.device_keys[device.id])
        lane_id = GateDecision.objects.filter(id=answer["decision_id"]).values_list("lane_id", flat=True).first()
        return answer["decision"], answer["reasons"], lane_id

    def weigh(self, device: GateDevice, plan: TruckPlan, now: datetime) -> None:
        body = {"plate": plan.plate_read, "gross_weight_kg": plan.weight_kg + TARE_KG, "measured_at": now}
        self.post("/api/v1/gate/weights/", body, key=self.device_keys[device.id])

    def cross(self, device: GateDevice, plan: TruckPlan, now: datetime) -> bool:
        body = {"plate": plan.plate_read, "kind": CROSSING_MOVEMENT[plan.direction], "occurred_at": now}
        return self.post("/api/v1/gate/movements/", body, key=self.device_keys[device.id])["recorded"]

    # --- The stack's periodic work, and what the simulation learns from the database --------------------

    def background(self) -> None:
        self.env.process(self.dispatcher())
        self.env.process(self.watcher())

    def dispatcher(self):
        every = max(self.profile.dispatch_every_seconds, DISPATCH_REAL_SECONDS * self.speed)
        while True:
            dispatch_run(now=self.now())
            yield self.env.timeout(every)

    def watcher(self):
        """Vehicles called (by the stack's workers or the dispatcher above) are told so by their stage. Read from
        the declarations waiting, not from the newest events: concurrent writers commit events out of id order,
        and a call committed behind a newer one would be missed."""
        while True:
            waiting = [declaration_id for declaration_id, called in self.called.items() if not called.triggered]
            if waiting:
                for declaration_id in Declaration.objects.filter(id__in=waiting, stage=Stage.CALLED).values_list(
                    "id", flat=True
                ):
                    self.called[declaration_id].succeed()
            yield self.env.timeout(self.poll_seconds)


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Route):
        return value.code
    raise TypeError(f"{type(value).__name__} is not sent over the API")


def simulate_paced(profile: Profile, *, seed: int, speed: float, base_url: str, progress=None) -> DayResult:
    """Run the profile's day at ``speed`` × real time against the live stack at ``base_url``, whose database is
    this process's (it must hold no declarations: the day's figures are read back from it)."""
    simulate_check()
    return PacedDay(profile, seed=seed, speed=speed, base_url=base_url, progress=progress).run()
