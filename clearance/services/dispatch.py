"""The dispatcher: calls vehicles waiting in the yards forward to lanes with room, in queue order, and
puts back those that missed their call. Gate operators call forward by hand under the same rules.

Concurrency: the dispatcher locks each lane and takes the next vehicle with SKIP LOCKED, so two
dispatchers never call one vehicle twice or overfill a lane.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from clearance.audit import Actor
from clearance.errors import Conflict
from clearance.models import HANDOVER_HOLDS, QUEUE_REGULAR, Declaration, GateDecision, LaneCall, QueueTurn
from clearance.services import lifecycle
from vehicles.compiled import CompiledQuery, compiled_for
from vehicles.models import Lane, hour_start

logger = logging.getLogger(__name__)
DISPATCHER = Actor.system("dispatcher")


def lane_windows_in_words(lane: Lane) -> str:
    """An autonomous lane's windows as an operator reads them: "18:30–20:00 local time" (or none)."""
    spans = [f"{window.starts_at:%H:%M}–{window.ends_at:%H:%M}" for window in lane.windows.all()]
    return f"{', '.join(spans)} local time" if spans else "none configured"


def lane_room(lane: Lane, *, now: datetime) -> int:
    """How many more vehicles the lane may be called now: below its maximum in lane and its calls this
    hour below capacity, scaled down when the route's inspection bays are filling up. One query: the four
    counts it needs are read together."""
    if not lane.accepts_traffic(now):
        return 0
    waiting = Declaration.objects.filter(route_id=lane.route_id, stage=Declaration.Stage.IN_YARD)
    counts = _counts(
        occupied=Declaration.objects.filter(lane=lane, stage__in=[Declaration.Stage.CALLED, Declaration.Stage.IN_LANE]),
        calls_this_hour=LaneCall.objects.filter(lane=lane, called_at__gte=hour_start(now)),
        **(
            {}
            if lane.has_inspection_bay
            else {"waiting": waiting, "in_inspection": waiting.filter(status=Declaration.Status.INSPECTION)}
        ),
    )
    capacity = lane.capacity_per_hour
    if not lane.has_inspection_bay and counts["waiting"]:
        if 100 * counts["in_inspection"] / counts["waiting"] > settings.SMARTGATE_INSPECTION_SHARE_PERCENT:
            capacity = capacity * settings.SMARTGATE_INSPECTION_THROTTLE_PERCENT // 100
    return max(0, min(lane.max_vehicles_in_lane - counts["occupied"], capacity - counts["calls_this_hour"]))


def _counts(**querysets: QuerySet) -> dict[str, int]:
    """``queryset.count()`` of each, read in one query."""
    parts, params = [], []
    for queryset in querysets.values():
        sql, query_params = queryset.order_by().values("pk").query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")
        params += query_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        return dict(zip(querysets, cursor.fetchone(), strict=True))


def _rows_together(*querysets: QuerySet) -> list[list[tuple]]:
    """The rows of each ``values_list`` queryset (distinct column names, values that JSON keeps: numbers,
    text, booleans), read in one query: each comes back as a JSON array of its rows."""
    if connection.vendor != "postgresql":
        # json_agg is PostgreSQL's: the embedded default (SQLite) reads them one by one.
        return [[tuple(row) for row in queryset] for queryset in querysets]
    parts, params = [], []
    for queryset in querysets:
        sql, query_params = queryset.query.sql_with_params()
        parts.append(f"(SELECT COALESCE(json_agg(r), '[]') FROM ({sql}) AS r)")
        params += query_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        return [[tuple(row.values()) for row in rows] for rows in cursor.fetchone()]


def _statuses_for(lane: Lane) -> list[str]:
    """The clearance statuses a lane may be called with: cleared, or in inspection where it has a bay."""
    if lane.has_inspection_bay:
        return [Declaration.Status.CLEARED, Declaration.Status.INSPECTION]
    return [Declaration.Status.CLEARED]


