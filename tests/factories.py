"""Test data built the way users build it (factory_boy).

- ``CompanyFactory``: a declaring company registered with ``company_create``, with a valid Vietnamese
  tax code of its own; ``forwarder()`` is the company of the ``company`` fixture and the ``api`` client.
- ``TruckBody``: the API body declaring the n-th truck: its own plate, permit and customs number,
  non-perishable goods (laptops), no trailer, containers or quarantine certificates, arriving tomorrow.
- ``DeclarationFactory``: a declaration brought to any point of its journey in one call, through the real
  API and services: ``DeclarationFactory(n=3, stage=Declaration.Stage.CALLED)``.

Every row is written by the service a user's action reaches; nothing here writes a status, a stage or an
audit event by hand. The reference data (the ``reference`` fixture) must be loaded, and a fee is issued at
clearance only under a tariff (the ``tariff`` fixture): stages that pay need it.
"""

from __future__ import annotations

import copy
import io
from datetime import datetime, timedelta
from decimal import Decimal

import factory
from django.core.management import call_command
from django.db.models import F
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient
from stdnum import iso6346
from stdnum.vn import mst

from clearance.audit import Actor
from clearance.models import Company, Declaration, DeclarationEvent, Fee, GateDecision
from clearance.services.companies import api_key_create, company_create
from clearance.services.dispatch import declaration_call_forward, dispatch_run
from clearance.services.fees import payment_record
from clearance.services.gate import CROSSING_MOVEMENT, crossing_record, gate_decide
from clearance.services.yard import yard_arrival_record
from vehicles.models import Direction, GateDevice, Lane, Route, Yard

Status = Declaration.Status
Stage = Declaration.Stage

# --- Bodies ---------------------------------------------------------------------------------------------

# Perishable goods in HS chapter 08: they need a quarantine certificate and go first in a yard's queue.
DURIAN = [
    {
        "hs_code": "08106000",
        "description": "Fresh durian",
        "quantity": "18000",
        "unit": "KGM",
        "gross_weight_kg": "18000",
        "value": "45000.00",
        "currency": "USD",
        "origin_country": "VN",
    }
]
# Goods lines outside HS chapters 01–24 (no quarantine) and not perishable, for queue and gate tests.
LAPTOPS = [
    {
        "hs_code": "84713020",
        "description": "Laptops",
        "quantity": "500",
        "unit": "PCE",
        "gross_weight_kg": "2000",
        "value": "150000.00",
        "currency": "USD",
        "origin_country": "VN",
    }
]
PHONES = [
    {
        "hs_code": "85171300",
        "description": "Smartphones",
        "quantity": "2000",
        "unit": "PCE",
        "gross_weight_kg": "1500",
        "value": "400000.00",
        "currency": "USD",
        "origin_country": "VN",
    }
]

# The example body of the API contract: a durian truck with a trailer, a sealed container and its certificate.
EXAMPLE = {
    "direction": "export",
    "route": "1119-1120",
    "customs_declarations": [{"number": "305123456789", "type": "B11"}],
    "vehicle": {
        "plate": "12C-123.45",
        "country": "VN",
        "max_gross_weight_kg": 40000,
        "permit_number": "VN-CN-2026-00123",
        "permit_expires": "2027-06-30",
    },
    "trailer": {"plate": "12R-012.34", "country": "VN"},
    "driver": {
        "full_name": "Nguyễn Văn An",
        "nationality": "VN",
        "document_type": "passport",
        "document_number": "C1234567",
        "document_expires": "2030-01-01",
    },
    "containers": [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}],
    "goods": DURIAN,
    "quarantine_certificates": [{"number": "KD-2026-001234", "issued_on": "2026-11-20", "expires_on": "2026-12-20"}],
}


def arrival_in(hours: float) -> str:
    """An expected arrival ``hours`` from now, written as a Vietnamese forwarder writes it (UTC+7)."""
    return (timezone.now() + timedelta(hours=hours)).astimezone(timezone.get_fixed_timezone(7 * 60)).isoformat()


