"""The legs of a crossing: written with the declaration, the earlier leg's vehicle reaching its transfer
point, and the hand-over of the containers to the vehicle that carries them across.

A declaration sent with ``legs`` is one crossing: its vehicle and driver are the crossing leg's (the last
leg: for an autonomous vehicle, the safety driver aboard), so the checks, the queue, the barrier and the
border line work on it as on any crossing. The onward vehicle waits for its containers: it is not called,
and the barrier holds it, until a hand-over at the declared transfer point matches the declared
containers (``Declaration.handover_status``); a mismatch holds it with its own reason code until one does.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from clearance.audit import Actor
from clearance.errors import Conflict, FieldError
from clearance.models import ACTIVE_DECLARATION, CrossingLeg, Declaration, Handover
from clearance.services import lifecycle
from vehicles.models import Yard
from vehicles.plates import normalize_plate
from vehicles.services import driver_register, vehicle_register

PARTY_FIELDS = {
    "vehicle": ("plate", "normalized_plate", "country", "max_gross_weight_kg", "is_autonomous"),
    "driver": ("full_name", "nationality", "document_type", "document_number", "document_country", "document_expires"),
}


def legs_handover_status(data: dict) -> str:
    """The hand-over status a new declaration starts with: awaiting its containers when declared in legs."""
    return Declaration.HandoverStatus.AWAITING if data.get("legs") else Declaration.HandoverStatus.NONE


def legs_field_names(errors: list[FieldError], data: dict) -> list[FieldError]:
    """A crossing declared in legs hears of its crossing leg's documents and permit where it wrote them
    (``legs[1].safety_driver.document_expires``), not under ``vehicle`` and ``driver`` it never sent."""
    legs = data.get("legs")
    if not legs:
        return errors
    last = len(legs) - 1
    person = "driver" if legs[last].get("driver") else "safety_driver"
    renamed = {"vehicle": f"legs[{last}].vehicle", "driver": f"legs[{last}].{person}"}
    named = []
    for error in errors:
        head, dot, rest = error.field.partition(".")
        if dot and head in renamed:
            error = FieldError(f"{renamed[head]}.{rest}", error.code, error.message)
        named.append(error)
    return named


def legs_amendment(declaration: Declaration, changes: dict) -> list[str]:
    """What an amendment means for a crossing in legs. Its vehicles and drivers are its legs': they are not
    amended one by one (Conflict ``not_amendable``: cancel and declare again). Other containers must be
    handed over again: a hand-over already recorded no longer stands. Returns the fields it changed."""
    if declaration.handover_status == Declaration.HandoverStatus.NONE:
        return []
    parties = sorted({"vehicle", "trailer", "driver"} & changes.keys())
    if parties:
        raise Conflict(
            f"This crossing was declared in legs; its {', '.join(parties)} cannot be amended on their own. "
            f"Cancel it and declare the legs again.",
            code="not_amendable",
        )
    if "containers" in changes and declaration.handover_status != Declaration.HandoverStatus.AWAITING:
        declaration.handover_status = Declaration.HandoverStatus.AWAITING
        return ["handover_status"]
    return []


def _snapshot(row, name: str) -> dict | None:
    if row is None:
        return None
    values = {field: getattr(row, field) for field in PARTY_FIELDS[name]}
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in values.items()}


def legs_record(*, declaration: Declaration, legs: list[dict] | None) -> list[CrossingLeg]:
    """Write the legs of a declaration just saved (its vehicle and driver are the crossing leg's). Each
    earlier leg's vehicle and driver are brought into the registry like any declared party."""
    if not legs:
        return []
    source = f"declaration by {declaration.company.tax_code}"
    rows = []
    for seq, leg in enumerate(legs, start=1):
        crosses = seq == len(legs)
        if crosses:
            vehicle = declaration.vehicle
            driver = declaration.driver if leg.get("driver") else None
            safety_driver = declaration.driver if leg.get("safety_driver") else None
        else:
            vehicle = vehicle_register(**leg["vehicle"], source=source)
            driver = driver_register(**leg["driver"], source=source) if leg.get("driver") else None
            safety_driver = driver_register(**leg["safety_driver"], source=source) if leg.get("safety_driver") else None
        rows.append(
            CrossingLeg(
                declaration=declaration,
                seq=seq,
                vehicle=vehicle,
                driver=driver,
                safety_driver=safety_driver,
                crosses=crosses,
                transfer_point=None if crosses else leg["transfer_point"],
                handover_method="" if crosses else leg["handover_method"],
                declared={
                    "vehicle": _snapshot(vehicle, "vehicle"),
                    "driver": _snapshot(driver, "driver"),
                    "safety_driver": _snapshot(safety_driver, "driver"),
                },
            )
        )
    return CrossingLeg.objects.bulk_create(rows)


def leg_arrival_record(*, normalized_plate: str, yard: Yard, occurred_at: datetime, actor: Actor) -> Declaration | None:
    """A vehicle entered a transfer point: if it carries an earlier leg of an active crossing ending here,
    the leg's arrival is stamped (once) and written in the crossing's trail. Returns that declaration."""
    if yard.kind not in Yard.TRANSFER_POINTS:
        return None
    leg = (
        CrossingLeg.objects.select_related("vehicle")
        .filter(
            vehicle__normalized_plate=normalized_plate,
            transfer_point=yard,
            crosses=False,
            declaration__in=Declaration.objects.filter(ACTIVE_DECLARATION),
        )
        .order_by("-id")
        .first()
    )
    if leg is None:
        return None
    declaration = Declaration.objects.select_for_update(of=("self",)).get(id=leg.declaration_id)
    if leg.arrived_at is None:
        leg.arrived_at = occurred_at
        leg.save(update_fields=["arrived_at"])
        lifecycle.leg_arrived(declaration=declaration, actor=actor, leg=leg, yard=yard)
    return declaration


@transaction.atomic
def handover_record(
    *, yard: Yard, plate: str, from_plate: str, containers: list[str], occurred_at: datetime, actor: Actor, device=None
) -> Handover:
    """Containers handed over at a transfer point (reported by its yard device, or by an officer) to the
    vehicle ``plate``, matched to its active declaration: the declared containers, and on a crossing
    declared with legs the transfer point and the vehicle that brought them. A mismatch holds the onward
    vehicle (lifecycle.handover_recorded).

    Raises Conflict (409): no active declaration for the plate (``not_declared``), or a crossing whose
    legs hand over elsewhere (``wrong_transfer_point``)."""
    declaration = (
        Declaration.objects.select_for_update(of=("self",))
        .filter(ACTIVE_DECLARATION, vehicle__normalized_plate=normalize_plate(plate))
        .first()
    )
    if declaration is None:
        raise Conflict(f"No active declaration for {plate}.", code="not_declared")
    legs = list(declaration.legs.select_related("vehicle", "transfer_point"))
    leg = None
    wrong_vehicle = False
    if legs:
        leg = next((each for each in legs if not each.crosses and each.transfer_point_id == yard.id), None)
        if leg is None:
            points = ", ".join(each.transfer_point.code for each in legs if not each.crosses)
            raise Conflict(
                f"This crossing's containers are handed over at {points}, not at {yard.code}.",
                code="wrong_transfer_point",
            )
        wrong_vehicle = normalize_plate(from_plate) != leg.vehicle.normalized_plate
    declared = {container.number for container in declaration.containers.all()}
    handover = Handover.objects.create(
        declaration=declaration,
        leg=leg,
        yard=yard,
        device=device,
        recorded_by=actor.name[:150],
        from_plate=normalize_plate(from_plate),
        containers=containers,
        missing=sorted(declared - set(containers)),
        unexpected=sorted(set(containers) - declared),
        wrong_vehicle=wrong_vehicle,
        occurred_at=occurred_at,
    )
    if leg is not None and handover.matched:
        leg.handed_over_at = occurred_at
        leg.save(update_fields=["handed_over_at"])
    lifecycle.handover_recorded(declaration=declaration, actor=actor, handover=handover)
    return handover
