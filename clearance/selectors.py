"""Read queries. Everything a forwarder reads is scoped by its company, so another's row cannot leak."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from operator import attrgetter

import django_filters
from django.conf import settings
from django.db import connection, models
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Window, prefetch_related_objects
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber
from django.utils import timezone

from clearance import gate_pass
from clearance.errors import FieldError, RuleViolations
from clearance.gate_pass_keys import key_ring
from clearance.models import (
    ArrivalSlot,
    AuditAnchor,
    Check,
    Company,
    CompanyEvent,
    Container,
    CrossingLeg,
    CustomsDeclaration,
    Declaration,
    DeclarationEvent,
    Fee,
    GatePass,
    GoodsLine,
    Inspection,
    LaneCall,
    OfflineDecision,
    QuarantineCertificate,
    UnmatchedArrival,
    WebhookDelivery,
    WebhookSubscription,
)
from vehicles.models import LOCAL_TZ, Direction, Lane, Route, Yard, local_date
from vehicles.plates import normalize_plate
from vehicles.process_cache import routes_by_code


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Compared in UTC: an offset PostgreSQL cannot hold (+23:59) must not reach the database."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                return qs.none()
        return super().filter(qs, value)


class DeclarationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Declaration.Status.choices)
    stage = django_filters.ChoiceFilter(choices=Declaration.Stage.choices)
    route = django_filters.CharFilter(method="filter_route")
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    plate = django_filters.CharFilter(method="filter_plate")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Declaration
        fields = []

    def filter_route(self, queryset, name, value):
        # By id, from the process's reference data: with no join, the list's filter index
        # (declaration_company_filter_idx) gives the page newest first and stops after it.
        route = routes_by_code().get(value)
        return queryset.filter(route_id=route.id) if route is not None else queryset.none()

    def filter_plate(self, queryset, name, value):
        # Any written form of the vehicle's plate, compared normalized (a trailer's plate does not match).
        return queryset.filter(vehicle__normalized_plate=normalize_plate(value))


# What a declaration's representation shows beyond its own row: the rows it owns, by related name.
REPRESENTATION_LINES = {
    "customs_declarations": CustomsDeclaration,
    "containers": Container,
    "goods": GoodsLine,
    "quarantine_certificates": QuarantineCertificate,
    "checks": Check,
    "inspections": Inspection,
}


# The rows a declaration's representation shows one of (its lane, yard, slot and fee): read with its lines
# by ``lines_attach`` (by their id, the fee by its declaration), not joined to the page: the joins were
# half of a page's query time and most of its ORM work.
REPRESENTATION_RELATED = {"lane": Lane, "yard": Yard, "slot": ArrivalSlot}


def _references_attach(declarations: list[Declaration], company: Company | None) -> None:
    """The route (from the process's reference data) and the company (the caller's, which scoped the
    read) of each declaration, without a join: fewer joins for PostgreSQL to plan on every page."""
    routes = {route.id: route for route in routes_by_code().values()}
    for declaration in declarations:
        if company is not None and declaration.company_id == company.id:
            Declaration.company.field.set_cached_value(declaration, company)
        route = routes.get(declaration.route_id)
        if route is not None:  # a route created since the cache was filled is read when shown
            Declaration.route.field.set_cached_value(declaration, route)


def _sorted_by_meta(model, rows: list) -> list:
    """``rows`` in their model's default ordering, as a prefetch would give them."""
    if len(rows) < 2:  # most lines of most declarations: nothing to order
        return rows
    for name in reversed(model._meta.ordering):
        rows.sort(key=attrgetter(name.lstrip("-")), reverse=name.startswith("-"))
    return rows