def quarantine_certificate(*, arrival_hours: float = 24) -> dict:
    """A quarantine certificate valid on the day of a crossing ``arrival_hours`` from now."""
    day = timezone.localdate(timezone.now() + timedelta(hours=arrival_hours))
    return {
        "number": "KD-2026-001234",
        "issued_on": str(day - timedelta(days=3)),
        "expires_on": str(day + timedelta(days=27)),
    }


def truck_number(n: int) -> int:
    return 30000 + n


def _plate(number: int) -> str:
    return f"12C-{number // 100:03d}.{number % 100:02d}"


def truck_plate(n: int) -> str:
    """The n-th truck's plate as declared: 12C-300.00 for the 0th."""
    return _plate(truck_number(n))


def truck_plate_read(n: int) -> str:
    """The n-th truck's plate as a camera reads it, without separators: 12C30000 for the 0th."""
    return f"12C{truck_number(n):05d}"


def container(n: int, *, size: str = "40") -> dict:
    """The n-th test container: a valid ISO 6346 number of its own (owner TST), sealed."""
    number = f"TSTU{n:06d}"
    return {"number": number + iso6346.calc_check_digit(number), "size": size, "seals": [f"SEAL{n:06d}"]}


class VehicleBody(factory.DictFactory):
    """The ``vehicle`` of a body: a Vietnamese truck with a permit valid for a year. Add a field with
    ``TruckBody(vehicle__is_autonomous=True)``."""

    class Params:
        number = truck_number(0)

    plate = factory.LazyAttribute(lambda o: _plate(o.number))
    country = "VN"
    max_gross_weight_kg = 40000
    permit_number = factory.LazyAttribute(lambda o: f"VN-CN-2026-{o.number}")
    permit_expires = factory.LazyFunction(lambda: str(timezone.localdate() + timedelta(days=365)))


class TruckBody(factory.DictFactory):
    """The body of ``POST /api/v1/declarations/`` for the n-th truck: its own plate (``truck_plate(n)``),
    permit and customs number, laptops, no trailer, container or certificate, on 1119-1120 for export,
    arriving in 24 hours. Any field can be given: ``TruckBody(n=2, goods=PHONES, direction="import")``.

    ``n`` names the truck; tests that name none get numbers from 1000 up, which never meet theirs."""

    class Params:
        n = factory.Sequence(lambda i: 1000 + i)
        number = factory.LazyAttribute(lambda o: truck_number(o.n))

    direction = Direction.EXPORT.value
    route = EXAMPLE["route"]
    expected_arrival = factory.LazyFunction(lambda: arrival_in(24))
    # A type of the crossing's direction (VNACCS: B11 export for trade, A11 import for consumption).
    customs_declarations = factory.LazyAttribute(
        lambda o: [{"number": f"3070{o.number:08d}", "type": "B11" if o.direction == Direction.EXPORT else "A11"}]
    )
    vehicle = factory.SubFactory(VehicleBody, number=factory.SelfAttribute("..number"))
    trailer = None
    driver = factory.LazyFunction(lambda: copy.deepcopy(EXAMPLE["driver"]))
    containers = factory.LazyFunction(list)
    goods = factory.LazyFunction(lambda: copy.deepcopy(LAPTOPS))
    quarantine_certificates = factory.LazyFunction(list)


# --- Companies ------------------------------------------------------------------------------------------


def tax_code(i: int) -> str:
    """The i-th of a run of valid, distinct Vietnamese tax codes (MST): the eight digits 03100000 + i, then the
    first ninth digit for which a check digit exists (python-stdnum's rule leaves one base in eleven without)."""
    prefix = f"0{3100000 + i:07d}"
    for digit in "0123456789":
        check = mst.calc_check_digit(prefix + digit)
        if len(check) == 1:
            return prefix + digit + check
    raise AssertionError(f"no valid tax code with prefix {prefix}")  # never: the ninth digit's weight is 3


