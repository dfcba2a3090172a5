"""Reads for the province's figures: each vehicle's stage times as the services stored them, nearest-rank
percentiles, the service-level objectives' attainment, and the daily KPIs per route and direction.

The live dashboard, ``manage.py export_kpis`` and the simulation's report all read through here, so a figure
is computed one way whichever screen or file shows it.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import openpyxl
from django.db.models import Count, Min, Q, QuerySet, Sum

from clearance.models import (
    Declaration,
    DeclarationEvent,
    Fee,
    GateDecision,
    GoodsLine,
    ServiceLevelObjective,
)
from vehicles.models import LOCAL_TZ

Status = Declaration.Status
Stage = Declaration.Stage
Kind = DeclarationEvent.Kind
SloStage = ServiceLevelObjective.Stage

# The events that give the checks' decision: the first of them after a submit.
DECISION_EVENTS = [Kind.CLEARED, Kind.INSPECTION_REQUIRED, Kind.REJECTED]
LEFT_EVENTS = [Kind.TURNED_BACK, Kind.CANCELLED]
HOLD_EVENTS = [Kind.INSPECTION_REQUIRED, Kind.HELD, Kind.ARRIVAL_HELD]
CENTS = Decimal("0.01")
# (stage, name, from, to): each stage is between two stored times of a declaration (the keys of stage_times'
# rows). The names are the report's and the export's column names (English, stable).
STAGES = [
    (SloStage.DECLARED_TO_DECIDED, "declared → checks decided", "declared_at", "checks_decided_at"),
    (SloStage.ARRIVAL_TO_CALLED, "arrival → called", "arrived_at", "called_at"),
    (SloStage.CALLED_TO_IN_LANE, "called → in lane", "called_at", "in_lane_at"),
    (SloStage.IN_LANE_TO_CROSSED, "in lane → crossed", "in_lane_at", "crossed_at"),
    (SloStage.ARRIVAL_TO_CROSSED, "arrival → crossed", "arrived_at", "crossed_at"),
]
STAGE_TIMES = {stage: (start, end) for stage, _name, start, end in STAGES}
PERCENTILES = (50, 95, 99)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it (PostgreSQL's
    ``percentile_disc``)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def minutes_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 60


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def outcome_of(declaration: Declaration) -> str:
    """crossed, rejected or cancelled; anything else is a vehicle left in between."""
    if declaration.stage == Stage.CROSSED:
        return Stage.CROSSED.value
    if declaration.status == Status.CANCELLED:
        return Status.CANCELLED.value
    if declaration.status == Status.REJECTED and declaration.stage in (Stage.EXPECTED, Stage.TURNED_BACK):
        return Status.REJECTED.value
    if declaration.stage == Stage.TURNED_BACK:
        return "turned back"
    return "in between"


def _first_event_at(kinds: list, declaration_ids) -> dict[int, datetime]:
    events = DeclarationEvent.objects.filter(event__in=kinds)
    if declaration_ids is not None:
        events = events.filter(declaration_id__in=declaration_ids)
    return dict(events.values("declaration_id").annotate(first=Min("at")).values_list("declaration_id", "first"))


def stage_times(declarations: QuerySet[Declaration] | None = None) -> list[dict]:
    """One row per declaration (all of them, or those of ``declarations``) with the time of each stage, as
    stored: the ``Declaration`` fields and the first decision and leaving events."""
    ids = None if declarations is None else declarations.values("id")
    declarations = Declaration.objects.all() if declarations is None else declarations
    decided = _first_event_at(DECISION_EVENTS, ids)
    left = _first_event_at(LEFT_EVENTS, ids)
    rows = []
    for declaration in (
        declarations.select_related("route", "lane", "yard", "company", "vehicle").order_by("id").iterator()
    ):
        rows.append(
            {
                "id": declaration.id,
                "reference": declaration.reference,
                "plate": declaration.vehicle.plate,
                "route": declaration.route.code,
                "direction": declaration.direction,
                "company": declaration.company.tax_code,
                "channel": declaration.channel or "",
                "status": declaration.status,
                "stage": declaration.stage,
                "outcome": outcome_of(declaration),
                "yard": declaration.yard.code if declaration.yard_id else "",
                "lane": declaration.lane.code if declaration.lane_id else "",
                "expected_arrival": declaration.expected_arrival,
                "declared_at": declaration.created_at,
                "checks_decided_at": decided.get(declaration.id),
                "arrived_at": declaration.arrived_at,
                "called_at": declaration.called_at,
                "in_lane_at": declaration.in_lane_at,
                "crossed_at": declaration.crossed_at,
                "left_at": left.get(declaration.id),
            }
        )
    return rows


def stage_figures(rows: list[dict]) -> dict:
    """Count, p50, p95, p99 and max in minutes of each stage, by the stage's name."""
    figures = {}
    for _stage, name, start, end in STAGES:
        values = [m for row in rows if (m := minutes_between(row[start], row[end])) is not None]
        figures[name] = {
            "count": len(values),
            **{f"p{p}": _round(percentile(values, p)) for p in PERCENTILES},
            "max": _round(max(values) if values else None),
        }
    return figures