def lines_attach(declarations, *, company: Company | None = None) -> None:
    """Read the lines of every one of ``declarations`` (customs numbers, containers, goods, certificates,
    checks, inspections) in one query, whatever their number, and attach them as a prefetch would: each
    row in one JSON document, turned back into model instances by their fields. Their route, and their
    ``company`` when given (the one that scoped the read), are attached without a query."""
    declarations = list(declarations)
    if not declarations:
        return
    _references_attach(declarations, company)
    if connection.vendor != "postgresql":
        prefetch_related_objects(declarations, *REPRESENTATION_LINES, *REPRESENTATION_RELATED, "fee")
        _legs_attach(declarations)
        return
    ids = [declaration.id for declaration in declarations]
    parts, params = [], []
    for name, model in {**REPRESENTATION_LINES, "fee": Fee}.items():
        parts.append(
            f'SELECT %s, "declaration_id", row_to_json(line) FROM "{model._meta.db_table}" line '
            'WHERE "declaration_id" = ANY(%s)'
        )
        params += [name, ids]
    for name, model in REPRESENTATION_RELATED.items():
        related_ids = sorted({getattr(d, f"{name}_id") for d in declarations} - {None})
        if related_ids:
            parts.append(f'SELECT %s, "id", row_to_json(line) FROM "{model._meta.db_table}" line WHERE "id" = ANY(%s)')
            params += [name, related_ids]
    row_models = {**REPRESENTATION_LINES, **REPRESENTATION_RELATED, "fee": Fee}
    found: dict[tuple[int, str], list] = defaultdict(list)
    # Every row as one JSON document: decoded in one call rather than a call (and a result row) per line.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(json_agg(json_build_array(kind, key, line)), '[]')::text "
            f"FROM ({' UNION ALL '.join(parts)}) AS lines(kind, key, line)",
            params,
        )
        (document,) = cursor.fetchone()
    for name, key, values in json.loads(document, parse_float=Decimal):
        model = row_models[name]
        row = {}
        for attname, column, to_python in _json_columns(model):
            value = values[column]
            row[attname] = to_python(value) if to_python is not None and value is not None else value
        found[(key, name)].append(_loaded(model, row))
    for declaration in declarations:
        cache = declaration.__dict__.setdefault("_prefetched_objects_cache", {})
        for name, model in REPRESENTATION_LINES.items():
            cache[name] = _sorted_by_meta(model, found.get((declaration.id, name), []))
        for name in REPRESENTATION_RELATED:
            related_id = getattr(declaration, f"{name}_id")
            rows = found.get((related_id, name)) if related_id is not None else None
            if related_id is None or rows:  # one gone meanwhile is left to be read when shown
                getattr(Declaration, name).field.set_cached_value(declaration, rows[0] if rows else None)
        fee = found.get((declaration.id, "fee"))
        Declaration.fee.related.set_cached_value(declaration, fee[0] if fee else None)
        if fee:
            Fee.declaration.field.set_cached_value(fee[0], declaration)
    _legs_attach(declarations)


# Columns whose JSON value (row_to_json) is already the field's Python value.
_JSON_NATIVE = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.JSONField,
    models.ForeignKey,
    models.AutoField,
)


@cache
def _json_columns(model) -> list[tuple[str, str, object]]:
    """(attname, column, conversion) of each concrete field of ``model``; no conversion where the JSON
    value is the Python value already (text, numbers, booleans, JSON, ids): times, dates and decimals only."""
    return [
        (field.attname, field.column, None if isinstance(field, _JSON_NATIVE) else field.to_python)
        for field in model._meta.concrete_fields
    ]


def _loaded(model, values: dict):
    """An instance of ``model`` as the ORM loads one from the database, every concrete field given: built
    without ``Model.__init__`` (its per-field loop and signals were a third of a list page's CPU for
    the hundreds of lines a page holds; no model of REPRESENTATION_LINES listens to ``post_init``)."""
    row = model.__new__(model)
    row.__dict__.update(values)
    state = ModelState()
    state.adding, state.db = False, "default"
    row._state = state
    return row