class CompanyFactory(factory.django.DjangoModelFactory):
    """A declaring company registered through ``company_create``."""

    class Meta:
        model = Company

    tax_code = factory.Sequence(tax_code)
    name = factory.Faker("company", locale="vi_VN")
    country = "VN"
    compliance_rating = Company.Rating.NORMAL

    @classmethod
    def _create(cls, model_class, *, tax_code: str, name: str, country: str, compliance_rating: str) -> Company:
        return company_create(tax_code_text=tax_code, name=name, country=country, compliance_rating=compliance_rating)


FORWARDER = {"tax_code": "0101234565", "name": "Công ty TNHH Vận tải Hữu Nghị"}


def forwarder() -> Company:
    """The forwarder most tests declare for: the ``company`` fixture's company, registered on first use."""
    return Company.objects.filter(tax_code=FORWARDER["tax_code"]).first() or CompanyFactory(**FORWARDER)


def client_for(company: Company) -> APIClient:
    """An API client holding a new key of the company's ERP."""
    _api_key, key = api_key_create(company=company, name="erp")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


# --- Declarations ---------------------------------------------------------------------------------------

# Where a declaration stands before its vehicle reaches the gate: the status its checks gave (or none ran).
NOT_CHECKED = (Status.SUBMITTED, Status.CHECKING)
DECIDED = (Status.CLEARED, Status.INSPECTION, Status.REJECTED)
# Where its vehicle stands, in the order of the journey.
JOURNEY = (Stage.EXPECTED, Stage.IN_YARD, Stage.CALLED, Stage.IN_LANE, Stage.CROSSED)
# The yard a vehicle of a route and direction waits in.
YARDS = {
    ("1119-1120", Direction.EXPORT): "1119-export-yard",
    ("1119-1120", Direction.IMPORT): "1119-import-yard",
    ("1088/2-1089", Direction.EXPORT): "1088-yard",
    ("1088/2-1089", Direction.IMPORT): "1088-yard",
}
GATE_OPERATOR = Actor.system("gate-operator")
CONFIDENT_READ = Decimal("0.970")


class StageNotReached(AssertionError):
    """The services did not take the declaration where it was asked to go; the message says where it is."""


def journey_point(stage, status=None) -> tuple[Status, Stage]:
    """What ``DeclarationFactory(stage=…, status=…)`` asks for, as (status, stage).

    ``stage`` is a point of the journey, a member or value of either enum: a status the checks give
    (``CLEARED``, ``INSPECTION``, ``REJECTED``), ``SUBMITTED``/``CHECKING`` (declared, its checks not run:
    the submit starts them in its own transaction, so the forwarder sees ``checking``), or a stage of the
    vehicle (``IN_YARD``, ``CALLED``, ``IN_LANE``, ``CROSSED``). ``status`` says which status the checks
    must give on the way to a stage; cleared unless told."""
    if stage in Status.values:
        if status is not None and Status(status) != Status(stage):
            raise ValueError(f"stage={stage!r} is itself a status; status={status!r} contradicts it")
        status, stage = Status(stage), Stage.EXPECTED
    else:
        status, stage = Status(status or Status.CLEARED), Stage(stage)
    if status not in (*NOT_CHECKED, *DECIDED):
        raise ValueError(f"DeclarationFactory reaches {', '.join(NOT_CHECKED + DECIDED)}; not {status}")
    if stage not in JOURNEY:
        raise ValueError(f"DeclarationFactory reaches the stages {', '.join(JOURNEY)}; not {stage}")
    return status, stage


def _where(declaration: Declaration) -> str:
    declaration.refresh_from_db()
    lane = f" at {declaration.lane.code}" if declaration.lane_id else ""
    return f"{declaration.reference} is {declaration.status}, {declaration.stage}{lane}"


