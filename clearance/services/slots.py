"""Arrival slots: the hours each route offers, booking (with the slot row locked, so two requests for
its last place give one booking), moving, releasing, and the sweep of no-shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clearance.audit import Actor
from clearance.errors import Conflict, FieldError, RuleViolations
from clearance.models import ArrivalSlot, Company, Declaration
from clearance.services import lifecycle
from vehicles.models import Direction, Lane, Route, hour_start

DISPATCHER = Actor.system("dispatcher")


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
    first = hour_start(now) + timedelta(hours=1)
    hours = [first + timedelta(hours=offset) for offset in range(days * 24)]
    created = 0
    for route in Route.objects.filter(is_smart_gate=True):
        lanes = list(Lane.objects.filter(route=route, purpose=Lane.Purpose.CARGO))
        for direction in Direction:
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
    declaration = (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("route__gate")
        .get(id=declaration_id, company=company)
    )
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
    _raise_if_outside_the_crossings_window(declaration, starts_at=slot.starts_at)
    if declaration.slot_id == slot.id:
        return declaration
    rebooking = declaration.slot_bookings > 0  # a move, or a booking again after a release or a no-show
    if rebooking and declaration.slot_moves >= settings.SMARTGATE_SLOT_MAX_MOVES:
        raise Conflict(
            f"This booking has been moved {declaration.slot_moves} times, the most allowed.", code="slot_move_limit"
        )
    if slot.free <= 0:
        raise Conflict("That slot is full; choose another hour.", code="slot_full")
    lifecycle.slot_booked(declaration=declaration, slot=slot, actor=actor)
    return declaration


def _raise_if_outside_the_crossings_window(declaration: Declaration, *, starts_at: datetime) -> None:
    """A slot is when the vehicle arrives: no sooner than the gate's notice after the crossing was
    declared, and near the arrival declared (``SMARTGATE_SLOT_ARRIVAL_WINDOW_HOURS`` either side)."""
    notice_hours = declaration.route.gate.crossing_notice_hours
    earliest = declaration.created_at + timedelta(hours=notice_hours)
    window = timedelta(hours=settings.SMARTGATE_SLOT_ARRIVAL_WINDOW_HOURS)
    if starts_at < earliest:
        raise RuleViolations(
            [
                FieldError(
                    "starts_at",
                    "slot_within_notice",
                    f"A crossing is declared at least {notice_hours} hours before arrival; the earliest slot for "
                    f"this one starts at {earliest.isoformat()}.",
                )
            ]
        )
    if abs(starts_at - declaration.expected_arrival) > window:
        raise RuleViolations(
            [
                FieldError(
                    "starts_at",
                    "slot_far_from_arrival",
                    f"The slot must be within {window.total_seconds() / 3600:g} hours of the declared arrival "
                    f"({declaration.expected_arrival.isoformat()}); amend the expected arrival first.",
                )
            ]
        )


@transaction.atomic
def slot_release(*, declaration_id: int, company: Company, actor: Actor) -> Declaration:
    declaration = Declaration.objects.select_for_update().get(id=declaration_id, company=company)
    if declaration.slot_id is None:
        raise Conflict("This declaration holds no slot.", code="no_slot")
    lifecycle.slot_released(declaration=declaration, actor=actor)
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
            Company.objects.filter(id=declaration.company_id).update(no_shows=F("no_shows") + 1)
            lifecycle.slot_no_show(
                declaration=declaration,
                actor=DISPATCHER,
                reason=f"Did not arrive for the slot of {starts_at.isoformat()}.",
            )
            missed += 1
    return missed