def _legs_attach(declarations: list[Declaration]) -> None:
    """The legs of the crossings declared in legs (one query, none when the page has none); the others
    have none to read."""
    in_legs = [declaration for declaration in declarations if declaration.handover_status]
    if in_legs:
        prefetch_related_objects(
            in_legs, Prefetch("legs", queryset=CrossingLeg.objects.select_related("transfer_point"))
        )
    # One empty set shared by the page: a queryset per declaration cost a Query clone each, a tenth of a
    # list page's time.
    none = CrossingLeg.objects.none()
    for declaration in declarations:
        if not declaration.handover_status:
            declaration.__dict__.setdefault("_prefetched_objects_cache", {})["legs"] = none


def declaration_list(*, company: Company, filters: dict) -> QuerySet[Declaration]:
    """The company's declarations, newest first (attach a page's lines with ``lines_attach``). Raises
    RuleViolations for a malformed filter."""
    declarations = Declaration.objects.filter(company=company)
    if not any(name in filters for name in DeclarationFilter.base_filters):
        # A page with no filter (what an ERP polls) skips the filter set's form: 0.6 ms of a 14 ms page.
        return declarations
    filterset = DeclarationFilter(filters, queryset=declarations)
    if not filterset.is_valid():
        raise RuleViolations(
            [
                FieldError(name, error.code or "invalid", str(error.message % (error.params or {})))
                for name, errors in filterset.errors.as_data().items()
                for error in errors
            ]
        )
    return filterset.qs


def declaration_get(*, company: Company, declaration_id: int) -> Declaration:
    """The declaration with everything its representation shows. Raises Declaration.DoesNotExist for
    another company's declaration, as for a missing one."""
    declaration = Declaration.objects.filter(company=company).get(id=declaration_id)
    lines_attach([declaration], company=company)
    return declaration


def declarations_get_many(*, company: Company, declaration_ids: list[int]) -> dict[int, Declaration]:
    """The company's declarations of ``declaration_ids`` with everything their representation shows, by id,
    in two queries (a batch's answer)."""
    declarations = list(Declaration.objects.filter(company=company, id__in=declaration_ids))
    lines_attach(declarations, company=company)
    return {declaration.id: declaration for declaration in declarations}


def declaration_id_for_company(*, company: Company, declaration_id: int) -> int:
    """The scope check alone, one indexed lookup: raises Declaration.DoesNotExist for another company's
    declaration, as for a missing one."""
    return Declaration.objects.filter(company=company).values_list("id", flat=True).get(id=declaration_id)


def declaration_events(*, company: Company, declaration_id: int) -> QuerySet[DeclarationEvent]:
    declaration_id = declaration_id_for_company(company=company, declaration_id=declaration_id)
    return DeclarationEvent.objects.filter(declaration_id=declaration_id).order_by("id")


def fee_for_ticket(*, company: Company, declaration_id: int) -> Fee:
    """The fee of the company's declaration with what its e-ticket shows, in one query. Raises
    Fee.DoesNotExist for another company's declaration, a missing one, or one without a fee."""
    return Fee.objects.select_related("declaration__vehicle").get(
        declaration_id=declaration_id, declaration__company=company
    )


def inspection_outcome(*, inspection_id: int) -> Inspection:
    """An inspection's status and its declaration's, in one narrow query (what an officer is answered)."""
    return (
        Inspection.objects.select_related("declaration")
        .only("id", "status", "declaration", "declaration__status")
        .get(id=inspection_id)
    )


def _call_rates(now: datetime | None = None) -> dict[tuple[int, str], int]:
    """Vehicles per hour each route can call in each direction: its open cargo lanes working now."""
    now = now or timezone.now()
    rates: dict[tuple[int, str], int] = {}
    for lane in Lane.objects.filter(is_open=True, purpose=Lane.Purpose.CARGO).only(
        "route_id", "current_direction", "capacity_per_hour", "opens_at", "closes_at", "is_open", "purpose"
    ):
        if lane.is_within_hours(now):
            key = (lane.route_id, lane.current_direction)
            rates[key] = rates.get(key, 0) + lane.capacity_per_hour
    return rates


