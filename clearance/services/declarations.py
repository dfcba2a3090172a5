"""Declarations: submit, amend, cancel. Each is one transaction; the change itself is the lifecycle's."""

from __future__ import annotations

import random
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from clearance.audit import Actor
from clearance.errors import Conflict, DomainError, FieldError, PreconditionFailed, RuleViolations
from clearance.identifiers import CUSTOMS_DECLARATION_DIRECTIONS
from clearance.models import (
    ACTIVE_DECLARATION,
    Check,
    Company,
    CompanyEvent,
    Container,
    CustomsDeclaration,
    Declaration,
    Fee,
    GoodsLine,
    QuarantineCertificate,
    TransitionNotAllowed,
)
from clearance.process_caches import epidemic_period_at, smart_lane_groups
from clearance.services import lifecycle
from clearance.services.checks import checks_new, checks_start
from clearance.services.eligibility import declaration_lane_eligibility_set
from clearance.services.legs import legs_amendment, legs_field_names, legs_handover_status, legs_record
from clearance.services.tariffs import fee_calculate, journey_of
from clearance.services.yard import queue_class
from vehicles.bulk import ids_allocate
from vehicles.compiled import CompiledRows
from vehicles.models import Route, local_date
from vehicles.services import driver_register, parties_register_many, trailer_register, vehicle_register

# Goods of HS chapters 01–24 (live animals, plants, food) pass plant, animal and food-safety control.
QUARANTINE_CHAPTERS = range(1, 25)


def goods_need_quarantine(goods: list[dict]) -> bool:
    return any(int(line["hs_code"][:2]) in QUARANTINE_CHAPTERS for line in goods)


def _arrival_errors(*, route: Route, expected_arrival: datetime, now: datetime) -> list[FieldError]:
    notice = timedelta(hours=route.gate.crossing_notice_hours)
    furthest = timedelta(days=settings.SMARTGATE_DECLARATION_MAX_DAYS_AHEAD)
    if expected_arrival <= now:
        return [FieldError("expected_arrival", "arrival_in_past", "The expected arrival must be in the future.")]
    if expected_arrival < now + notice:
        return [
            FieldError(
                "expected_arrival",
                "arrival_too_soon",
                f"A crossing must be declared at least {route.gate.crossing_notice_hours} hours before arrival "
                f"at {route.gate.name_en}; the earliest accepted arrival is {(now + notice).isoformat()}.",
            )
        ]
    if expected_arrival > now + furthest:
        return [
            FieldError(
                "expected_arrival",
                "arrival_too_far",
                f"The expected arrival may be at most {furthest.days} days ahead.",
            )
        ]
    return []


def _document_errors(*, expected_arrival: datetime, vehicle: dict, driver: dict) -> list[FieldError]:
    arrival_day: date = local_date(expected_arrival)
    errors = []
    if driver["document_expires"] < arrival_day:
        errors.append(
            FieldError(
                "driver.document_expires",
                "document_expired",
                f"The driver's {driver['document_type']} expires on {driver['document_expires']}, "
                f"before the expected arrival on {arrival_day}.",
            )
        )
    if vehicle.get("permit_expires") and vehicle["permit_expires"] < arrival_day:
        errors.append(
            FieldError(
                "vehicle.permit_expires",
                "permit_expired",
                f"The cross-border permit expires on {vehicle['permit_expires']}, before the expected arrival on "
                f"{arrival_day}.",
            )
        )
    return errors


def _weight_errors(*, vehicle: dict, goods: list[dict]) -> list[FieldError]:
    total = sum((Decimal(line["gross_weight_kg"]) for line in goods), Decimal(0))
    if total > vehicle["max_gross_weight_kg"]:
        return [
            FieldError(
                "goods",
                "overweight",
                f"The goods weigh {total} kg in all, above the vehicle's maximum gross weight of "
                f"{vehicle['max_gross_weight_kg']} kg.",
            )
        ]
    return []