def _checks(declaration: Declaration) -> str:
    states = declaration.checks.values_list("kind", "status", "outcome")
    return ", ".join(f"{kind} {status} {outcome or ''}".strip() for kind, status, outcome in states) or "none"


def _device(kind: str, lane: Lane) -> GateDevice:
    """The lane's device of this kind, registered as an installer registers one when there is none."""
    device = GateDevice.objects.filter(kind=kind, lane=lane, is_active=True).first()
    if device is None:
        name = f"{kind}-{lane.code}"
        call_command("create_device", "--kind", kind, "--lane", lane.code, "--name", name, stdout=io.StringIO())
        device = GateDevice.objects.get(kind=kind, lane=lane, name=name)
    return device


def _submit(*, company: Company, body: dict, run_checks: bool) -> Declaration:
    """Declare over the API; with ``run_checks`` the work sent after commit runs, as the workers run it
    (each check task calls ``check_run``; the last one decides the status)."""
    if not Route.objects.filter(code=body["route"]).exists():
        raise StageNotReached(f"no route {body['route']!r}: load the reference data first (the reference fixture)")
    with TestCase.captureOnCommitCallbacks(execute=run_checks):
        response = client_for(company).post("/api/v1/declarations/", body, format="json")
    if response.status_code != 201:
        raise StageNotReached(f"the API refused the declaration ({response.status_code}): {response.json()}")
    return Declaration.objects.get(id=response.json()["id"])


def _pay(declaration: Declaration) -> None:
    fee = Fee.objects.filter(declaration=declaration).first()
    if fee is None:
        raise StageNotReached(f"{_where(declaration)} with no fee to pay: load a tariff (the tariff fixture)")
    payment_record(
        provider_payment_id=f"PAY-{declaration.reference}",
        reference=declaration.reference,
        amount_vnd=Decimal(fee.amount_vnd),
        payload={},
    )


def notice_has_run() -> None:
    """Every crossing still expected at the gate was declared a day ago, so its pre-arrival notice has run
    by the time its truck reaches the yard (one that comes early is held: test_record_holds)."""
    Declaration.objects.filter(stage=Declaration.Stage.EXPECTED).update(created_at=F("created_at") - timedelta(days=1))


def _arrive(declaration: Declaration, *, plate: str, yard: str | None, at: datetime | None) -> None:
    yard = Yard.objects.get(code=yard or YARDS[(declaration.route.code, declaration.direction)])
    camera = f"camera-{yard.code}"
    at = at or timezone.now()
    # A factory truck was declared in time: its pre-arrival notice has run when it reaches the yard.
    # (A truck that comes early is held; tests of that call yard_arrival_record themselves.)
    notice = timedelta(hours=declaration.route.gate.crossing_notice_hours)
    if declaration.created_at + notice > at:
        Declaration.objects.filter(id=declaration.id).update(created_at=at - notice)
    yard_arrival_record(
        plate_read=plate,
        yard=yard,
        occurred_at=at,
        source=camera,
        actor=Actor(kind=DeclarationEvent.ActorKind.DEVICE, name=camera),
    )


def _call(declaration: Declaration, *, lane: str | None, at: datetime | None) -> None:
    """By the dispatcher (which calls every waiting vehicle the lanes have room for, as at the gate), or
    to ``lane`` by a gate operator's hand (now: an operator calls at once)."""
    if lane is None:
        dispatch_run(now=at)
    elif at is not None:
        raise ValueError("a gate operator calls a vehicle now: give called_at or lane, not both")
    else:
        declaration_call_forward(
            declaration_id=declaration.id, lane_id=Lane.objects.get(code=lane).id, actor=GATE_OPERATOR
        )


