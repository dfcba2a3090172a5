"""Reads for the officers' console: each role's work queue and a declaration's one-page sheet.

Selectors like clearance/selectors.py (kept apart so the console's reads stay in one place). Every
queue is a fixed number of queries whatever its length: rows come with their vehicle, company, yard and
lane in one join, their goods lines in one prefetch; tests/clearance/test_console.py counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from clearance.models import (
    Check,
    Container,
    CustomsDeclaration,
    Declaration,
    DeclarationEvent,
    Fee,
    GoodsLine,
    Inspection,
    LaneCall,
)
from vehicles.models import LOCAL_TZ, Direction, Lane, Route, Yard, local_date

QUEUE_LIMIT = 100
# Reason codes the border guard's check gives for a watchlist match (clearance/engines/border_guard.py).
WATCHLIST_REASONS = {"driver_watchlisted", "vehicle_watchlisted"}
ACTIVE_STAGES = [
    Declaration.Stage.EXPECTED,
    Declaration.Stage.IN_YARD,
    Declaration.Stage.CALLED,
    Declaration.Stage.IN_LANE,
]
OPEN_STATUSES = [
    Declaration.Status.SUBMITTED,
    Declaration.Status.CHECKING,
    Declaration.Status.INSPECTION,
    Declaration.Status.CLEARED,
    Declaration.Status.HELD,
]


@dataclass
class WorkRow:
    """One line of a work queue: which truck, whose, carrying what, why it is there, since when."""

    declaration: Declaration
    reasons: list[dict]
    since: datetime | None
    inspection: Inspection | None = None
    now: datetime = field(default_factory=timezone.now)

    @property
    def plate(self) -> str:
        return self.declaration.vehicle.plate

    @property
    def company(self) -> str:
        return self.declaration.company.name

    @property
    def goods(self) -> list[GoodsLine]:
        return list(self.declaration.goods.all())

    @property
    def perishable(self) -> bool:
        chapters = set(settings.SMARTGATE_PERISHABLE_CHAPTERS)
        return any(line.hs_code[:2] in chapters for line in self.goods)

    @property
    def waiting_minutes(self) -> int | None:
        if self.since is None:
            return None
        return max(0, int((self.now - self.since).total_seconds() // 60))


def _declarations() -> QuerySet[Declaration]:
    return Declaration.objects.select_related("vehicle", "company", "yard", "lane", "route").prefetch_related(
        Prefetch("goods", queryset=GoodsLine.objects.order_by("id"))
    )


def _waiting_since(declaration: Declaration, fallback: datetime | None) -> datetime | None:
    # A truck at the gate waits from its arrival; one still on the road, from the work's creation.
    return declaration.arrived_at or fallback


def open_inspections(
    *, forces: list[str], kinds: list[str] | None = None, now: datetime | None = None
) -> list[WorkRow]:
    """Open inspections of ``forces`` (and ``kinds``), trucks at the gate first, then oldest first."""
    now = now or timezone.now()
    queryset = Inspection.objects.filter(status=Inspection.Status.OPEN, force__in=forces)
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    inspections = list(
        queryset.select_related("declaration__vehicle", "declaration__company", "declaration__yard")
        .prefetch_related(Prefetch("declaration__goods", queryset=GoodsLine.objects.order_by("id")))
        .order_by("declaration__arrived_at", "created_at", "id")[:QUEUE_LIMIT]
    )
    return [
        WorkRow(
            declaration=inspection.declaration,
            reasons=list(inspection.reasons or []),
            since=_waiting_since(inspection.declaration, inspection.created_at),
            inspection=inspection,
            now=now,
        )
        for inspection in inspections
    ]


def held_declarations(*, now: datetime | None = None) -> list[WorkRow]:
    """Held crossings a supervisor releases or rejects, with the failed inspection's notes as reasons."""
    now = now or timezone.now()
    held = list(
        _declarations()
        .filter(status=Declaration.Status.HELD)
        .prefetch_related(
            Prefetch(
                "inspections",
                queryset=Inspection.objects.filter(status=Inspection.Status.FAILED).order_by("-resolved_at"),
                to_attr="failed_inspections",
            )
        )
        .order_by("updated_at", "id")[:QUEUE_LIMIT]
    )
    rows = []
    for declaration in held:
        reasons = []
        for inspection in declaration.failed_inspections:
            reasons.extend(inspection.reasons or [])
            if inspection.notes:
                reasons.append({"code": DeclarationEvent.Kind.INSPECTION_FAILED, "message": inspection.notes})
        rows.append(WorkRow(declaration=declaration, reasons=reasons, since=declaration.updated_at, now=now))
    return rows