def queue_positions(declarations) -> dict[int, tuple[int, datetime | None]]:
    """Queue position (1 = next) and estimated call time of the waiting declarations among
    ``declarations``, in two queries whatever their number. The database numbers the queue and sends back
    only these declarations' places: a fruit-season queue holds thousands, and reading all of them for every
    list page or single read cost a millisecond per thousand."""
    waiting = [d for d in declarations if d.stage == Declaration.Stage.IN_YARD]
    if not waiting:
        return {}
    waiting_ids = [d.id for d in waiting]
    group_filter = Q()
    for route_id, direction in {(d.route_id, d.direction) for d in waiting}:
        group_filter |= Q(route_id=route_id, direction=direction)
    queue = (
        Declaration.objects.filter(group_filter, stage=Declaration.Stage.IN_YARD)
        .annotate(
            queue_position=Window(
                RowNumber(),
                partition_by=[F("route_id"), F("direction")],
                order_by=[F("queue_class").asc(), F("arrived_at").asc(), F("id").asc()],
            )
        )
        .order_by()
        .values_list("id", "route_id", "direction", "queue_position")
    )
    # Filtering on ``id`` in the queryset would filter before the numbering: the page's rows are picked
    # from the numbered queue around it.
    queue_sql, params = queue.query.sql_with_params()
    wanted = ", ".join(["%s"] * len(waiting_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({queue_sql}) queue WHERE queue.id IN ({wanted})", [*params, *waiting_ids])
        places = cursor.fetchall()
    rates = _call_rates()
    now = timezone.now()
    positions = {}
    for declaration_id, route_id, direction, position in places:
        rate = rates.get((route_id, direction))
        eta = now + timedelta(hours=(position - 1) / rate) if rate else None
        positions[declaration_id] = (position, eta)
    return positions


def slot_availability(*, route: Route, direction: str, day: date) -> QuerySet[ArrivalSlot]:
    """The slots of a local calendar day, with their free places."""
    start = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
    return ArrivalSlot.objects.filter(
        route=route, direction=direction, starts_at__gte=start, starts_at__lt=start + timedelta(days=1)
    ).order_by("starts_at")


def gate_load() -> list[dict]:
    """Per route and direction: vehicles waiting in yards, called, in lane, crossed today, and the
    estimated wait. Four small queries, whatever the traffic (each count from a partial index)."""
    today_start = datetime.combine(local_date(timezone.now()), time.min, tzinfo=LOCAL_TZ)
    # Two counts, each from its own partial index (an OR of the two would read the whole table).
    at_gate = (
        Declaration.objects.filter(
            stage__in=[Declaration.Stage.IN_YARD, Declaration.Stage.CALLED, Declaration.Stage.IN_LANE]
        )
        .values("route_id", "direction", "stage")
        .annotate(n=Count("id"))
        .order_by()
    )
    crossed = (
        Declaration.objects.filter(crossed_at__gte=today_start, stage=Declaration.Stage.CROSSED)
        .values("route_id", "direction", "stage")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = [*at_gate, *crossed]
    rates = _call_rates()
    load = {}
    for route in Route.objects.filter(is_smart_gate=True).order_by("code"):
        for direction in Direction.values:
            # Keyword names: two of the columns are named after the stage they count.
            load[(route.id, direction)] = dict(
                route=route.code, direction=direction, waiting=0, called=0, in_lane=0, crossed_today=0
            )
    column = {Declaration.Stage.CROSSED: "crossed_today", Declaration.Stage.IN_YARD: "waiting"}
    for row in counts:
        entry = load.get((row["route_id"], row["direction"]))
        if entry is not None:
            entry[column.get(row["stage"], row["stage"])] = row["n"]
    for key, entry in load.items():
        rate = rates.get(key)
        entry["calls_per_hour"] = rate or 0
        entry["estimated_wait_minutes"] = round(60 * entry["waiting"] / rate) if rate else None
    return list(load.values())


def lane_board(*, route: Route, now: datetime | None = None) -> dict:
    """Everything the lane board of a route shows, in five queries whatever the traffic."""
    now = now or timezone.now()
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    lanes = list(Lane.objects.filter(route=route).order_by("code"))
    counts: dict[tuple[int, str], int] = {}
    for lane_id, stage, n in (
        Declaration.objects.filter(lane__route=route, stage__in=[Declaration.Stage.CALLED, Declaration.Stage.IN_LANE])
        .values_list("lane_id", "stage")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[(lane_id, stage)] = n
    calls = dict(
        LaneCall.objects.filter(lane__route=route, called_at__gte=hour_start)
        .values_list("lane_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    waiting = list(
        Declaration.objects.filter(route=route, stage=Declaration.Stage.IN_YARD)
        .select_related("vehicle", "company", "yard")
        .order_by("direction", "queue_class", "arrived_at", "id")[:300]
    )
    unmatched = list(
        UnmatchedArrival.objects.filter(resolved=False, yard__route=route)
        .select_related("yard")
        .order_by("-seen_at")[:50]
    )
    return {
        "route": route.code,
        # Keyword names: some of the board's columns share a name with a value ("open", "called").
        "lanes": [
            dict(
                id=lane.id,
                code=lane.code,
                open=lane.is_open,
                within_hours=lane.is_within_hours(now),
                direction=lane.current_direction,
                reversible=lane.direction == Lane.Kind.REVERSIBLE,
                purpose=lane.purpose,
                inspection_bay=lane.has_inspection_bay,
                called=counts.get((lane.id, Declaration.Stage.CALLED), 0),
                in_lane=counts.get((lane.id, Declaration.Stage.IN_LANE), 0),
                max_in_lane=lane.max_vehicles_in_lane,
                calls_this_hour=calls.get(lane.id, 0),
                capacity_per_hour=lane.capacity_per_hour,
            )
            for lane in lanes
        ],
        "queue": [
            {
                "reference": d.reference,
                "plate": d.vehicle.plate,
                "company": d.company.name,
                "direction": d.direction,
                "status": d.status,
                "yard": d.yard.name if d.yard else "",
                "waiting_minutes": int((now - d.arrived_at).total_seconds() // 60) if d.arrived_at else None,
                "perishable": not d.queue_class & 4,
                "priority": not d.queue_class & 2,
                "on_time": not d.queue_class & 1,
            }
            for d in waiting
        ],
        "unmatched": [
            {"plate": u.plate_read, "yard": u.yard.name, "seen_at": u.seen_at.astimezone(LOCAL_TZ).strftime("%H:%M")}
            for u in unmatched
        ],
        "updated_at": now.astimezone(LOCAL_TZ).strftime("%H:%M:%S"),
    }


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def dashboard_figures(*, now: datetime | None = None) -> dict:
    """Today's and this week's traffic, channel split, clearance times, waiting vehicles, fees collected."""
    now = now or timezone.now()
    today = datetime.combine(local_date(now), time.min, tzinfo=LOCAL_TZ)
    week = today - timedelta(days=today.weekday())
    per_route = {}
    for route_code, direction, day_count, week_count in (
        Declaration.objects.filter(created_at__gte=week)
        .values_list("route__code", "direction")
        .annotate(day=Count("id", filter=Q(created_at__gte=today)), wk=Count("id"))
        .order_by("route__code")
    ):
        per_route[f"{route_code} {direction}"] = {"today": day_count, "week": week_count}
    channels = dict(
        Declaration.objects.filter(created_at__gte=week)
        .exclude(channel="")
        .values_list("channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    cleared_events = DeclarationEvent.objects.filter(event=DeclarationEvent.Kind.CLEARED, at__gte=week).values_list(
        "at", "declaration__created_at"
    )
    to_cleared = [(at - created).total_seconds() / 60 for at, created in cleared_events]
    crossings = Declaration.objects.filter(crossed_at__gte=week, arrived_at__isnull=False).values_list(
        "crossed_at", "arrived_at"
    )
    to_crossed = [(crossed - arrived).total_seconds() / 60 for crossed, arrived in crossings]
    fees = Fee.objects.filter(status=Fee.Status.PAID, paid_at__gte=week).aggregate(
        today=Sum("amount_vnd", filter=Q(paid_at__gte=today)), week=Sum("amount_vnd")
    )
    return {
        "per_route": per_route,
        "channels": {name: channels.get(name, 0) for name in Declaration.Channel.values},
        "declared_to_cleared": {
            "p50": _percentile(to_cleared, 0.5),
            "p90": _percentile(to_cleared, 0.9),
            "count": len(to_cleared),
        },
        "arrived_to_crossed": {
            "p50": _percentile(to_crossed, 0.5),
            "p90": _percentile(to_crossed, 0.9),
            "count": len(to_crossed),
        },
        "waiting": Declaration.objects.filter(stage=Declaration.Stage.IN_YARD).count(),
        "fees_vnd": {"today": fees["today"] or 0, "week": fees["week"] or 0},
        "offline": OfflineDecision.objects.filter(read_at__gte=week).aggregate(
            decisions=Count("id"),
            conflicts=Count("id", filter=Q(outcome=OfflineDecision.Outcome.CONFLICT)),
            unreviewed=Count("id", filter=Q(outcome=OfflineDecision.Outcome.CONFLICT, reviewed_at__isnull=True)),
        ),
    }


def audit_daily_heads(*, days: int, now: datetime | None = None) -> list[tuple[date, AuditAnchor]]:
    """The last anchor of each of the last ``days`` local days that has one, newest first."""
    today = local_date(now or timezone.now())
    start = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=LOCAL_TZ)
    heads: dict[date, AuditAnchor] = {}
    for anchor in AuditAnchor.objects.filter(created_at__gte=start).order_by("-id"):
        heads.setdefault(local_date(anchor.created_at), anchor)
    return list(heads.items())


def vehicles_called_to(*, lane: Lane) -> list[Declaration]:
    """The vehicles called to ``lane`` and not yet in it, oldest call first."""
    return list(
        Declaration.objects.filter(lane=lane, stage=Declaration.Stage.CALLED)
        .select_related("vehicle")
        .order_by("called_at", "id")
    )


def lanes_for_call_forward(declarations: QuerySet[Declaration]) -> QuerySet[Lane]:
    """The open lanes every one of ``declarations`` may be called to: its route and current direction, an
    autonomous lane only for an autonomous vehicle and never for another, an inspection bay for a vehicle
    in inspection. None when they share no lane."""
    lanes = Lane.objects.filter(is_open=True).exclude(purpose=Lane.Purpose.EMPTY_RETURN)
    for route_id, direction, autonomous, status in declarations.values_list(
        "route_id", "direction", "vehicle__is_autonomous", "status"
    ).distinct():
        lanes = lanes.filter(route_id=route_id, current_direction=direction)
        lanes = (
            lanes.filter(purpose=Lane.Purpose.AUTONOMOUS)
            if autonomous
            else lanes.exclude(purpose=Lane.Purpose.AUTONOMOUS)
        )
        if status == Declaration.Status.INSPECTION:
            lanes = lanes.filter(has_inspection_bay=True)
    # An autonomous lane takes vehicles only inside one of its windows (few lanes: read in Python, where
    # local time and windows crossing midnight are simple).
    now = timezone.now()
    closed = [
        lane.id
        for lane in Lane.objects.filter(purpose=Lane.Purpose.AUTONOMOUS).prefetch_related("windows")
        if lane.window_at(now) is None
    ]
    return lanes.exclude(id__in=closed).order_by("code")


# --- Webhooks and the event feed -------------------------------------------------------------------


def webhook_list(*, company: Company) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(company=company).order_by("id")


def webhook_get(*, company: Company, subscription_id: int) -> WebhookSubscription:
    """Raises WebhookSubscription.DoesNotExist for another company's subscription, as for a missing one."""
    return WebhookSubscription.objects.get(company=company, id=subscription_id)


def webhook_deliveries(*, company: Company, subscription_id: int) -> QuerySet[WebhookDelivery]:
    subscription = webhook_get(company=company, subscription_id=subscription_id)
    return (
        WebhookDelivery.objects.filter(subscription=subscription)
        .select_related("event")
        .prefetch_related("attempt_log")
        .order_by("-id")
    )


def company_events(*, company: Company, types: list[str] | None = None) -> QuerySet[CompanyEvent]:
    """The company's feed: its events in (transaction, id) order, pings left out. On PostgreSQL only the
    events of transactions older than every one still running: so nothing can later commit behind a
    position already read (see clearance.models.events.TransactionId)."""
    events = CompanyEvent.objects.filter(company=company).exclude(type=CompanyEvent.Type.PING)
    if types:
        events = events.filter(type__in=types)
    if connection.vendor == "postgresql":
        events = events.filter(txid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", []))
    return events.order_by("txid", "id")


# --- Signed gate passes, for the lane devices -------------------------------------------------------


def _passes_at(lane: Lane) -> Q:
    """The passes a lane honours: its own, and those for any lane of its route and current direction."""
    return Q(lane=lane) | Q(lane__isnull=True, route_id=lane.route_id, direction=lane.current_direction)


def gate_passes_for_lane(*, lane: Lane, now: datetime | None = None) -> QuerySet[GatePass]:
    """The standing, unexpired passes of the vehicles called to ``lane`` and not through it yet."""
    now = now or timezone.now()
    return (
        GatePass.objects.filter(_passes_at(lane), revoked_at__isnull=True, valid_until__gt=now)
        .filter(declaration__stage=Declaration.Stage.CALLED)
        .select_related("declaration", "route", "lane")
        .order_by("id")
    )


def gate_revocations_for_lane(*, lane: Lane, since: datetime | None, now: datetime | None = None) -> dict:
    """The passes of ``lane`` withdrawn since ``since`` (and a little before: see the overlap setting) that
    have not expired yet, and the same list signed (the token a device verifies offline)."""
    now = now or timezone.now()
    revoked = GatePass.objects.filter(_passes_at(lane), revoked_at__isnull=False, valid_until__gt=now)
    if since is not None:
        try:
            # In UTC: an offset PostgreSQL cannot hold (+23:59) must not reach the database.
            since = since.astimezone(UTC)
        except OverflowError:  # before the first moment there is
            since = datetime.min.replace(tzinfo=UTC)
        try:
            start = since - timedelta(seconds=settings.SMARTGATE_GATE_REVOCATION_OVERLAP_SECONDS)
        except OverflowError:
            start = since
        revoked = revoked.filter(revoked_at__gt=start)
    revoked = list(revoked.select_related("declaration").order_by("revoked_at", "id"))
    ring = key_ring()
    token = gate_pass.sign(
        {
            "typ": gate_pass.REVOCATIONS,
            "lane": lane.code,
            "iat": int(now.timestamp()),
            "items": [[item.id, item.normalized_plate, int(item.revoked_at.timestamp())] for item in revoked],
        },
        key_id=ring.signing_key_id,
        key=ring.signing_key,
    )
    return {"lane": lane.code, "since": since, "next_since": now, "revocations": revoked, "signed": token}


def gate_pass_public_keys() -> list[dict]:
    ring = key_ring()
    return [
        {
            "kid": key_id,
            "alg": "Ed25519",
            "public_key": gate_pass.public_key_text(key),
            "signing": key_id == ring.signing_key_id,
        }
        for key_id, key in ring.public_keys.items()
    ]


def offline_conflicts_open() -> QuerySet[OfflineDecision]:
    return OfflineDecision.objects.filter(outcome=OfflineDecision.Outcome.CONFLICT, reviewed_at__isnull=True)