def _eligible(lane: Lane, *, now: datetime):
    """Vehicles waiting in a yard that this lane may take at ``now``, in call order."""
    eligible = Declaration.objects.filter(
        route_id=lane.route_id,
        direction=lane.current_direction,
        stage=Declaration.Stage.IN_YARD,
        status__in=_statuses_for(lane),
        vehicle__is_autonomous=lane.purpose == Lane.Purpose.AUTONOMOUS,
    )
    # An empty-return lane takes only empty trucks (which may also use the cargo lanes of their direction).
    if lane.purpose == Lane.Purpose.EMPTY_RETURN:
        eligible = eligible.filter(kind=Declaration.Kind.EMPTY_RETURN)
    # A smart lane takes only goods groups eligible for it; a traditional lane takes any.
    if lane.is_smart:
        eligible = eligible.filter(smart_lane_eligible=True)
    return (
        # Arrived before its notice had run: not called until then, unless an officer waived the hold.
        eligible.exclude(arrival_held_until__gt=now)
        # An onward vehicle is called once its containers are handed over as declared (crossing legs).
        .exclude(handover_status__in=HANDOVER_HOLDS)
        .order_by("queue_class", "arrived_at", "id")
    )


def _heads(lane: Lane, room: int) -> CompiledQuery:
    """The queue's head as a lane takes it, compiled once per kind of lane and room (vehicles.compiled): a run
    that calls someone reads it for every lane it fills."""
    shape = (lane.purpose, lane.is_smart, lane.has_inspection_bay)

    def build(route_id, direction, now):
        like = Lane(
            route_id=route_id,
            current_direction=direction,
            purpose=shape[0],
            is_smart=shape[1],
            has_inspection_bay=shape[2],
        )
        return _eligible(like, now=now).select_for_update(skip_locked=True, of=("self",)).select_related("fee")[:room]

    return compiled_for(("queue heads", *shape, room), build, route_id=int, direction=str, now=datetime)


def _next_vehicle(lane: Lane, turn: QueueTurn, heads: list[Declaration], *, now: datetime) -> Declaration | None:
    """The next vehicle for the lane from the queue's ``heads`` (taken, in call order, with SKIP LOCKED:
    rows another dispatcher holds are not among them). After a streak of priority calls, a waiting regular
    truck gets its turn."""
    streak_limit = settings.SMARTGATE_QUEUE_PRIORITY_STREAK
    if streak_limit and turn.priority_streak >= streak_limit:
        regular = next((declaration for declaration in heads if declaration.queue_class == QUEUE_REGULAR), None)
        if regular is None and heads:
            regular = (
                _eligible(lane, now=now)
                .select_for_update(skip_locked=True, of=("self",))
                .filter(queue_class=QUEUE_REGULAR)
                .first()
            )
        if regular is not None:
            if regular in heads:
                heads.remove(regular)
            return regular
    return heads.pop(0) if heads else None


