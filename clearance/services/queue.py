"""Arrival slots, yard arrivals, the queue and the dispatcher that calls vehicles forward to lanes.

Concurrency: slot rows are locked to book their last place; the dispatcher locks each lane and takes the
next vehicle with SKIP LOCKED, so two dispatchers never call one vehicle twice or overfill a lane.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from clearance.audit import Actor, audit_record
from clearance.errors import Conflict, FieldError, RuleViolations
from clearance.models import (
    ACTIVE_DECLARATION,
    ArrivalSlot,
    Company,
    Declaration,
    LaneCall,
    QueueTurn,
    TransitionNotAllowed,
    UnmatchedArrival,
)
from vehicles.models import Lane, Route, Yard
from vehicles.plates import normalize_plate
from vehicles.services import movement_record

logger = logging.getLogger(__name__)
DISPATCHER = Actor.system("dispatcher")
REGULAR_CLASS = 7


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def lanes_capacity_per_hour(*, lanes: list[Lane], direction: str, at: datetime) -> int:
    """What the cargo lanes take in the hour starting ``at`` in one direction (reversible lanes as they
    are set now; lanes outside their operating hours take nothing)."""
    return sum(
        lane.capacity_per_hour for lane in lanes if lane.current_direction == direction and lane.is_within_hours(at)
    )


def slots_generate(*, days: int | None = None, now: datetime | None = None) -> int:
    """Create the missing hourly slots of every smart-gate route for the coming days; existing slots keep
    their capacity (officers may have changed it). Returns how many were created."""
    now = now or timezone.now()
    days = days or settings.SMARTGATE_SLOT_DAYS_AHEAD
    first = _hour(now) + timedelta(hours=1)
    hours = [first + timedelta(hours=offset) for offset in range(days * 24)]
    created = 0
    for route in Route.objects.filter(is_smart_gate=True):
        lanes = list(Lane.objects.filter(route=route, purpose=Lane.Purpose.CARGO))
        for direction in ("export", "import"):
            existing = set(
                ArrivalSlot.objects.filter(route=route, direction=direction, starts_at__in=hours).values_list(
                    "starts_at", flat=True
                )
            )
            new = [
                ArrivalSlot(
                    route=route,
                    direction=direction,
                    starts_at=hour,
                    capacity=lanes_capacity_per_hour(lanes=lanes, direction=direction, at=hour),
                )
                for hour in hours
                if hour not in existing
            ]
            created += len(ArrivalSlot.objects.bulk_create(new, ignore_conflicts=True))
    return created


@transaction.atomic
def slot_book(*, declaration_id: int, company: Company, actor: Actor, starts_at: datetime) -> Declaration:
    """Book (or move to) the slot starting at ``starts_at``. The slot row is locked, so two requests for
    its last place give one booking. Raises RuleViolations, or Conflict for a full slot, a declaration
    already at the gate, or the move limit reached."""
    declaration = Declaration.objects.select_for_update().get(id=declaration_id, company=company)
    if declaration.stage != Declaration.Stage.EXPECTED or declaration.status in (
        Declaration.Status.CANCELLED,
        Declaration.Status.REJECTED,
    ):
        raise Conflict(
            "A slot can be booked only for an active declaration whose vehicle has not arrived.",
            code="slot_not_bookable",
        )
    slot = (
        ArrivalSlot.objects.select_for_update()
        .filter(route_id=declaration.route_id, direction=declaration.direction, starts_at=starts_at)
        .first()
    )
    if slot is None or slot.starts_at <= timezone.now():
        raise RuleViolations(
            [
                FieldError(
                    "starts_at",
                    "unknown_slot",
                    "No future slot starts then for this route and direction; "
                    "see GET /api/v1/slots/ for the hours on offer.",
                )
            ]
        )
    if declaration.slot_id == slot.id:
        return declaration
    moving = declaration.slot_id is not None
    if moving and declaration.slot_moves >= settings.SMARTGATE_SLOT_MAX_MOVES:
        raise Conflict(
            f"This booking has been moved {declaration.slot_moves} times, the most allowed.", code="slot_move_limit"
        )
    if slot.free <= 0:
        raise Conflict("That slot is full; choose another hour.", code="slot_full")
    if moving:
        slot_give_back(declaration)
        declaration.slot_moves += 1
    slot.booked += 1
    slot.save(update_fields=["booked"])
    declaration.slot = slot
    declaration.save(update_fields=["slot", "slot_moves", "updated_at"])
    audit_record(
        declaration=declaration,
        actor=actor,
        event="slot_moved" if moving else "slot_booked",
        data={"starts_at": slot.starts_at.isoformat()},
    )
    return declaration


def slot_give_back(declaration: Declaration) -> None:
    """Free the declaration's slot place (the caller holds the declaration's lock and saves it)."""
    slot = ArrivalSlot.objects.select_for_update().get(id=declaration.slot_id)
    slot.booked = max(slot.booked - 1, 0)
    slot.save(update_fields=["booked"])
    declaration.slot = None


@transaction.atomic
def slot_release(*, declaration_id: int, company: Company, actor: Actor) -> Declaration:
    declaration = Declaration.objects.select_for_update().get(id=declaration_id, company=company)
    if declaration.slot_id is None:
        raise Conflict("This declaration holds no slot.", code="no_slot")
    slot_give_back(declaration)
    declaration.save(update_fields=["slot", "updated_at"])
    audit_record(declaration=declaration, actor=actor, event="slot_released")
    return declaration


def slots_sweep_no_shows(*, now: datetime | None = None) -> int:
    """Release the slots of vehicles that did not arrive by the end of their slot plus the tolerance,
    counting a no-show against their company. Returns how many."""
    now = now or timezone.now()
    late = now - timedelta(hours=1, minutes=settings.SMARTGATE_SLOT_TOLERANCE_MINUTES)
    missed = 0
    for declaration_id in Declaration.objects.filter(
        stage=Declaration.Stage.EXPECTED, slot__starts_at__lt=late
    ).values_list("id", flat=True):
        with transaction.atomic():
            declaration = Declaration.objects.select_for_update().get(id=declaration_id)
            if declaration.slot_id is None or declaration.stage != Declaration.Stage.EXPECTED:
                continue
            starts_at = declaration.slot.starts_at
            slot_give_back(declaration)
            declaration.save(update_fields=["slot", "updated_at"])
            Company.objects.filter(id=declaration.company_id).update(no_shows=F("no_shows") + 1)
            audit_record(
                declaration=declaration,
                actor=DISPATCHER,
                event="slot_no_show",
                reason=f"Did not arrive for the slot of {starts_at.isoformat()}.",
            )
            missed += 1
    return missed


def queue_class(declaration: Declaration, *, arrived_at: datetime) -> int:
    """0 is served first: perishable goods, then priority (AEO) companies, then on-time slot holders."""
    chapters = set(settings.SMARTGATE_PERISHABLE_CHAPTERS)
    perishable = any(line.hs_code[:2] in chapters for line in declaration.goods.all())
    priority = declaration.company.compliance_rating == Company.Rating.PRIORITY
    on_time = False
    if declaration.slot is not None:
        tolerance = timedelta(minutes=settings.SMARTGATE_SLOT_TOLERANCE_MINUTES)
        start = declaration.slot.starts_at
        on_time = start - tolerance <= arrived_at <= start + timedelta(hours=1) + tolerance
    return (0 if perishable else 4) + (0 if priority else 2) + (0 if on_time else 1)


@transaction.atomic
def yard_arrival_record(
    *, plate_read: str, yard: Yard, occurred_at: datetime, source: str, actor: Actor
) -> Declaration | UnmatchedArrival:
    """A vehicle entered a yard. Its active declaration joins the queue (stage in_yard); a plate with
    no active declaration is kept as an unmatched arrival for officers."""
    movement = movement_record(plate_read=plate_read, kind="yard_in", occurred_at=occurred_at, source=source, yard=yard)
    declaration = (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("company", "slot")
        .filter(ACTIVE_DECLARATION, stage=Declaration.Stage.EXPECTED)
        .filter(
            Q(vehicle__normalized_plate=movement.normalized_plate)
            | Q(trailer__normalized_plate=movement.normalized_plate)
        )
        .first()
    )
    if declaration is None:
        return UnmatchedArrival.objects.create(
            plate_read=plate_read,
            normalized_plate=normalize_plate(plate_read),
            yard=yard,
            movement=movement,
            seen_at=occurred_at,
        )
    declaration.move_to_stage(to=Declaration.Stage.IN_YARD)
    declaration.yard = yard
    declaration.arrived_at = occurred_at
    declaration.queue_class = queue_class(declaration, arrived_at=occurred_at)
    declaration.save(update_fields=["stage", "yard", "arrived_at", "queue_class", "updated_at"])
    audit_record(
        declaration=declaration,
        actor=actor,
        event="arrived_in_yard",
        data={"yard": yard.code, "queue_class": declaration.queue_class, "source": source},
    )
    dispatch_soon()
    return declaration


def lane_room(lane: Lane, *, now: datetime) -> int:
    """How many more vehicles the lane may be called now: below its maximum in lane and its calls this
    hour below capacity, scaled down when the route's inspection bays are filling up."""
    if not lane.accepts_traffic(now):
        return 0
    occupied = Declaration.objects.filter(
        lane=lane, stage__in=[Declaration.Stage.CALLED, Declaration.Stage.IN_LANE]
    ).count()
    calls_this_hour = LaneCall.objects.filter(lane=lane, called_at__gte=_hour(now)).count()
    capacity = lane.capacity_per_hour
    if not lane.has_inspection_bay and _inspection_share(lane) > settings.SMARTGATE_INSPECTION_SHARE_PERCENT:
        capacity = capacity * settings.SMARTGATE_INSPECTION_THROTTLE_PERCENT // 100
    return max(0, min(lane.max_vehicles_in_lane - occupied, capacity - calls_this_hour))


