"""The gate: barrier decisions (the hot path), device movements, weighbridge, crossing. Container hand-overs
at transfer points are clearance.services.legs'."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from clearance import metrics
from clearance.audit import Actor
from clearance.errors import Conflict
from clearance.models import (
    ACTIVE_DECLARATION,
    CROSSING_MOVEMENT,
    Declaration,
    Fee,
    GateDecision,
    Inspection,
    UnmatchedArrival,
)
from clearance.services import lifecycle
from clearance.services.yard import yard_arrival_record
from clearance.tickets import ticket_payload
from vehicles.bulk import row_insert
from vehicles.compiled import CompiledQuery
from vehicles.models import GateDevice, Movement
from vehicles.plates import normalize_plate
from vehicles.services import movement_record

logger = logging.getLogger(__name__)

Hold = GateDecision.HoldReason
WEIGHBRIDGE = Actor.system(Movement.Kind.WEIGHBRIDGE)
# The movements each kind of device reports.
DEVICE_MOVEMENTS = {
    GateDevice.Kind.YARD_GATE: {Movement.Kind.YARD_IN, Movement.Kind.YARD_OUT},
    GateDevice.Kind.BORDER_LINE: {Movement.Kind.BORDER_OUT, Movement.Kind.BORDER_IN},
}


@dataclass(frozen=True)
class MovementResult:
    """What a reported movement came to: the declaration it moved on (if any), or an unmatched arrival
    kept for officers."""

    declaration: Declaration | None = None
    unmatched: UnmatchedArrival | None = None


@dataclass(frozen=True)
class Weighing:
    """A weighbridge reading against the declaration it matched (if any)."""

    declaration: Declaration | None = None
    within_tolerance: bool | None = None
    declared_kg: Decimal | None = None


# One indexed lookup: the vehicle's normalized plate, the partial unique index on active declarations, and
# the fee joined in the same query. The row is locked, so a cancel or amendment cannot slip in between the
# decision and the move into the lane. Compiled once: Django's building of it cost more than running it.
_ACTIVE_DECLARATION = CompiledQuery(
    lambda normalized_plate: (
        Declaration.objects.filter(ACTIVE_DECLARATION, vehicle__normalized_plate=normalized_plate)
        .select_for_update(of=("self",))
        .select_related("fee")
        .only(
            "id",
            "reference",
            "version",
            "route_id",
            "direction",
            "status",
            "stage",
            "lane_id",
            "audit_seq",
            "audit_head",
            # The forwarder's event (the outbox) names the company and moves the event count.
            "company_id",
            "event_seq",
            "fee__status",
            "handover_status",
        )[:1]
    ),
    normalized_plate=str,
)
# The vehicle in this lane, as the border line sees it cross.
_IN_LANE = CompiledQuery(
    lambda normalized_plate, lane_id: Declaration.objects.select_for_update().filter(
        ACTIVE_DECLARATION,
        vehicle__normalized_plate=normalized_plate,
        stage=Declaration.Stage.IN_LANE,
        lane_id=lane_id,
    )[:1],
    normalized_plate=str,
    lane_id=int,
)
# The vehicle on the weighbridge, with what it declared.
_ON_WEIGHBRIDGE = CompiledQuery(
    lambda normalized_plate: (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("vehicle")
        .filter(ACTIVE_DECLARATION, vehicle__normalized_plate=normalized_plate)[:1]
    ),
    normalized_plate=str,
)


def _active_declaration(normalized_plate: str):
    return _ACTIVE_DECLARATION.first(normalized_plate=normalized_plate)


def hold_reasons(*, declaration: Declaration | None, lane, read_at: datetime, confidence: Decimal) -> list[Hold]:
    reasons = []
    if confidence < settings.SMARTGATE_MIN_PLATE_CONFIDENCE:
        reasons.append(Hold.LOW_CONFIDENCE)
    if not lane.is_open:
        reasons.append(Hold.LANE_CLOSED)
    if not lane.is_within_hours(read_at):
        reasons.append(Hold.OUTSIDE_HOURS)
    if declaration is None:
        return [*reasons, Hold.NOT_DECLARED]
    if declaration.route_id != lane.route_id:
        reasons.append(Hold.WRONG_ROUTE)
    if declaration.direction != lane.current_direction:
        reasons.append(Hold.WRONG_DIRECTION)
    if declaration.status == Declaration.Status.INSPECTION:
        reasons.append(Hold.INSPECTION_PENDING)
    elif declaration.status != Declaration.Status.CLEARED:
        reasons.append(Hold.NOT_CLEARED)
    fee = getattr(declaration, "fee", None)
    if fee is None or not fee.is_paid:
        reasons.append(Hold.FEE_UNPAID)
    if declaration.handover_status == Declaration.HandoverStatus.AWAITING:
        reasons.append(Hold.HANDOVER_PENDING)
    elif declaration.handover_status == Declaration.HandoverStatus.MISMATCH:
        reasons.append(Hold.HANDOVER_MISMATCH)
    if declaration.stage == Declaration.Stage.CALLED and declaration.lane_id != lane.id:
        reasons.append(Hold.CALLED_TO_OTHER_LANE)
    elif declaration.stage != Declaration.Stage.CALLED:
        reasons.append(Hold.NOT_CALLED)
    return reasons


VOID_FEE = (Fee.Status.VOIDED, Fee.Status.REFUND_DUE)
PAST_THE_BARRIER = (Declaration.Stage.IN_LANE, Declaration.Stage.CROSSED)


def ticket_hold_reasons(
    ticket: str, *, declaration: Declaration | None, normalized_plate: str
) -> tuple[str, list[Hold]]:
    """The e-ticket scanned with a plate read: the reference it names (blank when forged) and why it
    holds the vehicle. A ticket opens the barrier once per crossing: shown again once its crossing has
    passed the barrier it is a replay. No query, unless the ticket names a crossing other than the
    vehicle's active one (then one, to say whether it is void, replayed or someone else's)."""
    payload = ticket_payload(ticket)
    if payload is None:
        return "", [Hold.TICKET_INVALID]
    reference = str(payload.get("ref", ""))[:20]
    if payload.get("plate") != normalized_plate:
        return reference, [Hold.TICKET_NOT_FOR_VEHICLE]
    if declaration is None or declaration.reference != reference:
        fee_status, stage = Declaration.objects.filter(reference=reference).values_list(
            "fee__status", "stage"
        ).first() or (
            None,
            None,
        )
        if fee_status in VOID_FEE:
            return reference, [Hold.TICKET_VOID]
        if stage in PAST_THE_BARRIER:
            return reference, [Hold.TICKET_REPLAYED]
        return reference, [Hold.TICKET_NOT_FOR_VEHICLE]
    if getattr(declaration, "fee", None) is not None and declaration.fee.status in VOID_FEE:
        return reference, [Hold.TICKET_VOID]
    if declaration.stage in PAST_THE_BARRIER:
        return reference, [Hold.TICKET_REPLAYED]
    return reference, []


# No savepoint: the decision is a request's whole transaction, and an error rolls all of it back anyway.
@transaction.atomic(savepoint=False)
def gate_decide(
    *, device: GateDevice, plate: str, read_at: datetime, confidence: Decimal, ticket: str | None = None
) -> GateDecision:
    """A lane barrier's question: open or hold, with reasons. Every read is recorded; ``open`` moves the
    declaration into the lane. At most four queries whatever the data size (the device and its lane come
    from the process's cache): the declaration with its fee, the decision row, and on ``open`` the stage
    with its audit and forwarder's events and the ``lane_in`` movement (one statement). The e-ticket, when
    the device scanned one, is checked in memory (see ticket_hold_reasons)."""
    lane = device.lane
    normalized = normalize_plate(plate)
    declaration = _active_declaration(normalized)
    reasons = hold_reasons(declaration=declaration, lane=lane, read_at=read_at, confidence=confidence)
    ticket_reference = ""
    if ticket is not None:
        ticket_reference, ticket_reasons = ticket_hold_reasons(
            ticket, declaration=declaration, normalized_plate=normalized
        )
        reasons += ticket_reasons
    decision = GateDecision(
        device=device,
        lane=lane,
        plate_read=plate,
        normalized_plate=normalized,
        confidence=confidence,
        read_at=read_at,
        decision=GateDecision.Decision.HOLD if reasons else GateDecision.Decision.OPEN,
        reasons=reasons,
        declaration=declaration,
        ticket_reference=ticket_reference,
    )
    row_insert(decision)
    metrics.gate_decision_count(decision=decision.decision, reasons=reasons)
    if not reasons:
        movement = Movement(
            plate_read=plate,
            normalized_plate=normalized,
            kind=Movement.Kind.LANE_IN,
            lane=lane,
            occurred_at=read_at,
            source=device.source,
        )
        lifecycle.written_with_next_change(declaration, movement)
        lifecycle.declaration_entered_lane(
            declaration=declaration, actor=Actor.for_device(device), lane=lane, at=read_at, decision=decision
        )
    return decision


@transaction.atomic
def crossing_record(*, device: GateDevice, plate: str, kind: str, occurred_at: datetime) -> Declaration | None:
    """The border-line camera saw the vehicle cross: the crossing is complete. Returns the declaration,
    or None when no vehicle in a lane matches (the movement is kept all the same)."""
    # Checked first, written with the crossing it completes (one statement), or alone when none matches.
    movement = movement_record(
        plate_read=plate, kind=kind, occurred_at=occurred_at, source=device.source, lane=device.lane, write=False
    )
    declaration = (
        _IN_LANE.first(normalized_plate=normalize_plate(plate), lane_id=device.lane_id) if device.lane_id else None
    )
    if declaration is None or kind != CROSSING_MOVEMENT[declaration.direction]:
        movement.save(force_insert=True)
        logger.warning("crossing.unmatched", extra={"plate": plate, "kind": kind})
        return None
    lifecycle.written_with_next_change(declaration, movement)
    lifecycle.declaration_crossed(
        declaration=declaration, actor=Actor.for_device(device), lane=device.lane, at=occurred_at
    )
    return declaration


def gate_movement_record(*, device: GateDevice, plate: str, kind: str, occurred_at: datetime) -> MovementResult:
    """A yard gate or border line reports a movement. Raises Conflict for a kind the device cannot see."""
    allowed = DEVICE_MOVEMENTS.get(device.kind, set())
    if kind not in allowed:
        raise Conflict(
            f"A {device.get_kind_display().lower()} reports {', '.join(sorted(allowed)) or 'no movements'}"
            f", not {kind}.",
            code="movement_not_for_device",
        )
    if kind == Movement.Kind.YARD_IN:
        arrival = yard_arrival_record(
            plate_read=plate,
            yard=device.yard,
            occurred_at=occurred_at,
            source=device.source,
            actor=Actor.for_device(device),
        )
        return MovementResult(declaration=arrival.declaration, unmatched=arrival.unmatched)
    if kind == Movement.Kind.YARD_OUT:
        movement_record(plate_read=plate, kind=kind, occurred_at=occurred_at, source=device.source, yard=device.yard)
        return MovementResult()
    return MovementResult(declaration=crossing_record(device=device, plate=plate, kind=kind, occurred_at=occurred_at))


def declared_weight_kg(declaration: Declaration) -> Decimal | None:
    """Goods plus the vehicle's tare, when the tare is known."""
    if declaration.vehicle.tare_weight_kg is None:
        return None
    goods = sum((line.gross_weight_kg for line in declaration.goods.all()), Decimal(0))
    return goods + declaration.vehicle.tare_weight_kg


@transaction.atomic
def weighbridge_record(*, device: GateDevice, plate: str, gross_weight_kg: int, measured_at: datetime) -> Weighing:
    """A weighing. Outside the tolerance of the declared gross weight (or above the vehicle's maximum
    when its tare is unknown) the vehicle is held: a customs physical inspection is opened."""
    # Checked first, written with the weighing's event (one statement), or alone when no declaration matches.
    movement = movement_record(
        plate_read=plate,
        kind=Movement.Kind.WEIGHBRIDGE,
        occurred_at=measured_at,
        source=device.source,
        lane=device.lane,
        yard=device.yard,
        gross_weight_kg=gross_weight_kg,
        write=False,
    )
    declaration = _ON_WEIGHBRIDGE.first(normalized_plate=normalize_plate(plate))
    if declaration is None:
        movement.save(force_insert=True)
        return Weighing()
    lifecycle.written_with_next_change(declaration, movement)
    tolerance = Decimal(settings.SMARTGATE_WEIGHT_TOLERANCE_PERCENT) / 100
    declared = declared_weight_kg(declaration)
    if declared is not None:
        within = abs(gross_weight_kg - declared) <= declared * tolerance
    else:
        within = gross_weight_kg <= declaration.declared_vehicle.max_gross_weight_kg * (1 + tolerance)
    lifecycle.declaration_weighed(
        declaration=declaration,
        actor=Actor.for_device(device),
        measured_kg=gross_weight_kg,
        declared_kg=declared,
        within_tolerance=within,
    )
    if not within and declaration.status in (Declaration.Status.CLEARED, Declaration.Status.INSPECTION):
        _hold_for_weight(declaration, measured=gross_weight_kg, declared=declared)
    return Weighing(declaration=declaration, within_tolerance=within, declared_kg=declared)


def _hold_for_weight(declaration: Declaration, *, measured: int, declared: Decimal | None) -> None:
    """A weight that disagrees opens a customs physical inspection (or adds the finding to the one still
    open). A recorded result is never changed: after a passed inspection, a new one is opened."""
    reason = {
        "code": "weight_mismatch",
        "message": f"Weighed {measured} kg against {declared or 'an unknown'} kg declared.",
    }
    open_inspection = (
        Inspection.objects.select_for_update()
        .filter(
            declaration=declaration,
            version=declaration.version,
            force=Inspection.Force.CUSTOMS,
            status=Inspection.Status.OPEN,
        )
        .first()
    )
    if open_inspection is None:
        Inspection.objects.create(
            declaration=declaration,
            version=declaration.version,
            force=Inspection.Force.CUSTOMS,
            kind=Inspection.Kind.PHYSICAL,
            reasons=[reason],
        )
    else:
        open_inspection.kind = Inspection.Kind.PHYSICAL
        open_inspection.reasons = [*open_inspection.reasons, reason]
        open_inspection.save(update_fields=["kind", "reasons"])
    lifecycle.declaration_inspection_required(
        declaration=declaration,
        actor=WEIGHBRIDGE,
        reason=reason["message"],
        data={Inspection.Force.CUSTOMS: Inspection.Kind.PHYSICAL},
    )
