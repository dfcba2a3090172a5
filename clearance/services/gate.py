"""The gate: barrier decisions (the hot path), device movements, weighbridge, handovers, crossing."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clearance.audit import Actor, audit_record
from clearance.errors import Conflict
from clearance.models import ACTIVE_DECLARATION, Declaration, GateDecision, Handover, Inspection
from clearance.services.queue import dispatch_soon, yard_arrival_record
from vehicles.models import GateDevice, Movement
from vehicles.plates import normalize_plate
from vehicles.services import movement_record

logger = logging.getLogger(__name__)

# Stable reason codes of a barrier hold (documented in the README and the OpenAPI schema).
HOLD_REASONS = [
    "low_confidence",
    "lane_closed",
    "outside_hours",
    "not_declared",
    "wrong_route",
    "wrong_direction",
    "not_cleared",
    "inspection_pending",
    "fee_unpaid",
    "not_called",
    "called_to_other_lane",
]


def device_actor(device: GateDevice) -> Actor:
    return Actor(kind="device", name=device.source)


def _active_declaration(normalized_plate: str):
    # One indexed lookup: the vehicle's normalized plate, the partial unique index on active declarations,
    # and the fee joined in the same query. The row is locked, so a cancel or amendment cannot slip in
    # between the decision and the move into the lane.
    return (
        Declaration.objects.filter(ACTIVE_DECLARATION, vehicle__normalized_plate=normalized_plate)
        .select_for_update(of=("self",))
        .select_related("fee")
        .only("id", "reference", "version", "route_id", "direction", "status", "stage", "lane_id", "fee__status")
        .first()
    )


def hold_reasons(*, declaration: Declaration | None, lane, read_at: datetime, confidence: Decimal) -> list[str]:
    reasons = []
    if confidence < settings.SMARTGATE_MIN_PLATE_CONFIDENCE:
        reasons.append("low_confidence")
    if not lane.is_open:
        reasons.append("lane_closed")
    if not lane.is_within_hours(read_at):
        reasons.append("outside_hours")
    if declaration is None:
        return [*reasons, "not_declared"]
    if declaration.route_id != lane.route_id:
        reasons.append("wrong_route")
    if declaration.direction != lane.current_direction:
        reasons.append("wrong_direction")
    if declaration.status == Declaration.Status.INSPECTION:
        reasons.append("inspection_pending")
    elif declaration.status != Declaration.Status.CLEARED:
        reasons.append("not_cleared")
    fee = getattr(declaration, "fee", None)
    if fee is None or not fee.is_paid:
        reasons.append("fee_unpaid")
    if declaration.stage == Declaration.Stage.CALLED and declaration.lane_id != lane.id:
        reasons.append("called_to_other_lane")
    elif declaration.stage != Declaration.Stage.CALLED:
        reasons.append("not_called")
    return reasons


@transaction.atomic
def gate_decide(*, device: GateDevice, plate: str, read_at: datetime, confidence: Decimal) -> GateDecision:
    """A lane barrier's question: open or hold, with reasons. Every read is recorded; ``open`` moves the
    declaration into the lane. A constant number of queries whatever the data size."""
    lane = device.lane
    normalized = normalize_plate(plate)
    declaration = _active_declaration(normalized)
    reasons = hold_reasons(declaration=declaration, lane=lane, read_at=read_at, confidence=confidence)
    decision = GateDecision.objects.create(
        device=device,
        lane=lane,
        plate_read=plate,
        normalized_plate=normalized,
        confidence=confidence,
        read_at=read_at,
        decision=GateDecision.Decision.HOLD if reasons else GateDecision.Decision.OPEN,
        reasons=reasons,
        declaration=declaration,
    )
    if not reasons:
        Declaration.objects.filter(id=declaration.id).update(
            stage=Declaration.Stage.IN_LANE, in_lane_at=read_at, updated_at=timezone.now()
        )
        Movement.objects.create(
            plate_read=plate,
            normalized_plate=normalized,
            kind=Movement.Kind.LANE_IN,
            lane=lane,
            occurred_at=read_at,
            source=device.source,
        )
        audit_record(
            declaration=declaration,
            actor=device_actor(device),
            event="entered_lane",
            data={"lane": lane.code, "decision": decision.id},
        )
    return decision


@transaction.atomic
def crossing_record(*, device: GateDevice, plate: str, kind: str, occurred_at: datetime) -> Declaration | None:
    """The border-line camera saw the vehicle cross: the crossing is complete. Returns the declaration,
    or None when no vehicle in a lane matches (the movement is kept all the same)."""
    movement_record(plate_read=plate, kind=kind, occurred_at=occurred_at, source=device.source, lane=device.lane)
    declaration = (
        Declaration.objects.select_for_update()
        .filter(
            ACTIVE_DECLARATION,
            vehicle__normalized_plate=normalize_plate(plate),
            stage=Declaration.Stage.IN_LANE,
            lane_id=device.lane_id,
        )
        .first()
    )
    expected = "border_out" if declaration and declaration.direction == "export" else "border_in"
    if declaration is None or kind != expected:
        logger.warning("crossing.unmatched", extra={"plate": plate, "kind": kind})
        return None
    declaration.move_to_stage(to=Declaration.Stage.CROSSED)
    declaration.crossed_at = occurred_at
    declaration.save(update_fields=["stage", "crossed_at", "updated_at"])
    declaration.customs_declarations.update(is_active=False)
    audit_record(
        declaration=declaration,
        actor=device_actor(device),
        event="crossed",
        data={"lane": device.lane.code, "dwell": declaration.dwell_times()},
    )
    dispatch_soon()  # the lane has room again
    return declaration


def gate_movement_record(*, device: GateDevice, plate: str, kind: str, occurred_at: datetime):
    """A yard gate or border line reports a movement. Raises Conflict for a kind the device cannot see."""
    allowed = {
        GateDevice.Kind.YARD_GATE: {"yard_in", "yard_out"},
        GateDevice.Kind.BORDER_LINE: {"border_out", "border_in"},
    }.get(device.kind, set())
    if kind not in allowed:
        raise Conflict(
            f"A {device.get_kind_display().lower()} reports {', '.join(sorted(allowed)) or 'no movements'}"
            f", not {kind}.",
            code="movement_not_for_device",
        )
    if kind == "yard_in":
        return yard_arrival_record(
            plate_read=plate,
            yard=device.yard,
            occurred_at=occurred_at,
            source=device.source,
            actor=device_actor(device),
        )
    if kind == "yard_out":
        return movement_record(
            plate_read=plate, kind=kind, occurred_at=occurred_at, source=device.source, yard=device.yard
        )
    return crossing_record(device=device, plate=plate, kind=kind, occurred_at=occurred_at)


def declared_weight_kg(declaration: Declaration) -> Decimal | None:
    """Goods plus the vehicle's tare, when the tare is known."""
    if declaration.vehicle.tare_weight_kg is None:
        return None
    goods = sum((line.gross_weight_kg for line in declaration.goods.all()), Decimal(0))
    return goods + declaration.vehicle.tare_weight_kg