def _lanes_worth_locking(lanes: list[Lane], *, now: datetime) -> list[Lane]:
    """The lanes that may take a vehicle now, read for all lanes at once (three grouped reads in one query,
    whatever the number of lanes): within hours, room by the same rule as ``lane_room``, and someone eligible waiting.

    A first look without locks: a lane it leaves out is left for the next run (it never overfills one); each
    lane kept is looked at again under its lock before anyone is called to it. Its count of who is waiting
    is an upper bound (kind, smart-lane eligibility and hand-over holds are judged under the lock by
    ``_eligible``): it may lock a lane for nothing, never skip one that could take someone."""
    lanes = [lane for lane in lanes if lane.accepts_traffic(now)]
    if not lanes:
        return []
    lane_ids = [lane.id for lane in lanes]
    occupied_rows, calls_rows, waiting_rows = _rows_together(
        Declaration.objects.filter(
            lane_id__in=lane_ids, stage__in=[Declaration.Stage.CALLED, Declaration.Stage.IN_LANE]
        )
        .values_list("lane_id")
        .annotate(n=Count("id"))
        .order_by(),
        LaneCall.objects.filter(lane_id__in=lane_ids, called_at__gte=hour_start(now))
        .values_list("lane_id")
        .annotate(n=Count("id"))
        .order_by(),
        Declaration.objects.filter(stage=Declaration.Stage.IN_YARD, route_id__in={lane.route_id for lane in lanes})
        .values_list("route_id", "direction", "status", "vehicle__is_autonomous")
        .annotate(held=Count("id", filter=Q(arrival_held_until__gt=now)), n=Count("id"))
        .order_by(),
    )
    occupied, calls = dict(occupied_rows), dict(calls_rows)
    waiting = Counter()
    inspection_share = {}
    for route_id, direction, status, autonomous, held, n in waiting_rows:
        waiting[(route_id, direction, status, autonomous)] += n - held
        total, inspection = inspection_share.get(route_id, (0, 0))
        inspection_share[route_id] = (total + n, inspection + (n if status == Declaration.Status.INSPECTION else 0))
    worth = []
    for lane in lanes:
        total, inspection = inspection_share.get(lane.route_id, (0, 0))
        capacity = lane.capacity_per_hour
        if (
            not lane.has_inspection_bay
            and total
            and 100 * inspection / total > settings.SMARTGATE_INSPECTION_SHARE_PERCENT
        ):
            capacity = capacity * settings.SMARTGATE_INSPECTION_THROTTLE_PERCENT // 100
        room = min(lane.max_vehicles_in_lane - occupied.get(lane.id, 0), capacity - calls.get(lane.id, 0))
        autonomous = lane.purpose == Lane.Purpose.AUTONOMOUS
        eligible = sum(
            waiting[(lane.route_id, lane.current_direction, status, autonomous)] for status in _statuses_for(lane)
        )
        if room > 0 and eligible:
            worth.append(lane)
    return worth


# A run's first reads, compiled once (vehicles.compiled): the dispatcher runs every few seconds.
_OPEN_LANES = CompiledQuery(lambda: Lane.objects.filter(is_open=True).order_by("id"))
# of=self: lock the lane row only, not the route joined by the default ordering, or one dispatcher would keep
# the other off every lane of the route. SKIP LOCKED: a lane another dispatcher is filling is left to it.
_LANE_LOCKED = CompiledQuery(
    lambda lane_id: Lane.objects.select_for_update(skip_locked=True, of=("self",)).filter(id=lane_id).order_by()[:1],
    lane_id=int,
)

_TURN_LOCKED = CompiledQuery(
    lambda route_id, direction: (
        QueueTurn.objects.select_for_update().filter(route_id=route_id, direction=direction).order_by()[:1]
    ),
    route_id=int,
    direction=str,
)