def slos_in_force() -> list[ServiceLevelObjective]:
    return list(ServiceLevelObjective.objects.filter(is_active=True).order_by("id"))


def slo_attainment(rows: list[dict], slos: Iterable[ServiceLevelObjective]) -> list[dict]:
    """Each objective's percentile over the vehicles it covers, whether it is met (no vehicle measured yet:
    not judged, ``met`` None), and the share of those vehicles within the target."""
    out = []
    for slo in slos:
        start, end = STAGE_TIMES[slo.stage]
        values = [
            m
            for row in rows
            if (not slo.channel or row["channel"] == slo.channel)
            and (not slo.direction or row["direction"] == slo.direction)
            and (m := minutes_between(row[start], row[end])) is not None
        ]
        value = percentile(values, slo.percentile)
        out.append(
            {
                "id": slo.id,
                "name": slo.name,
                "stage": dict((stage, name) for stage, name, _s, _e in STAGES)[slo.stage],
                "percentile": slo.percentile,
                "target_minutes": slo.target_minutes,
                "channel": slo.channel,
                "direction": slo.direction,
                "count": len(values),
                "value_minutes": _round(value),
                "met": None if value is None else value <= slo.target_minutes,
                "within_target_share": _round(sum(v <= slo.target_minutes for v in values) / len(values))
                if values
                else None,
            }
        )
    return out


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A local calendar day (Asia/Ho_Chi_Minh) as an interval of aware datetimes."""
    start = datetime.combine(day, time.min, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


def live_day_slos(*, day: date) -> list[dict]:
    """The objectives' attainment over the vehicles that arrived in a yard on ``day`` (local), for the
    dashboard; their stages so far (a vehicle still waiting counts once it has the stage's end time)."""
    start, end = day_bounds(day)
    rows = stage_times(Declaration.objects.filter(Q(arrived_at__gte=start, arrived_at__lt=end)))
    return slo_attainment(rows, slos_in_force())


# --- The daily KPI export -----------------------------------------------------------------------------------

KPI_COLUMNS = [
    ("route", "route"),
    ("direction", "direction"),
    ("vehicles", "vehicles crossed"),
    ("containers", "containers crossed"),
    ("goods_value", "declared value of goods"),
    ("goods_currency", "currency"),
    ("goods_value_other_currencies", "declared value in other currencies"),
    *[(f"{stage}_p{p}", f"{name} p{p} (min)") for stage, name, _start, _end in STAGES for p in PERCENTILES],
    ("holds_by_reason", "holds by reason"),
    ("fees_issued", "fees issued"),
    ("fees_issued_vnd", "fees issued (VND)"),
    ("fees_paid", "fees paid"),
    ("fees_paid_vnd", "fees paid (VND)"),
    ("offline_gate_decisions", "offline gate decisions"),
]


def daily_kpis(*, day: date) -> list[dict]:
    """The province's figures for a local day, one row per route and direction (the routes' codes; both
    directions of every route that saw traffic, declared fees or barrier reads that day).

    - vehicles, containers and the declared value of goods: the vehicles that crossed that day (goods value
      summed per currency: ``goods_value`` in the route's most used currency, any other currency beside it);
    - stage percentiles: over those crossed vehicles' own stage times (nearest rank, minutes);
    - holds by reason: barrier holds read that day (by reason code, a read with several reasons counted under
      each), and the declarations' inspection, hold and early-arrival events of that day;
    - fees issued (issued that day) and paid (paid that day), count and VND;
    - offline gate decisions: barrier decisions a lane agent took without the centre, as recorded. The record
      has none yet (the offline lane agent is issue 15's), so the column is 0 until it does.
    """
    start, end = day_bounds(day)
    keys: set[tuple[str, str]] = set()
    crossed = Declaration.objects.filter(crossed_at__gte=start, crossed_at__lt=end)
    rows_by_key = defaultdict(list)
    for row in stage_times(crossed):
        rows_by_key[(row["route"], row["direction"])].append(row)
        keys.add((row["route"], row["direction"]))
    containers = Counter()
    for route, direction, n in (
        crossed.values_list("route__code", "direction").annotate(n=Count("containers")).order_by()
    ):
        containers[(route, direction)] += n
    values = defaultdict(Counter)
    for route, direction, currency, total in (
        GoodsLine.objects.filter(declaration__in=crossed)
        .values_list("declaration__route__code", "declaration__direction", "currency")
        .annotate(total=Sum("value"))
        .order_by()
    ):
        # To the cent, as the column is: SQLite's sum drops a whole number's decimal places.
        values[(route, direction)][currency] += Decimal(total).quantize(CENTS)
    holds = defaultdict(Counter)
    for route, lane_direction, direction, reasons in GateDecision.objects.filter(
        decision=GateDecision.Decision.HOLD, read_at__gte=start, read_at__lt=end
    ).values_list("lane__route__code", "lane__current_direction", "declaration__direction", "reasons"):
        key = (route, direction or lane_direction)
        keys.add(key)
        holds[key].update(f"barrier {reason}" for reason in reasons)
    for route, direction, kind, n in (
        DeclarationEvent.objects.filter(event__in=HOLD_EVENTS, at__gte=start, at__lt=end)
        .values_list("declaration__route__code", "declaration__direction", "event")
        .annotate(n=Count("id"))
        .order_by()
    ):
        keys.add((route, direction))
        holds[(route, direction)][kind] += n
    fees = defaultdict(Counter)
    for moment, prefix, status_filter in (
        ("issued_at", "issued", Q()),
        ("paid_at", "paid", Q(paid_at__isnull=False)),
    ):
        for route, direction, n, total in (
            Fee.objects.filter(status_filter, **{f"{moment}__gte": start, f"{moment}__lt": end})
            .values_list("declaration__route__code", "declaration__direction")
            .annotate(n=Count("id"), total=Sum("amount_vnd"))
            .order_by()
        ):
            keys.add((route, direction))
            fees[(route, direction)][prefix] += n
            fees[(route, direction)][f"{prefix}_vnd"] += total
    out = []
    for route, direction in sorted(keys):
        rows = rows_by_key[(route, direction)]
        currencies = values[(route, direction)].most_common()
        figures = stage_figures(rows)
        out.append(
            {
                "route": route,
                "direction": direction,
                "vehicles": len(rows),
                "containers": containers[(route, direction)],
                "goods_value": currencies[0][1] if currencies else 0,
                "goods_currency": currencies[0][0] if currencies else "",
                "goods_value_other_currencies": "; ".join(f"{currency} {total}" for currency, total in currencies[1:]),
                **{
                    f"{stage}_p{p}": figures[name][f"p{p}"] for stage, name, _start, _end in STAGES for p in PERCENTILES
                },
                "holds_by_reason": dict(sorted(holds[(route, direction)].items())),
                "fees_issued": fees[(route, direction)]["issued"],
                "fees_issued_vnd": fees[(route, direction)]["issued_vnd"],
                "fees_paid": fees[(route, direction)]["paid"],
                "fees_paid_vnd": fees[(route, direction)]["paid_vnd"],
                "offline_gate_decisions": 0,
            }
        )
    return out


def kpis_table(rows: list[dict]) -> tuple[list[str], list[list]]:
    """The export's header and cells: holds by reason as ``reason n; …`` (one cell)."""
    header = [title for _key, title in KPI_COLUMNS]
    cells = [
        [
            "; ".join(f"{reason} {n}" for reason, n in row[key].items()) if key == "holds_by_reason" else row[key]
            for key, _title in KPI_COLUMNS
        ]
        for row in rows
    ]
    return header, cells


def kpis_csv(rows: list[dict]) -> str:
    header, cells = kpis_table(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(cells)
    return buffer.getvalue()


def kpis_xlsx(rows: list[dict], *, day: date) -> bytes:
    """One sheet named after the day; numbers stay numbers (values as decimals, minutes as floats)."""
    header, cells = kpis_table(rows)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = f"KPIs {day.isoformat()}"
    sheet.append(header)
    for row in cells:
        sheet.append(row)
    sheet.freeze_panes = "C2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