@transaction.atomic
def weighbridge_record(*, device: GateDevice, plate: str, gross_weight_kg: int, measured_at: datetime) -> dict:
    """A weighing. Outside the tolerance of the declared gross weight (or above the vehicle's maximum
    when its tare is unknown) the vehicle is held: a customs physical inspection is opened."""
    movement_record(
        plate_read=plate,
        kind="weighbridge",
        occurred_at=measured_at,
        source=device.source,
        lane=device.lane,
        yard=device.yard,
        gross_weight_kg=gross_weight_kg,
    )
    declaration = (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("vehicle")
        .filter(ACTIVE_DECLARATION, vehicle__normalized_plate=normalize_plate(plate))
        .first()
    )
    if declaration is None:
        return {"declaration": None, "within_tolerance": None, "declared_kg": None}
    tolerance = Decimal(settings.SMARTGATE_WEIGHT_TOLERANCE_PERCENT) / 100
    declared = declared_weight_kg(declaration)
    if declared is not None:
        within = abs(gross_weight_kg - declared) <= declared * tolerance
    else:
        within = gross_weight_kg <= declaration.vehicle.max_gross_weight_kg * (1 + tolerance)
    audit_record(
        declaration=declaration,
        actor=device_actor(device),
        event="weighed",
        data={
            "measured_kg": gross_weight_kg,
            "declared_kg": str(declared) if declared else None,
            "within_tolerance": within,
        },
    )
    if not within and declaration.status in (Declaration.Status.CLEARED, Declaration.Status.INSPECTION):
        _hold_for_weight(declaration, measured=gross_weight_kg, declared=declared)
    return {"declaration": declaration, "within_tolerance": within, "declared_kg": declared}


def _hold_for_weight(declaration: Declaration, *, measured: int, declared: Decimal | None) -> None:
    reason = {
        "code": "weight_mismatch",
        "message": f"Weighed {measured} kg against {declared or 'an unknown'} kg declared.",
    }
    inspection, created = Inspection.objects.get_or_create(
        declaration=declaration,
        version=declaration.version,
        force=Inspection.Force.CUSTOMS,
        defaults={"kind": Inspection.Kind.PHYSICAL, "reasons": [reason]},
    )
    if not created:
        inspection.kind, inspection.status = Inspection.Kind.PHYSICAL, Inspection.Status.OPEN
        inspection.reasons = [*inspection.reasons, reason]
        inspection.save(update_fields=["kind", "status", "reasons"])
    if declaration.status == Declaration.Status.CLEARED:
        declaration.transition(to=Declaration.Status.INSPECTION)
        declaration.save(update_fields=["status", "updated_at"])
    audit_record(
        declaration=declaration,
        actor=Actor.system("weighbridge"),
        event="inspection_required",
        reason=reason["message"],
        data={"customs": "physical"},
    )


@transaction.atomic
def handover_record(
    *, device: GateDevice, plate: str, from_plate: str, containers: list[str], occurred_at: datetime
) -> Handover:
    """Containers transferred at the transfer yard to an autonomous vehicle, matched to its declaration."""
    declaration = (
        Declaration.objects.filter(ACTIVE_DECLARATION, vehicle__normalized_plate=normalize_plate(plate))
        .prefetch_related("containers")
        .first()
    )
    if declaration is None:
        raise Conflict(f"No active declaration for {plate}.", code="not_declared")
    declared = {container.number for container in declaration.containers.all()}
    handover = Handover.objects.create(
        declaration=declaration,
        yard=device.yard,
        device=device,
        from_plate=normalize_plate(from_plate),
        containers=containers,
        missing=sorted(declared - set(containers)),
        unexpected=sorted(set(containers) - declared),
        occurred_at=occurred_at,
    )
    audit_record(
        declaration=declaration,
        actor=device_actor(device),
        event="handover",
        data={"from": handover.from_plate, "containers": containers, "matched": handover.matched},
    )
    return handover