def _inspection_share(lane: Lane) -> float:
    waiting = Declaration.objects.filter(route_id=lane.route_id, stage=Declaration.Stage.IN_YARD)
    total = waiting.count()
    if not total:
        return 0.0
    return 100 * waiting.filter(status=Declaration.Status.INSPECTION).count() / total


def _eligible(lane: Lane):
    """Vehicles waiting in a yard that this lane may take, in call order."""
    statuses = [Declaration.Status.CLEARED]
    if lane.has_inspection_bay:
        statuses.append(Declaration.Status.INSPECTION)
    return Declaration.objects.filter(
        route_id=lane.route_id,
        direction=lane.current_direction,
        stage=Declaration.Stage.IN_YARD,
        status__in=statuses,
        vehicle__is_autonomous=lane.purpose == Lane.Purpose.AUTONOMOUS,
    ).order_by("queue_class", "arrived_at", "id")


def _next_vehicle(lane: Lane, turn: QueueTurn) -> Declaration | None:
    """The next vehicle for the lane, skipping rows another dispatcher holds. After a streak of priority
    calls, a waiting regular truck gets its turn."""
    candidates = _eligible(lane).select_for_update(skip_locked=True, of=("self",))
    streak_limit = settings.SMARTGATE_QUEUE_PRIORITY_STREAK
    if streak_limit and turn.priority_streak >= streak_limit:
        regular = candidates.filter(queue_class=REGULAR_CLASS).first()
        if regular is not None:
            return regular
    return candidates.first()