def watchlist_hits(*, now: datetime | None = None) -> list[WorkRow]:
    """Active crossings whose latest border-guard check matched the watchlist (a flag or a denial)."""
    now = now or timezone.now()
    checks = list(
        Check.objects.filter(
            kind=Check.Kind.BORDER_GUARD,
            status=Check.Status.DONE,
            outcome__in=[Check.Outcome.FLAG, Check.Outcome.DENY],
            declaration__stage__in=ACTIVE_STAGES,
            declaration__status__in=[*OPEN_STATUSES, Declaration.Status.REJECTED],
        )
        .select_related("declaration__vehicle", "declaration__company", "declaration__yard")
        .prefetch_related(Prefetch("declaration__goods", queryset=GoodsLine.objects.order_by("id")))
        .order_by("-finished_at", "-id")[: QUEUE_LIMIT * 2]
    )
    rows, seen = [], set()
    for check in checks:
        if check.version != check.declaration.version or check.declaration_id in seen:
            continue
        hits = [reason for reason in check.reasons or [] if reason.get("code") in WATCHLIST_REASONS]
        if hits:
            seen.add(check.declaration_id)
            rows.append(
                WorkRow(
                    declaration=check.declaration,
                    reasons=hits,
                    since=_waiting_since(check.declaration, check.finished_at),
                    now=now,
                )
            )
    return rows[:QUEUE_LIMIT]


def certificates_to_check(*, now: datetime | None = None) -> list[WorkRow]:
    """Crossings of agri-food goods expected or waiting at the gate today, each with its certificates."""
    now = now or timezone.now()
    day_end = datetime.combine(local_date(now) + timedelta(days=1), time.min, tzinfo=LOCAL_TZ)
    declarations = list(
        _declarations()
        .filter(
            needs_quarantine=True,
            stage__in=[Declaration.Stage.EXPECTED, Declaration.Stage.IN_YARD],
            status__in=OPEN_STATUSES,
            expected_arrival__lt=day_end,
        )
        .prefetch_related("quarantine_certificates")
        .order_by("expected_arrival", "id")[:QUEUE_LIMIT]
    )
    rows = []
    for declaration in declarations:
        reasons = [
            {
                "code": "certificate_on_file",
                "message": f"{certificate.number} ({certificate.issued_on} – {certificate.expires_on})",
            }
            for certificate in declaration.quarantine_certificates.all()
        ] or [{"code": "certificate_missing", "message": ""}]
        rows.append(WorkRow(declaration=declaration, reasons=reasons, since=declaration.arrived_at, now=now))
    return rows


def called_vehicles(*, now: datetime | None = None) -> tuple[list[WorkRow], int]:
    """Vehicles called to a lane and not yet in it, longest called first; and how many are overdue (not at
    their lane within ``SMARTGATE_CALL_TIMEOUT_MINUTES``: the dispatcher's sweep sends them back)."""
    now = now or timezone.now()
    deadline = now - timedelta(minutes=settings.SMARTGATE_CALL_TIMEOUT_MINUTES)
    called = list(_declarations().filter(stage=Declaration.Stage.CALLED).order_by("called_at", "id")[:QUEUE_LIMIT])
    rows = []
    overdue = 0
    for declaration in called:
        late = declaration.called_at is not None and declaration.called_at < deadline
        overdue += late
        code = "call_overdue" if late else Declaration.Stage.CALLED
        rows.append(
            WorkRow(
                declaration=declaration,
                reasons=[{"code": code, "message": declaration.lane.code if declaration.lane else ""}],
                since=declaration.called_at,
                now=now,
            )
        )
    return rows, overdue


