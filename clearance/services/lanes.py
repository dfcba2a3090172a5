"""Gate operators' lane actions, each audited in the lane's chain (services.ledger)."""

from __future__ import annotations

from django.db import transaction

from clearance.audit import Actor
from clearance.errors import Conflict
from clearance.models import Declaration, LaneEvent
from clearance.services import lifecycle
from clearance.services.enqueue import dispatch_soon
from clearance.services.ledger import lane_event_record
from vehicles.models import Direction, Lane


@transaction.atomic
def lane_set_open(*, lane_id: int, is_open: bool, actor: Actor, reason: str = "") -> Lane:
    lane = Lane.objects.select_for_update().get(id=lane_id)
    if lane.is_open != is_open:
        lane.is_open = is_open
        lane._change_reason = reason[:100]  # kept in the lane's history as well as its event
        lane.save(update_fields=["is_open"])
        recalled = [] if is_open else _withdraw_calls(lane, actor=actor, reason=reason)
        lane_event_record(
            lane=lane,
            actor=actor,
            kind=LaneEvent.Kind.OPENED if is_open else LaneEvent.Kind.CLOSED,
            reason=reason,
            data={"recalled": recalled} if recalled else None,
        )
        if is_open:
            dispatch_soon()
    return lane


def _withdraw_calls(lane: Lane, *, actor: Actor, reason: str) -> list[str]:
    """The vehicles called to a lane that closes go back to the queue at their place; their references."""
    called = (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("lane")
        .filter(lane=lane, stage=Declaration.Stage.CALLED)
    )
    references = []
    for declaration in called.order_by("called_at", "id"):
        lifecycle.declaration_call_withdrawn(
            declaration=declaration, actor=actor, reason=f"Lane {lane.code} closed: {reason}".strip(": ")
        )
        references.append(declaration.reference)
    return references


@transaction.atomic
def lane_switch_direction(*, lane_id: int, direction: str, actor: Actor, reason: str = "") -> Lane:
    """Point a reversible ("tidal") lane the other way. Vehicles already called to it keep their call."""
    lane = Lane.objects.select_for_update().get(id=lane_id)
    if lane.direction != Lane.Kind.REVERSIBLE:
        raise Conflict(
            f"Lane {lane.code} is one-way ({lane.direction}); only reversible lanes switch.", code="lane_not_reversible"
        )
    if direction not in Direction.values:
        raise Conflict(f"Direction is export or import, not {direction!r}.", code="invalid_direction")
    if lane.current_direction != direction:
        previous = lane.current_direction
        lane.current_direction = direction
        lane._change_reason = reason[:100]
        lane.save(update_fields=["current_direction"])
        lane_event_record(
            lane=lane,
            actor=actor,
            kind=LaneEvent.Kind.DIRECTION_SWITCHED,
            reason=reason,
            data={"from": previous, "to": direction},
        )
        dispatch_soon()
    return lane