def dispatch_run(*, now: datetime | None = None) -> list[Declaration]:
    """Call vehicles forward to every lane with room. Each lane is handled in its own transaction with
    the lane row locked (SKIP LOCKED: a lane another dispatcher is filling is left to it)."""
    now = now or timezone.now()
    called = []
    lane_ids = list(
        Lane.objects.filter(is_open=True).exclude(purpose=Lane.Purpose.EMPTY_RETURN).values_list("id", flat=True)
    )
    for lane_id in lane_ids:
        with transaction.atomic():
            # of=self: lock the lane row only, not the route joined by the default ordering, or one
            # dispatcher would keep the other off every lane of the route.
            lane = Lane.objects.select_for_update(skip_locked=True, of=("self",)).filter(id=lane_id).order_by().first()
            if lane is None:
                continue
            room = lane_room(lane, now=now)
            if room <= 0:
                continue
            turn, _created = QueueTurn.objects.select_for_update().get_or_create(
                route_id=lane.route_id, direction=lane.current_direction
            )
            for _ in range(room):
                declaration = _next_vehicle(lane, turn)
                if declaration is None:
                    break
                _call(declaration, lane=lane, now=now)
                turn.priority_streak = 0 if declaration.queue_class == REGULAR_CLASS else turn.priority_streak + 1
                called.append(declaration)
            turn.save(update_fields=["priority_streak"])
    if called:
        logger.info("dispatch.called", extra={"count": len(called)})
    return called