def yard_queues(*, now: datetime | None = None) -> list[dict]:
    """Each yard's waiting vehicles, perishable ones among them, and the longest wait: one query."""
    now = now or timezone.now()
    chapters = list(settings.SMARTGATE_PERISHABLE_CHAPTERS)
    perishable = Q(declarations__goods__hs_code__regex=rf"^({'|'.join(chapters)})") if chapters else Q(pk__in=[])
    waiting = Q(declarations__stage=Declaration.Stage.IN_YARD)
    yards = (
        Yard.objects.select_related("route")
        .annotate(
            waiting=Count("declarations", filter=waiting, distinct=True),
            perishable=Count("declarations", filter=waiting & perishable, distinct=True),
            oldest=Min("declarations__arrived_at", filter=waiting),
        )
        .order_by("code")
    )
    return [
        {
            "yard": yard,
            "waiting": yard.waiting,
            "perishable": yard.perishable,
            "longest_minutes": int((now - yard.oldest).total_seconds() // 60) if yard.oldest else None,
            "capacity": yard.capacity,
        }
        for yard in yards
    ]


def lanes_at_a_glance(*, now: datetime | None = None) -> list[dict]:
    """Every lane of the smart-gate routes: open or closed, direction, called and in lane, calls this hour."""
    now = now or timezone.now()
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    lanes = (
        Lane.objects.filter(route__is_smart_gate=True)
        .select_related("route")
        .annotate(
            n_called=Count("declarations", filter=Q(declarations__stage=Declaration.Stage.CALLED), distinct=True),
            n_in_lane=Count("declarations", filter=Q(declarations__stage=Declaration.Stage.IN_LANE), distinct=True),
        )
        .order_by("route__code", "code")
    )
    calls = dict(
        LaneCall.objects.filter(called_at__gte=hour_start).values_list("lane_id").annotate(n=Count("id")).order_by()
    )
    return [
        {
            "lane": lane,
            "within_hours": lane.is_within_hours(now),
            "vehicles_called": lane.n_called,
            "vehicles_in_lane": lane.n_in_lane,
            "calls_this_hour": calls.get(lane.id, 0),
        }
        for lane in lanes
    ]


def ageing(rows: list[WorkRow]) -> dict:
    """How old a queue's work is: count, the oldest, and how many wait over 30 and 60 minutes."""
    minutes = [row.waiting_minutes for row in rows if row.waiting_minutes is not None]
    return {
        "count": len(rows),
        "oldest": max(minutes) if minutes else None,
        "over_30": sum(1 for m in minutes if m >= 30),
        "over_60": sum(1 for m in minutes if m >= 60),
    }


# --- A declaration on one page ---------------------------------------------------------------------

# The stages of a crossing in order, with the field that says when each was reached.
TIMELINE = [
    (DeclarationEvent.Kind.SUBMITTED, "created_at"),
    (Declaration.Stage.IN_YARD, "arrived_at"),
    (Declaration.Stage.CALLED, "called_at"),
    (Declaration.Stage.IN_LANE, "in_lane_at"),
    (Declaration.Stage.CROSSED, "crossed_at"),
]


def declaration_sheet(*, declaration_id: int, now: datetime | None = None) -> dict:
    """Everything the declaration page shows, in a fixed number of queries."""
    now = now or timezone.now()
    declaration = (
        Declaration.objects.select_related("vehicle", "trailer", "driver", "company", "route", "yard", "lane")
        .prefetch_related(
            Prefetch("goods", queryset=GoodsLine.objects.order_by("id")),
            Prefetch("containers", queryset=Container.objects.filter(is_active=True).order_by("id")),
            Prefetch("customs_declarations", queryset=CustomsDeclaration.objects.filter(is_active=True).order_by("id")),
            "quarantine_certificates",
            Prefetch("checks", queryset=Check.objects.order_by("-version", "kind")),
            Prefetch("inspections", queryset=Inspection.objects.select_related("resolved_by").order_by("id")),
            Prefetch("events", queryset=DeclarationEvent.objects.order_by("seq")),
        )
        .get(id=declaration_id)
    )
    fee = Fee.objects.filter(declaration_id=declaration_id).select_related("tariff").first()
    events = list(declaration.events.all())
    decided_at = next(
        (
            event.at
            for event in events
            if event.event
            in {
                DeclarationEvent.Kind.CLEARED,
                DeclarationEvent.Kind.INSPECTION_REQUIRED,
                DeclarationEvent.Kind.REJECTED,
            }
        ),
        None,
    )
    steps = [(DeclarationEvent.Kind.SUBMITTED, declaration.created_at), ("decided", decided_at)] + [
        (stage, getattr(declaration, attribute)) for stage, attribute in TIMELINE[1:]
    ]
    timeline = []
    reached = [(name, at) for name, at in steps if at is not None]
    for index, (name, at) in enumerate(steps):
        following = next((later for later_name, later in steps[index + 1 :] if later is not None), None)
        dwell_end = following if following is not None else (now if at is not None and name == reached[-1][0] else None)
        timeline.append(
            {
                "step": name,
                "at": at,
                "dwell_minutes": int((dwell_end - at).total_seconds() // 60) if at and dwell_end else None,
            }
        )
    checks = [check for check in declaration.checks.all() if check.version == declaration.version]
    return {
        "declaration": declaration,
        "timeline": timeline,
        "checks": checks,
        "older_checks": [check for check in declaration.checks.all() if check.version != declaration.version],
        "inspections": list(declaration.inspections.all()),
        "fee": fee,
        "events": events,
        "goods": list(declaration.goods.all()),
        "containers": list(declaration.containers.all()),
        "customs_numbers": list(declaration.customs_declarations.all()),
        "certificates": list(declaration.quarantine_certificates.all()),
        "perishable": any(
            line.hs_code[:2] in set(settings.SMARTGATE_PERISHABLE_CHAPTERS) for line in declaration.goods.all()
        ),
    }


def smart_routes() -> QuerySet[Route]:
    return Route.objects.filter(is_smart_gate=True).order_by("code")


def hourly_figures(*, now: datetime | None = None) -> list[dict]:
    """Today's hours at the gate (local time), up to the current one: vehicles crossed in each hour and the
    yards' backlog at its end (arrived, not yet called or turned back). Two queries whatever the traffic."""
    now = now or timezone.now()
    day_start = datetime.combine(local_date(now), time.min, tzinfo=LOCAL_TZ)
    hours = int((now - day_start).total_seconds() // 3600) + 1
    ends = [day_start + timedelta(hours=h + 1) for h in range(hours)]
    crossed = [0] * hours
    for at in Declaration.objects.filter(crossed_at__gte=day_start, crossed_at__lte=now).values_list(
        "crossed_at", flat=True
    ):
        crossed[min(hours - 1, int((at - day_start).total_seconds() // 3600))] += 1
    backlog = [0] * hours
    stays = Declaration.objects.filter(arrived_at__isnull=False, arrived_at__lt=ends[-1]).filter(
        Q(stage=Declaration.Stage.IN_YARD)
        | Q(called_at__gte=day_start)
        | Q(called_at__isnull=True, updated_at__gte=day_start)
    )
    for arrived, called, stage, updated in stays.values_list("arrived_at", "called_at", "stage", "updated_at"):
        # Left the yard: called (the call time), or turned back from it (its last change).
        left = called if called and called >= arrived else (updated if stage == Declaration.Stage.TURNED_BACK else None)
        for index, end in enumerate(ends):
            if arrived < end and (left is None or left >= end):
                backlog[index] += 1
    return [
        {"hour": (end - timedelta(hours=1)).astimezone(LOCAL_TZ).hour, "crossings": crossed[i], "backlog": backlog[i]}
        for i, end in enumerate(ends)
    ]


def route_directions() -> list[tuple[str, str]]:
    """Every smart-gate route in both directions, so a dashboard shows a quiet one as 0, not as nothing."""
    return [(route.code, direction) for route in smart_routes() for direction in Direction.values]