def _customs_type_errors(*, direction: str, lines: list[dict]) -> list[FieldError]:
    """Each customs declaration's type must declare the crossing's direction (VNACCS)."""
    errors = []
    accepted = ", ".join(code for code, way in CUSTOMS_DECLARATION_DIRECTIONS.items() if way == direction)
    for index, line in enumerate(lines):
        declared = CUSTOMS_DECLARATION_DIRECTIONS.get(line["type"])
        if declared is not None and declared != direction:
            errors.append(
                FieldError(
                    f"customs_declarations[{index}].type",
                    "type_not_for_direction",
                    f"{line['type']} declares an {declared} crossing; this crossing is {direction}. Types for "
                    f"{direction}: {accepted}.",
                )
            )
    return errors


# What an empty truck does not carry, by field, in the words of its error.
EMPTY_RETURN_REFUSES = {
    "goods": "goods lines",
    "customs_declarations": "customs declaration numbers",
    "containers": "containers",
    "quarantine_certificates": "quarantine certificates",
}


def _empty_return_errors(*, kind: str, data: dict) -> list[FieldError]:
    """An empty return declares no goods, customs numbers, containers or certificates; sent, each is refused."""
    if kind != Declaration.Kind.EMPTY_RETURN:
        return []
    return [
        FieldError(
            field,
            "not_for_empty_return",
            f"An empty return carries no {what}: leave {field} out, or declare the crossing with kind "
            f"{Declaration.Kind.CARGO.value}.",
        )
        for field, what in EMPTY_RETURN_REFUSES.items()
        if data.get(field)
    ]


def _health_declaration_errors(*, expected_arrival: datetime, health_declaration: dict | None) -> list[FieldError]:
    """In an epidemic period (the province's, in force at the arrival) every crossing sends a health
    declaration for its driver and crew."""
    if health_declaration:
        return []
    mode = epidemic_period_at(expected_arrival)
    if mode is None:
        return []
    return [
        FieldError(
            "health_declaration",
            "required_in_epidemic_period",
            "An epidemic period is in force at the expected arrival: send the driver's and crew's health "
            "declaration (temperature_c, symptoms, close_contact, and crew if any).",
        )
    ]


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise RuleViolations(errors)


def _vehicle_data(declaration: Declaration) -> dict:
    vehicle = declaration.declared_vehicle
    return {"max_gross_weight_kg": vehicle.max_gross_weight_kg, "permit_expires": vehicle.permit_expires}


def _driver_data(declaration: Declaration) -> dict:
    driver = declaration.declared_driver
    return {"document_type": driver.document_type, "document_expires": driver.document_expires}


def _other_crossing(other: Declaration, *, company_id: int) -> tuple[str, dict]:
    """How a clash with another active crossing is named: by its reference to its own company only;
    another company's crossing is never named (nor its id, nor its data)."""
    if other.company_id == company_id:
        return f"the active crossing {other.reference}", {"declaration": other.reference}
    return "an active crossing declared by another company", {}


def _ensure_vehicle_free(*, vehicle_id: int, company_id: int, declaration_id: int | None = None) -> None:
    active = Declaration.objects.filter(ACTIVE_DECLARATION, vehicle_id=vehicle_id).exclude(id=declaration_id)
    first = active.only("reference", "company_id").first()
    if first is not None:
        named, extra = _other_crossing(first, company_id=company_id)
        raise Conflict(
            f"This vehicle is already on {named}; it must cross or be cancelled first.",
            code="vehicle_has_active_crossing",
            extra=extra,
        )


def _ensure_on_no_other_active_crossing(
    model, *, what: str, code: str, numbers: list[str], company_id: int, declaration_id: int | None = None
) -> None:
    """Customs numbers and containers are each on one active crossing at a time (the rows mirror their
    crossing's activity): a clash is a 409 that names the other crossing only to its own company."""
    taken = (
        model.objects.filter(number__in=numbers, is_active=True)
        .exclude(declaration_id=declaration_id)
        .select_related("declaration")
        .first()
    )
    if taken is not None:
        named, extra = _other_crossing(taken.declaration, company_id=company_id)
        raise Conflict(f"{what} {taken.number} is already on {named}.", code=code, extra=extra)