def _call(declaration: Declaration, *, lane: Lane, now: datetime, actor: Actor = DISPATCHER) -> None:
    declaration.move_to_stage(to=Declaration.Stage.CALLED)
    declaration.lane = lane
    declaration.called_at = now
    declaration.save(update_fields=["stage", "lane", "called_at", "updated_at"])
    LaneCall.objects.create(lane=lane, declaration=declaration, called_at=now)
    audit_record(declaration=declaration, actor=actor, event="called", data={"lane": lane.code})


def calls_expire(*, now: datetime | None = None) -> int:
    """Vehicles called but not at their lane within the timeout go back to the queue at their place
    (their arrival time is kept); the miss is counted."""
    now = now or timezone.now()
    deadline = now - timedelta(minutes=settings.SMARTGATE_CALL_TIMEOUT_MINUTES)
    expired = 0
    with transaction.atomic():
        for declaration in (
            Declaration.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("lane")
            .filter(stage=Declaration.Stage.CALLED, called_at__lt=deadline)
        ):
            lane_code = declaration.lane.code if declaration.lane_id else ""
            LaneCall.objects.filter(
                declaration=declaration, lane_id=declaration.lane_id, called_at=declaration.called_at
            ).update(missed=True)
            declaration.move_to_stage(to=Declaration.Stage.IN_YARD)
            declaration.lane = None
            declaration.called_at = None
            declaration.call_misses += 1
            declaration.save(update_fields=["stage", "lane", "called_at", "call_misses", "updated_at"])
            audit_record(
                declaration=declaration,
                actor=DISPATCHER,
                event="call_missed",
                reason=f"Did not reach lane {lane_code} within {settings.SMARTGATE_CALL_TIMEOUT_MINUTES} minutes.",
            )
            expired += 1
    return expired


def dispatch_soon() -> None:
    """Ask for a dispatch after this transaction commits, when something freed room or made a vehicle
    eligible; the periodic dispatcher covers it if the broker cannot be reached."""

    def send() -> None:
        from clearance.tasks import dispatch_task

        try:
            dispatch_task.apply_async(queue="gate", retry=False)
        except Exception:
            logger.warning("dispatch.enqueue_failed", exc_info=True)

    transaction.on_commit(send)


@transaction.atomic
def declaration_call_forward(*, declaration_id: int, lane_id: int, actor: Actor) -> Declaration:
    """A gate operator calls a waiting vehicle to a lane by hand. The same rules as the dispatcher apply:
    route, direction, eligibility and room. Raises Conflict otherwise."""
    lane = Lane.objects.select_for_update().get(id=lane_id)
    declaration = Declaration.objects.select_for_update(of=("self",)).select_related("vehicle").get(id=declaration_id)
    if declaration.stage != Declaration.Stage.IN_YARD:
        raise Conflict("Only a vehicle waiting in a yard can be called.", code="not_waiting")
    if not _eligible(lane).filter(id=declaration.id).exists():
        raise Conflict(
            f"Lane {lane.code} cannot take this vehicle (route, direction, status or vehicle type).",
            code="lane_not_eligible",
        )
    if lane_room(lane, now=timezone.now()) <= 0:
        raise Conflict(
            f"Lane {lane.code} has no room now (closed, outside hours, full or at its hourly capacity).",
            code="lane_full",
        )
    _call(declaration, lane=lane, now=timezone.now(), actor=actor)
    return declaration


@transaction.atomic
def declaration_turn_back(*, declaration_id: int, actor: Actor, reason: str) -> Declaration:
    """Send a vehicle away from the gate (it leaves the queue or the lane). Frees its vehicle and customs
    numbers for a new declaration."""
    declaration = Declaration.objects.select_for_update().get(id=declaration_id)
    try:
        declaration.move_to_stage(to=Declaration.Stage.TURNED_BACK)
    except TransitionNotAllowed:
        raise Conflict(
            f"A vehicle that is {declaration.get_stage_display().lower()} cannot be turned back.", code="not_turnable"
        ) from None
    if declaration.slot_id is not None:
        slot_give_back(declaration)
    declaration.lane = None
    declaration.save(update_fields=["stage", "lane", "slot", "updated_at"])
    declaration.customs_declarations.update(is_active=False)
    audit_record(declaration=declaration, actor=actor, event="turned_back", reason=reason)
    dispatch_soon()
    return declaration
