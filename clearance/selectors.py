"""Read queries. Everything a forwarder reads is scoped by its company, so another's row cannot leak."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from clearance.errors import FieldError, RuleViolations
from clearance.models import ArrivalSlot, Company, Declaration, DeclarationEvent
from vehicles.models import LOCAL_TZ, Direction, Lane, Route, local_date
from vehicles.plates import normalize_plate


class DeclarationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Declaration.Status.choices)
    stage = django_filters.ChoiceFilter(choices=Declaration.Stage.choices)
    route = django_filters.CharFilter(field_name="route__code")
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    plate = django_filters.CharFilter(method="filter_plate")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Declaration
        fields = []

    def filter_plate(self, queryset, name, value):
        # Any written form of the plate: the vehicle's or the trailer's normalized plate.
        return queryset.filter(vehicle__normalized_plate=normalize_plate(value))


def _with_everything(queryset: QuerySet) -> QuerySet:
    """What the representation shows, in a constant number of queries whatever the page size."""
    return queryset.select_related("route", "vehicle", "trailer", "driver", "company", "lane", "yard", "slot",
                                   "fee").prefetch_related(
        "customs_declarations", "containers", "goods", "quarantine_certificates", "checks", "inspections",
    )


def declaration_list(*, company: Company, filters: dict) -> QuerySet[Declaration]:
    """The company's declarations, newest first. Raises RuleViolations for a malformed filter."""
    filterset = DeclarationFilter(filters, queryset=Declaration.objects.filter(company=company))
    if not filterset.is_valid():
        raise RuleViolations([
            FieldError(name, error.code or "invalid", str(error.message % (error.params or {})))
            for name, errors in filterset.errors.as_data().items() for error in errors
        ])
    return _with_everything(filterset.qs)


def declaration_get(*, company: Company, declaration_id: int) -> Declaration:
    """Raises Declaration.DoesNotExist for another company's declaration, as for a missing one."""
    return _with_everything(Declaration.objects.filter(company=company)).get(id=declaration_id)


def declaration_events(*, company: Company, declaration_id: int) -> QuerySet[DeclarationEvent]:
    declaration = Declaration.objects.only("id").get(company=company, id=declaration_id)
    return DeclarationEvent.objects.filter(declaration=declaration).order_by("id")




def _call_rates() -> dict[tuple[int, str], int]:
    """Vehicles per hour each route can call in each direction, from its open lanes."""
    rows = (Lane.objects.filter(is_open=True).exclude(purpose=Lane.Purpose.EMPTY_RETURN)
            .values("route_id", "current_direction").annotate(rate=Sum("capacity_per_hour")))
    return {(row["route_id"], row["current_direction"]): row["rate"] for row in rows}


def queue_positions(declarations) -> dict[int, tuple[int, datetime | None]]:
    """Queue position (1 = next) and estimated call time of the waiting declarations among
    ``declarations``, in two queries whatever their number."""
    groups = {(d.route_id, d.direction) for d in declarations if d.stage == Declaration.Stage.IN_YARD}
    if not groups:
        return {}
    group_filter = Q()
    for route_id, direction in groups:
        group_filter |= Q(route_id=route_id, direction=direction)
    waiting = (Declaration.objects.filter(group_filter, stage=Declaration.Stage.IN_YARD)
               .order_by("route_id", "direction", "queue_class", "arrived_at", "id")
               .values_list("id", "route_id", "direction"))
    rates = _call_rates()
    now = timezone.now()
    counters: dict[tuple[int, str], int] = {}
    positions = {}
    for declaration_id, route_id, direction in waiting:
        position = counters[(route_id, direction)] = counters.get((route_id, direction), 0) + 1
        rate = rates.get((route_id, direction))
        eta = now + timedelta(hours=(position - 1) / rate) if rate else None
        positions[declaration_id] = (position, eta)
    return positions


def slot_availability(*, route: Route, direction: str, day: date) -> QuerySet[ArrivalSlot]:
    """The slots of a local calendar day, with their free places."""
    start = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
    return ArrivalSlot.objects.filter(route=route, direction=direction, starts_at__gte=start,
                                      starts_at__lt=start + timedelta(days=1)).order_by("starts_at")


def gate_load() -> list[dict]:
    """Per route and direction: vehicles waiting in yards, called, in lane, crossed today, and the
    estimated wait. Three aggregate queries, whatever the traffic."""
    today_start = datetime.combine(local_date(timezone.now()), time.min, tzinfo=LOCAL_TZ)
    counts = (Declaration.objects.filter(Q(stage__in=["in_yard", "called", "in_lane"])
                                         | Q(stage="crossed", crossed_at__gte=today_start))
              .values("route_id", "direction", "stage").annotate(n=Count("id")))
    rates = _call_rates()
    load = {}
    for route in Route.objects.filter(is_smart_gate=True).order_by("code"):
        for direction in ("export", "import"):
            load[(route.id, direction)] = {"route": route.code, "direction": direction, "waiting": 0, "called": 0,
                                           "in_lane": 0, "crossed_today": 0}
    for row in counts:
        entry = load.get((row["route_id"], row["direction"]))
        if entry is not None:
            entry["crossed_today" if row["stage"] == "crossed" else row["stage"]] = row["n"]
    for key, entry in load.items():
        rate = rates.get(key)
        entry["calls_per_hour"] = rate or 0
        entry["estimated_wait_minutes"] = round(60 * entry["waiting"] / rate) if rate else None
    return list(load.values())