def _ensure_customs_numbers_free(*, numbers: list[str], company_id: int, declaration_id: int | None = None) -> None:
    _ensure_on_no_other_active_crossing(
        CustomsDeclaration,
        what="Customs declaration",
        code="customs_declaration_in_use",
        numbers=numbers,
        company_id=company_id,
        declaration_id=declaration_id,
    )


def _ensure_containers_free(*, numbers: list[str], company_id: int, declaration_id: int | None = None) -> None:
    _ensure_on_no_other_active_crossing(
        Container,
        what="Container",
        code="container_in_use",
        numbers=numbers,
        company_id=company_id,
        declaration_id=declaration_id,
    )


def _register_parties(*, company: Company, vehicle: dict | None, trailer: dict | None, driver: dict | None) -> dict:
    """Bring the shared registry up to what is declared, each change kept as a fact naming its source."""
    source = f"declaration by {company.tax_code}"
    parties = {}
    if vehicle is not None:
        parties["vehicle"] = vehicle_register(**vehicle, source=source)
    if trailer is not None:
        parties["trailer"] = trailer_register(**trailer, source=source)
    if driver is not None:
        parties["driver"] = driver_register(**driver, source=source)
    return parties


def _replace_lines(declaration: Declaration, data: dict) -> None:
    if "customs_declarations" in data:
        declaration.customs_declarations.all().delete()
        numbers = [line["number"] for line in data["customs_declarations"]]
        try:
            with transaction.atomic():
                CustomsDeclaration.objects.bulk_create(
                    CustomsDeclaration(declaration=declaration, **line) for line in data["customs_declarations"]
                )
        except IntegrityError:
            # Another request took a number between our check and this insert.
            _ensure_customs_numbers_free(
                numbers=numbers, company_id=declaration.company_id, declaration_id=declaration.id
            )
            raise
    if "containers" in data:
        declaration.containers.all().delete()
        numbers = [line["number"] for line in data["containers"]]
        _ensure_containers_free(numbers=numbers, company_id=declaration.company_id, declaration_id=declaration.id)
        try:
            with transaction.atomic():
                Container.objects.bulk_create(Container(declaration=declaration, **line) for line in data["containers"])
        except IntegrityError:
            # Another request took a container between our check and this insert.
            _ensure_containers_free(numbers=numbers, company_id=declaration.company_id, declaration_id=declaration.id)
            raise
    if "goods" in data:
        declaration.goods.all().delete()
        GoodsLine.objects.bulk_create(GoodsLine(declaration=declaration, **line) for line in data["goods"])
        declaration.needs_quarantine = goods_need_quarantine(data["goods"])
    if "quarantine_certificates" in data:
        declaration.quarantine_certificates.all().delete()
        QuarantineCertificate.objects.bulk_create(
            QuarantineCertificate(declaration=declaration, **line) for line in data["quarantine_certificates"]
        )