def dispatch_run(*, now: datetime | None = None) -> list[Declaration]:
    """Call vehicles forward to every lane with room. Each lane is handled in its own transaction with
    the lane row locked (SKIP LOCKED: a lane another dispatcher is filling is left to it).

    The dispatcher runs every few seconds and after every change that may free room, so most runs find
    nothing to do: a first look over all lanes at once (``_lanes_worth_locking``) keeps those runs to a
    handful of queries, and only lanes that may take someone are locked and looked at again."""
    now = now or timezone.now()
    called = []
    # Every open lane, the empty-return lanes too (they take empty trucks only: ``_eligible``).
    lanes = _OPEN_LANES.all()
    for candidate in _lanes_worth_locking(lanes, now=now):
        with transaction.atomic():
            lane = _LANE_LOCKED.first(lane_id=candidate.id)
            if lane is None:
                continue
            room = lane_room(lane, now=now)
            if room <= 0:
                continue
            turn = (
                _TURN_LOCKED.first(route_id=lane.route_id, direction=lane.current_direction)
                # The route's first call ever starts its queue turn.
                or QueueTurn.objects.select_for_update().get_or_create(
                    route_id=lane.route_id, direction=lane.current_direction
                )[0]
            )
            # The queue's head, as many as there is room for, in one query; a regular truck's turn (after a
            # streak of priority calls) is looked up on its own.
            # Each with its fee: whether a called vehicle gets its gate pass is known without a query if unpaid.
            heads = _heads(lane, room).all(route_id=lane.route_id, direction=lane.current_direction, now=now)
            streak_before = turn.priority_streak
            for _ in range(room):
                declaration = _next_vehicle(lane, turn, heads, now=now)
                if declaration is None:
                    break
                lifecycle.declaration_called(declaration=declaration, actor=DISPATCHER, lane=lane, at=now)
                turn.priority_streak = 0 if declaration.queue_class == QUEUE_REGULAR else turn.priority_streak + 1
                called.append(declaration)
            if turn.priority_streak != streak_before:
                turn.save(update_fields=["priority_streak"])
    if called:
        logger.info("dispatch.called", extra={"count": len(called)})
    return called


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
            lifecycle.declaration_recalled(
                declaration=declaration,
                actor=DISPATCHER,
                reason=f"Did not reach lane {lane_code} within {settings.SMARTGATE_CALL_TIMEOUT_MINUTES} minutes.",
            )
            expired += 1
    return expired


@transaction.atomic
def declaration_call_forward(*, declaration_id: int, lane_id: int, actor: Actor) -> Declaration:
    """A gate operator calls a waiting vehicle to a lane by hand. The same rules as the dispatcher apply:
    route, direction, eligibility and room. Raises Conflict otherwise."""
    lane = Lane.objects.select_for_update().get(id=lane_id)
    declaration = Declaration.objects.select_for_update(of=("self",)).select_related("vehicle").get(id=declaration_id)
    if declaration.stage != Declaration.Stage.IN_YARD:
        raise Conflict("Only a vehicle waiting in a yard can be called.", code="not_waiting")
    if declaration.is_held_after_early_arrival:
        raise Conflict(
            f"This vehicle arrived before its pre-arrival notice had run and is held until "
            f"{declaration.arrival_held_until.isoformat()}; a supervisor may waive the hold.",
            code="arrival_held",
        )
    if lane.is_smart and not declaration.smart_lane_eligible:
        raise Conflict(
            f"Lane {lane.code} is a smart lane; this crossing may use only a traditional lane. "
            f"{declaration.smart_lane_reason}",
            code="lane_not_eligible",
        )
    if declaration.handover_status in HANDOVER_HOLDS:
        mismatch = declaration.handover_status == Declaration.HandoverStatus.MISMATCH
        raise Conflict(
            "The containers handed over at the transfer point do not match the declaration; the vehicle is "
            "held until a hand-over matches."
            if mismatch
            else "This vehicle's containers have not been handed over at the transfer point yet.",
            code=GateDecision.HoldReason.HANDOVER_MISMATCH if mismatch else GateDecision.HoldReason.HANDOVER_PENDING,
        )
    if not _eligible(lane, now=timezone.now()).filter(id=declaration.id).exists():
        raise Conflict(
            f"Lane {lane.code} cannot take this vehicle (route, direction, status or vehicle type).",
            code="lane_not_eligible",
        )
    if lane.purpose == Lane.Purpose.AUTONOMOUS and lane.window_at(timezone.now()) is None:
        raise Conflict(
            f"Lane {lane.code} takes autonomous vehicles only inside its windows ({lane_windows_in_words(lane)}).",
            code="outside_window",
        )
    if lane_room(lane, now=timezone.now()) <= 0:
        raise Conflict(
            f"Lane {lane.code} has no room now (closed, outside hours, full or at its hourly capacity).",
            code="lane_full",
        )
    lifecycle.declaration_called(declaration=declaration, actor=actor, lane=lane, at=timezone.now())
    return declaration
