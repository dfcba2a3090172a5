"""The yards: vehicles arriving (matched to their declaration by plate, or kept as unmatched arrivals for
officers), their place in the queue, and vehicles sent away from the gate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from clearance.audit import Actor
from clearance.errors import Conflict, NotYourForce
from clearance.models import (
    ACTIVE_DECLARATION,
    Company,
    Declaration,
    GoodsLine,
    TransitionNotAllowed,
    UnmatchedArrival,
    queue_class_of,
)
from clearance.roles import is_supervisor
from clearance.services import lifecycle
from clearance.services.legs import leg_arrival_record
from vehicles.compiled import CompiledQuery, compiled_for
from vehicles.models import Movement, Yard
from vehicles.plates import normalize_plate
from vehicles.services import movement_record


def has_perishable_goods() -> Exists:
    """True for a declaration with a goods line of a perishable HS chapter (annotated by the lookup that
    reads the declaration, so the arrival reads no goods lines)."""
    chapters = Q()
    for chapter in settings.SMARTGATE_PERISHABLE_CHAPTERS:
        chapters |= Q(hs_code__startswith=chapter)
    return Exists(GoodsLine.objects.filter(chapters, declaration=OuterRef("pk")))


def queue_class(declaration: Declaration, *, arrived_at: datetime) -> int:
    """0 is served first: perishable goods, then priority (AEO) companies, then on-time slot holders."""
    if hasattr(declaration, "has_perishable_goods"):
        perishable = declaration.has_perishable_goods
    else:
        chapters = set(settings.SMARTGATE_PERISHABLE_CHAPTERS)
        perishable = any(line.hs_code[:2] in chapters for line in declaration.goods.all())
    priority = declaration.company.compliance_rating == Company.Rating.PRIORITY
    on_time = False
    if declaration.slot is not None:
        tolerance = timedelta(minutes=settings.SMARTGATE_SLOT_TOLERANCE_MINUTES)
        start = declaration.slot.starts_at
        on_time = start - tolerance <= arrived_at <= start + timedelta(hours=1) + tolerance
    return queue_class_of(perishable=perishable, priority=priority, on_time=on_time)


@dataclass(frozen=True)
class YardArrival:
    """What a yard-gate camera's read came to: the declaration that joined the queue, or the unmatched
    arrival kept for officers."""

    declaration: Declaration | None = None
    unmatched: UnmatchedArrival | None = None


def yard_arrival_record(
    *, plate_read: str, yard: Yard, occurred_at: datetime, source: str, actor: Actor
) -> YardArrival:
    """A vehicle entered a yard. Its active declaration joins the queue (stage in_yard); a second read of a
    vehicle already waiting keeps its place; a plate with no active declaration is kept as an unmatched
    arrival for officers. Every read is kept as a movement.

    Raises Conflict (409, nothing recorded) when the declaration is for a route this yard does not serve.
    """
    # No savepoint (a camera's read is a request's whole transaction); so the refusal, decided before
    # anything is written, is raised once the block is over and never marks a caller's transaction failed.
    with transaction.atomic(savepoint=False):
        arrival = _arrival_record(plate_read=plate_read, yard=yard, occurred_at=occurred_at, source=source, actor=actor)
    if isinstance(arrival, Conflict):
        raise arrival
    return arrival


def _arriving_candidates():
    return (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("company", "slot", "route__gate")
        .annotate(has_perishable_goods=has_perishable_goods())
        .filter(ACTIVE_DECLARATION, stage__in=[Declaration.Stage.EXPECTED, Declaration.Stage.IN_YARD])
    )


def _arriving() -> tuple[CompiledQuery, CompiledQuery]:
    """The arriving vehicle's declaration, by tractor or by trailer plate, compiled once (vehicles.compiled)
    for the perishable chapters in force (a setting the build reads)."""
    chapters = tuple(settings.SMARTGATE_PERISHABLE_CHAPTERS)
    return (
        compiled_for(
            ("arriving by tractor", chapters),
            lambda plate: _arriving_candidates().filter(vehicle__normalized_plate=plate)[:1],
            plate=str,
        ),
        compiled_for(
            ("arriving by trailer", chapters),
            lambda plate: _arriving_candidates().filter(trailer__normalized_plate=plate)[:1],
            plate=str,
        ),
    )


def _arrival_record(
    *, plate_read: str, yard: Yard, occurred_at: datetime, source: str, actor: Actor
) -> YardArrival | Conflict:
    normalized = normalize_plate(plate_read)
    by_tractor, by_trailer = _arriving()
    # Two indexed lookups, the tractor's plate first: an OR across the two joins would read a whole index.
    declaration = by_tractor.first(plate=normalized) or by_trailer.first(plate=normalized)
    if declaration is not None and yard.route_id is not None and declaration.route_id != yard.route_id:
        return Conflict(
            f"This vehicle is declared for route {declaration.route.code}; {yard.name} serves route "
            f"{yard.route.code}. Nothing was recorded.",
            code="wrong_route",
        )
    # Checked now; written with the arrival it records (one statement), or alone.
    movement = movement_record(
        plate_read=plate_read,
        kind=Movement.Kind.YARD_IN,
        occurred_at=occurred_at,
        source=source,
        yard=yard,
        write=False,
    )
    if declaration is None or declaration.stage == Declaration.Stage.IN_YARD:
        movement.save(force_insert=True)
    if declaration is None:
        # An earlier leg's vehicle reaching its transfer point is a crossing's fact, not an unknown arrival.
        leg_of = leg_arrival_record(normalized_plate=normalized, yard=yard, occurred_at=occurred_at, actor=actor)
        if leg_of is not None:
            return YardArrival(declaration=leg_of)
        unmatched = UnmatchedArrival.objects.create(
            plate_read=plate_read, normalized_plate=normalized, yard=yard, movement=movement, seen_at=occurred_at
        )
        return YardArrival(unmatched=unmatched)
    if declaration.stage == Declaration.Stage.IN_YARD:
        return YardArrival(declaration=declaration)  # read again while waiting: it keeps its place
    notice_runs_out = declaration.created_at + timedelta(hours=declaration.route.gate.crossing_notice_hours)
    lifecycle.written_with_next_change(declaration, movement)
    lifecycle.declaration_arrived(
        declaration=declaration,
        actor=actor,
        yard=yard,
        arrived_at=occurred_at,
        queue_class=queue_class(declaration, arrived_at=occurred_at),
        source=source,
        held_until=notice_runs_out if occurred_at < notice_runs_out else None,
    )
    return YardArrival(declaration=declaration)


@transaction.atomic
def arrival_hold_waive(*, declaration_id: int, user, reason: str) -> Declaration:
    """A supervisor lets a vehicle that reached the yard before its notice had run be called now.

    Raises Conflict (409) when the vehicle is not waiting under such a hold, NotYourForce (403) for anyone
    but a supervisor."""
    if not is_supervisor(user):
        raise NotYourForce("Only a supervisor waives an early-arrival hold.")
    declaration = Declaration.objects.select_for_update(of=("self",)).get(id=declaration_id)
    if declaration.stage != Declaration.Stage.IN_YARD or not declaration.is_held_after_early_arrival:
        raise Conflict("This vehicle is not waiting under an early-arrival hold.", code="not_held_on_arrival")
    lifecycle.arrival_hold_waived(declaration=declaration, actor=Actor.for_user(user), reason=reason)
    return declaration


@transaction.atomic
def declaration_turn_back(*, declaration_id: int, actor: Actor, reason: str) -> Declaration:
    """Send a vehicle away from the gate (it leaves the queue or the lane). Frees its vehicle and customs
    numbers for a new declaration."""
    declaration = Declaration.objects.select_for_update().get(id=declaration_id)
    try:
        lifecycle.declaration_turned_back(declaration=declaration, actor=actor, reason=reason)
    except TransitionNotAllowed:
        raise Conflict(
            f"A vehicle that is {declaration.get_stage_display().lower()} cannot be turned back.",
            code="not_turnable",
        ) from None
    return declaration