@contextmanager
def _guarding_uniqueness(declaration: Declaration):
    """Write inside a savepoint: the partial unique constraints catch what two concurrent requests both
    checked as free, and the clash is answered as the check would have answered it."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        _ensure_vehicle_free(
            vehicle_id=declaration.vehicle_id, company_id=declaration.company_id, declaration_id=declaration.pk
        )
        raise


def _ensure_paid_fee_still_covers(declaration: Declaration) -> None:
    """A paid fee stands for what was declared: an amendment that would cost more is refused (409)."""
    paid = Fee.objects.filter(declaration=declaration, status=Fee.Status.PAID).select_related("tariff").first()
    if paid is None:
        return
    amount, _breakdown = fee_calculate(declaration=declaration, tariff=paid.tariff, journey=journey_of(declaration))
    if amount > paid.amount_vnd:
        raise Conflict(
            f"The fee paid ({paid.amount_vnd:,} VND) does not cover the amended crossing ({amount:,} VND); "
            f"cancel this declaration and declare again.",
            code="fee_paid",
        )


def declaration_rule_errors(*, data: dict) -> list[FieldError]:
    """The rules of a submission that need the clock and the gate's settings, run on whatever parts of
    ``data`` are valid: a request with format errors elsewhere still hears of these in the same 400."""
    errors = []
    if {"route", "expected_arrival"} <= data.keys():
        errors += _arrival_errors(route=data["route"], expected_arrival=data["expected_arrival"], now=timezone.now())
    if {"expected_arrival", "vehicle", "driver"} <= data.keys():
        errors += _document_errors(
            expected_arrival=data["expected_arrival"], vehicle=data["vehicle"], driver=data["driver"]
        )
    if {"vehicle", "goods"} <= data.keys():
        errors += _weight_errors(vehicle=data["vehicle"], goods=data["goods"])
    if {"direction", "customs_declarations"} <= data.keys():
        errors += _customs_type_errors(direction=data["direction"], lines=data["customs_declarations"])
    errors += _empty_return_errors(kind=data.get("kind", Declaration.Kind.CARGO), data=data)
    if "expected_arrival" in data:
        errors += _health_declaration_errors(
            expected_arrival=data["expected_arrival"], health_declaration=data.get("health_declaration")
        )
    return legs_field_names(errors, data)


def declaration_submit(*, company: Company, actor: Actor, data: dict) -> Declaration:
    """Declare a crossing. ``data`` is validated input: field formats are already checked; this checks
    the rules that need the clock, the gate's settings and other crossings.

    Raises RuleViolations (400) or Conflict (409: the vehicle, a customs number or a container is on an
    active crossing).
    """
    (outcome,) = declarations_submit_many(company=company, actor=actor, items=[data])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE
DEADLOCK_ATTEMPTS = 3


def _once_more_after_a_deadlock(write):
    """``write()`` in a transaction (a savepoint inside the caller's), run again if PostgreSQL ended it to
    break a deadlock, up to ``DEADLOCK_ATTEMPTS`` times in all. Two submissions naming the same vehicle and
    driver can each hold a registry row the other waits for (each statement of a transaction reads the rows
    committed by then, so one may find the driver a third submission just registered, and lock it, before it
    finds the vehicle). The one PostgreSQL ends wrote nothing; tried again, it reads what the other
    committed. It waits a moment first, a little longer each time and never the same for two: retried at
    once, it could take back the row it had just let go before the other got it, and deadlock again."""
    for attempt in range(1, DEADLOCK_ATTEMPTS):
        try:
            with transaction.atomic():
                return write()
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != DEADLOCK_DETECTED:
                raise
        time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - a jitter, not a secret
    with transaction.atomic():  # the last attempt: a third deadlock is the caller's error
        return write()


def declarations_submit_many(*, company: Company, actor: Actor, items: list[dict]) -> list[Declaration | DomainError]:
    """Declare many crossings, each as ``declaration_submit`` would, taken in order: per item the new
    declaration (its lines, checks and chain held in memory, ready to show) or the error a single
    submission would have raised (a refused item writes nothing). Whatever the number of items and of
    their lines, a constant number of queries: one read of the active crossings holding their vehicles,
    customs numbers and containers, one allocation of ids, the registry read and upserted per table, and
    one write of everything else (vehicles.bulk.rows_insert)."""
    try:
        return _once_more_after_a_deadlock(lambda: _submit_many(company=company, actor=actor, items=items))
    except IntegrityError:
        if len(items) > 1:
            # A concurrent request took a vehicle, number or container between our read and our write:
            # each item alone says which (and the others go in).
            return [declarations_submit_many(company=company, actor=actor, items=[data])[0] for data in items]
        # Answer the clash as the read would have answered it.
        (clash,) = _clashes(company=company, items=items, claimed=_Claimed())
        if clash is not None:
            return [clash]
        raise


class _Claimed:
    """What earlier items of the same submission took: the vehicles, customs numbers and containers of the
    declarations accepted so far (a later item hears the 409 it would hear once they were committed)."""

    def __init__(self):
        self.vehicles: dict[tuple, Declaration] = {}
        self.customs_numbers: dict[str, Declaration] = {}
        self.containers: dict[str, Declaration] = {}

    def take(self, declaration: Declaration, data: dict) -> None:
        plate = data["vehicle"]["plate"]
        self.vehicles[(plate.country, plate.normalized)] = declaration
        for line in data.get("customs_declarations", []):
            self.customs_numbers[line["number"]] = declaration
        for line in data.get("containers", []):
            self.containers[line["number"]] = declaration


def _clashes(*, company: Company, items: list[dict], claimed: _Claimed) -> list[Conflict | None]:
    """Per item, the 409 it meets against the active crossings in the database, read in one query."""
    held = _held_by_active_crossings(
        plates={(data["vehicle"]["plate"].country, data["vehicle"]["plate"].normalized) for data in items},
        numbers={line["number"] for data in items for line in data.get("customs_declarations", [])},
        containers={line["number"] for data in items for line in data.get("containers", [])},
    )
    return [_clash(company=company, data=data, held=held, claimed=claimed) for data in items]


def _held_by_active_crossings_query(plates: list, numbers: list, containers: list):
    """The active crossings holding any of these vehicles (normalized plates), customs numbers and
    containers: ``(what, key, holder's reference, holder's company id)`` rows."""

    def holders(model, what: str, wanted: list):
        return (
            model.objects.filter(number__in=wanted, is_active=True)
            .annotate(
                what=Value(what),
                key=F("number"),
                holder=F("declaration__reference"),
                owner=F("declaration__company_id"),
            )
            .values_list("what", "key", "holder", "owner")
            .order_by()
        )

    vehicles = (
        Declaration.objects.filter(ACTIVE_DECLARATION, vehicle__normalized_plate__in=plates)
        .annotate(
            what=Value("vehicle"),
            key=Concat("vehicle__country", Value(":"), "vehicle__normalized_plate", output_field=CharField()),
            holder=F("reference"),
            owner=F("company_id"),
        )
        .values_list("what", "key", "holder", "owner")
        .order_by()
    )
    return vehicles.union(
        holders(CustomsDeclaration, "customs_number", numbers), holders(Container, "container", containers), all=True
    )


# One statement for a single submission and for a batch of 500 alike, compiled once (building it cost Django
# about 2 ms of every create).
_HELD_BY_ACTIVE_CROSSINGS = CompiledRows(_held_by_active_crossings_query, plates=list, numbers=list, containers=list)


def _held_by_active_crossings(*, plates: set, numbers: set, containers: set) -> dict[tuple[str, str], tuple]:
    """``{(what, key): (reference, company id)}`` of the active crossings holding any of these."""
    held: dict[tuple[str, str], tuple] = {}
    rows = _HELD_BY_ACTIVE_CROSSINGS.rows(
        plates=sorted({plate for _country, plate in plates}), numbers=sorted(numbers), containers=sorted(containers)
    )
    for what, key, reference, owner in rows:
        held.setdefault((what, key), (reference, owner))
    return held


def _clash(*, company: Company, data: dict, held: dict, claimed: _Claimed) -> Conflict | None:
    """The 409 a submission of ``data`` meets: its vehicle first, then its customs numbers, then its
    containers, as a single submission checks them; another company's crossing is never named."""
    plate = data["vehicle"]["plate"]
    holder = held.get(("vehicle", f"{plate.country}:{plate.normalized}"))
    mine = claimed.vehicles.get((plate.country, plate.normalized))
    if holder is None and mine is not None:
        holder = (mine.reference, company.id)
    if holder is not None:
        named, extra = _named(*holder, company_id=company.id)
        return Conflict(
            f"This vehicle is already on {named}; it must cross or be cancelled first.",
            code="vehicle_has_active_crossing",
            extra=extra,
        )
    checked = (
        (
            "customs_number",
            "Customs declaration",
            "customs_declaration_in_use",
            "customs_declarations",
            claimed.customs_numbers,
        ),
        ("container", "Container", "container_in_use", "containers", claimed.containers),
    )
    for what, label, code, name, taken in checked:
        for line in data.get(name, []):
            holder = held.get((what, line["number"]))
            if holder is None and line["number"] in taken:
                holder = (taken[line["number"]].reference, company.id)
            if holder is not None:
                named, extra = _named(*holder, company_id=company.id)
                return Conflict(f"{label} {line['number']} is already on {named}.", code=code, extra=extra)
    return None


def _named(reference: str, owner_id: int, *, company_id: int) -> tuple[str, dict]:
    if owner_id == company_id:
        return f"the active crossing {reference}", {"declaration": reference}
    return "an active crossing declared by another company", {}


# A declaration's lines, by the name its data and its representation give them.
LINES = (
    ("customs_declarations", CustomsDeclaration),
    ("containers", Container),
    ("goods", GoodsLine),
    ("quarantine_certificates", QuarantineCertificate),
)


def _submit_many(*, company: Company, actor: Actor, items: list[dict]) -> list[Declaration | DomainError]:
    outcomes: list[Declaration | DomainError | None] = []
    for data in items:
        errors = declaration_rule_errors(data=data)
        outcomes.append(RuleViolations(errors) if errors else None)
    valid = [index for index, outcome in enumerate(outcomes) if outcome is None]
    if not valid:
        return outcomes
    claimed = _Claimed()
    clashes = _clashes(company=company, items=[items[index] for index in valid], claimed=claimed)
    now = timezone.now()
    year = local_date(now).year
    # Ids for every item that may be accepted (one refused below leaves a gap, as a rollback would): each
    # reference is known from the start, for the declaration's own INSERT and for a later item's 409.
    declaration_ids, check_ids, event_ids = ids_allocate(
        [(Declaration, len(valid)), (Check, len(valid) * len(Check.Kind)), (CompanyEvent, len(valid))]
    )
    accepted: list[tuple[Declaration, dict]] = []
    groups = smart_lane_groups()
    for index, clash, declaration_id in zip(valid, clashes, declaration_ids, strict=True):
        data = items[index]
        # An earlier item of this submission may have taken what this one needs.
        clash = clash or _clash(company=company, data=data, held={}, claimed=claimed)
        if clash is not None:
            outcomes[index] = clash
            continue
        declaration = Declaration(
            id=declaration_id,
            reference=f"SG-{year}-{declaration_id:06d}",
            company=company,
            kind=data.get("kind", Declaration.Kind.CARGO),
            health_declaration=data.get("health_declaration"),
            direction=data["direction"],
            route=data["route"],
            expected_arrival=data["expected_arrival"],
            needs_quarantine=goods_need_quarantine(data.get("goods", [])),
            handover_status=legs_handover_status(data),
        )
        declaration_lane_eligibility_set(
            declaration, hs_codes=[line["hs_code"] for line in data.get("goods", [])], groups=groups
        )
        claimed.take(declaration, data)
        outcomes[index] = declaration
        accepted.append((declaration, data))
    if not accepted:
        return outcomes

    source = f"declaration by {company.tax_code}"
    registered = parties_register_many(
        vehicles=[data["vehicle"] for _declaration, data in accepted],
        trailers=[data.get("trailer") for _declaration, data in accepted],
        drivers=[data["driver"] for _declaration, data in accepted],
        sources=[source] * len(accepted),
    )
    lines: dict[type, list] = {model: [] for _name, model in LINES}
    checks = []
    next_check_id = iter(check_ids)
    for position, (declaration, data) in enumerate(accepted):
        vehicle = registered.vehicles[position]
        trailer = registered.trailers[position]
        driver = registered.drivers[position]
        declaration.vehicle_id, declaration.driver_id = vehicle.id, driver.id
        declaration.trailer_id = trailer.id if trailer else None
        declaration.declare_parties(vehicle=vehicle, trailer=trailer, driver=driver)
        held = {}
        for name, model in LINES:
            held[name] = [model(declaration_id=declaration.id, **line) for line in data.get(name, [])]
            lines[model] += held[name]
        its_checks = checks_new(declaration=declaration, now=now)
        for check in its_checks:
            check.id = next(next_check_id)
        checks.append(its_checks)
        # In the order a read gives them (Check.Meta.ordering).
        by_kind = sorted(its_checks, key=lambda check: check.kind)
        _hold_for_the_response(declaration, {**held, "checks": by_kind, "inspections": [], "legs": []})
    lifecycle.declarations_submitted(
        declarations=[declaration for declaration, _data in accepted],
        checks=checks,
        event_ids=event_ids[: len(accepted)],
        actor=actor,
        rows=[*registered.rows_to_insert, *((rows, False) for rows in lines.values())],
    )
    for declaration, data in accepted:
        if data.get("legs"):  # a crossing in legs (rare): its legs written after it, held for the answer too
            declaration._prefetched_objects_cache["legs"]._result_cache = legs_record(
                declaration=declaration, legs=data["legs"]
            )
    return outcomes


def _hold_for_the_response(declaration: Declaration, related: dict[str, list]) -> None:
    """What the representation reads, held on the instance as a prefetch would hold it: the answer is
    built from memory, without reading back what was just written."""
    declaration._prefetched_objects_cache = {}
    for name, rows in related.items():
        held = getattr(Declaration, name).rel.related_model.objects.all()
        held._result_cache = rows
        held._prefetch_done = True
        declaration._prefetched_objects_cache[name] = held
    Declaration.fee.related.set_cached_value(declaration, None)


@transaction.atomic
def declaration_amend(
    *, declaration_id: int, company: Company, actor: Actor, expected_version: int, changes: dict
) -> Declaration:
    """Amend a declaration until its vehicle enters a lane; the amended version is checked afresh.

    Raises PreconditionFailed (412) when ``expected_version`` is not the current one, Conflict (409) when
    the vehicle is in a lane or beyond, or the declaration is cancelled or held, and RuleViolations.
    """
    declaration = (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("route__gate", "company")
        .get(id=declaration_id, company=company)
    )
    _ensure_amendable(declaration, expected_version=expected_version, changes=changes)
    _raise_if(_amendment_errors(declaration, changes))
    legs_fields = legs_amendment(declaration, changes)
    amended_fields = _apply_amendment(declaration, changes) + legs_fields
    # An unpaid fee was computed from what is being amended: it is issued again at the next clearance.
    fee_withdrawn = Fee.objects.filter(declaration=declaration, status=Fee.Status.ISSUED).delete()[0] > 0
    _ensure_paid_fee_still_covers(declaration)
    if declaration.is_waiting and "goods" in changes:
        # Perishable priority follows the goods now declared, not those declared at arrival.
        declaration.queue_class = queue_class(declaration, arrived_at=declaration.arrived_at)
        amended_fields.append("queue_class")
    with _guarding_uniqueness(declaration):
        lifecycle.declaration_amended(
            declaration=declaration,
            actor=actor,
            changed=changes,
            fields=amended_fields,
            fee_withdrawn=fee_withdrawn,
        )
    # The amended version is checked afresh; results still coming for the old one are recorded and ignored.
    checks_start(declaration=declaration, actor=actor)
    return declaration


def declaration_amendment_rule_errors(*, declaration_id: int, company: Company, changes: dict) -> list[FieldError]:
    """The rules an amendment would break, run on whatever parts of ``changes`` are valid: an amendment
    with format errors elsewhere still hears of these in the same 400. Reads only."""
    if not changes:
        return []
    declaration = Declaration.objects.select_related("route__gate").get(id=declaration_id, company=company)
    return _amendment_errors(declaration, changes)


def _ensure_amendable(declaration: Declaration, *, expected_version: int, changes: dict) -> None:
    if declaration.version != expected_version:
        raise PreconditionFailed(
            f"The declaration is at version {declaration.version}, not {expected_version}; read it again and "
            f"reapply the change.",
            extra={"current_version": declaration.version},
        )
    if not declaration.is_amendable:
        raise Conflict(
            f"A declaration that is {declaration.get_status_display().lower()} with its vehicle "
            f"{declaration.get_stage_display().lower()} can no longer be amended.",
            code="not_amendable",
        )
    if "vehicle" in changes and declaration.stage != Declaration.Stage.EXPECTED:
        raise Conflict(
            "The vehicle cannot be swapped once it has arrived at the gate; cancel and declare again.",
            code="not_amendable",
        )


def _amendment_errors(declaration: Declaration, changes: dict) -> list[FieldError]:
    """The rules of a submission, applied to the declaration as it would be once amended."""
    arrival = changes.get("expected_arrival", declaration.expected_arrival)
    vehicle = changes.get("vehicle") or _vehicle_data(declaration)
    driver = changes.get("driver") or _driver_data(declaration)
    goods = changes["goods"] if "goods" in changes else list(declaration.goods.values("gross_weight_kg"))
    errors = []
    if "expected_arrival" in changes:
        errors += _arrival_errors(route=declaration.route, expected_arrival=arrival, now=timezone.now())
    errors += _document_errors(expected_arrival=arrival, vehicle=vehicle, driver=driver)
    errors += _weight_errors(vehicle=vehicle, goods=goods)
    if "customs_declarations" in changes:
        errors += _customs_type_errors(direction=declaration.direction, lines=changes["customs_declarations"])
    errors += _empty_return_errors(kind=declaration.kind, data=changes)
    return errors


def _apply_amendment(declaration: Declaration, changes: dict) -> list[str]:
    """Register the parties sent, check the vehicle and customs numbers are free, and replace what was
    sent: the lists at once, the declaration's own fields on the instance. Returns those fields, for the
    lifecycle to save with the new version."""
    parties = _register_parties(
        company=declaration.company,
        vehicle=changes.get("vehicle"),
        trailer=changes.get("trailer"),
        driver=changes.get("driver"),
    )
    if "vehicle" in parties:
        _ensure_vehicle_free(
            vehicle_id=parties["vehicle"].id, company_id=declaration.company_id, declaration_id=declaration.id
        )
    if "customs_declarations" in changes:
        _ensure_customs_numbers_free(
            numbers=[line["number"] for line in changes["customs_declarations"]],
            company_id=declaration.company_id,
            declaration_id=declaration.id,
        )
    for name, party in parties.items():
        setattr(declaration, name, party)
    if "trailer" in changes and changes["trailer"] is None:
        declaration.trailer = None
        parties["trailer"] = None
    declaration.declare_parties(**parties)
    declaration.expected_arrival = changes.get("expected_arrival", declaration.expected_arrival)
    _replace_lines(declaration, changes)
    fields = ["vehicle", "trailer", "driver", "declared", "expected_arrival", "needs_quarantine"]
    if "health_declaration" in changes:
        declaration.health_declaration = changes["health_declaration"]
        fields.append("health_declaration")
    if "goods" in changes:
        fields += declaration_lane_eligibility_set(declaration, hs_codes=[line["hs_code"] for line in changes["goods"]])
    return fields


@transaction.atomic
def declaration_cancel(*, declaration_id: int, company: Company, actor: Actor, reason: str) -> Declaration:
    """Cancel a crossing before its vehicle enters a lane; it frees the vehicle and its customs numbers.

    Raises Conflict (409) once the vehicle is in a lane, or when the status does not allow cancelling.
    """
    declaration = Declaration.objects.select_for_update().get(id=declaration_id, company=company)
    try:
        lifecycle.declaration_cancelled(declaration=declaration, actor=actor, reason=reason)
    except TransitionNotAllowed:
        raise Conflict(
            f"A declaration that is {declaration.get_status_display().lower()} with its vehicle "
            f"{declaration.get_stage_display().lower()} cannot be cancelled.",
            code="not_cancellable",
        ) from None
    return declaration