def _enter_lane(declaration: Declaration, *, plate: str, at: datetime | None) -> None:
    declaration.refresh_from_db()
    decision = gate_decide(
        device=_device(GateDevice.Kind.LANE_GATE, declaration.lane),
        plate=plate,
        read_at=at or timezone.now(),
        confidence=CONFIDENT_READ,
    )
    if decision.decision != GateDecision.Decision.OPEN:
        raise StageNotReached(f"{_where(declaration)}: the barrier holds it ({', '.join(decision.reasons)})")


def _cross(declaration: Declaration, *, plate: str, at: datetime | None) -> None:
    declaration.refresh_from_db()
    crossing_record(
        device=_device(GateDevice.Kind.BORDER_LINE, declaration.lane),
        plate=plate,
        kind=CROSSING_MOVEMENT[declaration.direction],
        occurred_at=at or timezone.now(),
    )


class DeclarationFactory(TruckBody):
    """The n-th truck's declaration (``TruckBody``), brought through the API and the services to
    ``stage`` in one call; returns it as stored.

    - ``stage``: where it stops (see ``journey_point``); cleared, still expected at the gate, unless told.
    - ``status``: the status its checks must give on the way to a stage (cleared unless told).
    - ``company``: the declaring company, ``forwarder()`` unless told.
    - ``paid``: pay the fee through the provider's confirmation; by default as soon as the vehicle comes
      to the gate (a stage from ``IN_YARD`` on) and a fee was issued.
    - ``yard``, ``lane``: a yard code (the route's yard for its direction unless told); a lane code to be
      called to by a gate operator's hand (the dispatcher calls it otherwise).
    - ``arrived_at``, ``called_at``, ``in_lane_at``, ``crossed_at``: when each step happens (now unless
      told); ``called_at`` is the dispatcher's clock.
    - any field of the body: ``goods=PHONES``, ``direction="import"``, ``vehicle__is_autonomous=True``.

    Raises StageNotReached, saying where the declaration stands, when the services take it elsewhere.
    """

    class Meta:
        model = Declaration

    company = factory.LazyFunction(forwarder)
    stage = Status.CLEARED
    status = None
    paid = None
    yard = None
    lane = None
    arrived_at = None
    called_at = None
    in_lane_at = None
    crossed_at = None

    @classmethod
    def _build(cls, model_class, **kwargs):
        raise NotImplementedError("a declaration is built through the services: use DeclarationFactory(...)")

    @classmethod
    def _create(
        cls,
        model_class,
        *,
        company: Company,
        stage,
        status,
        paid: bool | None,
        yard: str | None,
        lane: str | None,
        arrived_at: datetime | None,
        called_at: datetime | None,
        in_lane_at: datetime | None,
        crossed_at: datetime | None,
        **body,
    ) -> Declaration:
        status, stage = journey_point(stage, status)
        reached = JOURNEY.index(stage)
        plate = body["vehicle"]["plate"]

        declaration = _submit(company=company, body=body, run_checks=status not in NOT_CHECKED)
        expected_status = Status.CHECKING if status in NOT_CHECKED else status
        if declaration.status != expected_status:
            raise StageNotReached(f"{_where(declaration)}, not {expected_status} (checks: {_checks(declaration)})")
        if paid or (
            paid is None
            and reached >= JOURNEY.index(Stage.IN_YARD)
            and Fee.objects.filter(declaration=declaration).exists()
        ):
            _pay(declaration)

        steps = {
            Stage.IN_YARD: lambda: _arrive(declaration, plate=plate, yard=yard, at=arrived_at),
            Stage.CALLED: lambda: _call(declaration, lane=lane, at=called_at),
            Stage.IN_LANE: lambda: _enter_lane(declaration, plate=plate, at=in_lane_at),
            Stage.CROSSED: lambda: _cross(declaration, plate=plate, at=crossed_at),
        }
        for step in JOURNEY[1 : reached + 1]:
            steps[step]()
            declaration.refresh_from_db()
            if declaration.stage != step:
                raise StageNotReached(f"{_where(declaration)}, not {step}")
        return Declaration.objects.select_related("lane", "yard", "company").get(id=declaration.id)
