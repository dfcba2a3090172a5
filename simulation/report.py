"""The day read back from the database: every figure comes from the stage times the services stored
(``Declaration`` fields and ``DeclarationEvent`` timestamps), the inspections, barrier decisions and fees;
nothing from the simulation's own bookkeeping. Writes summary.json, stages.csv and a self-contained
report.html (inline SVG charts).
"""

from __future__ import annotations

import csv
import html
import json
import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from django.db.models import Min

from clearance import kpis
from clearance.models import DeclarationEvent, Fee, GateDecision, Inspection
from simulation.profiles import Profile
from simulation.traffic import LOCAL, day_start
from vehicles.models import Lane, Yard

Kind = DeclarationEvent.Kind
# (name, from, to): the stages measured, each between two stored times of a declaration (clearance.kpis).
STAGES = [(name, start, end) for _stage, name, start, end in kpis.STAGES]
percentile = kpis.percentile
stage_times = kpis.stage_times
outcome_of = kpis.outcome_of
stage_figures = kpis.stage_figures


def hourly_figures(rows: list[dict], *, start: datetime, to_day=None) -> list[dict]:
    """Per local hour from the day's midnight to the last crossing: arrivals, crossings, the yard queue per
    yard and the inspection backlog per force (open, its vehicle at the gate) at the hour's end, each lane's
    crossings against its capacity. ``rows`` are on the day's clock already; ``to_day`` takes the times read
    here to it (a paced run's)."""
    to_day = to_day or _same
    last = max([row[key] for row in rows for key in ("crossed_at", "left_at", "arrived_at") if row[key]] or [start])
    hours = max(24, math.ceil((last - start).total_seconds() / 3600))
    yards = list(
        Yard.objects.filter(code__in={row["yard"] for row in rows if row["yard"]}).values_list("code", flat=True)
    )
    lanes = {lane.code: lane.capacity_per_hour for lane in Lane.objects.all()}
    # An inspection is waiting for an officer once it is open and its vehicle is at the gate.
    inspections = [
        (force, to_day(max(created, arrived)), resolved and to_day(resolved))
        for force, created, resolved, arrived in Inspection.objects.values_list(
            "force", "created_at", "resolved_at", "declaration__arrived_at"
        )
        if arrived is not None
    ]
    first_call = {
        declaration_id: to_day(first)
        for declaration_id, first in DeclarationEvent.objects.filter(event=Kind.CALLED)
        .values("declaration_id")
        .annotate(first=Min("at"))
        .values_list("declaration_id", "first")
    }
    crossings_by_lane = defaultdict(Counter)
    for row in rows:
        if row["crossed_at"]:
            crossings_by_lane[int((row["crossed_at"] - start).total_seconds() // 3600)][row["lane"]] += 1
    out = []
    for hour in range(hours):
        begin, end = start + timedelta(hours=hour), start + timedelta(hours=hour + 1)
        queue = Counter()
        for row in rows:
            arrived = row["arrived_at"]
            if arrived is None or arrived >= end:
                continue
            called, left = first_call.get(row["id"]), row["left_at"]
            if (called is None or called >= end) and (left is None or left >= end):
                queue[row["yard"]] += 1
        backlog = Counter(
            force for force, created, resolved in inspections if created < end and (resolved is None or resolved >= end)
        )
        out.append(
            {
                "hour": hour,
                "local_time": begin.astimezone(LOCAL).strftime("%m-%d %H:00"),
                "arrivals": sum(1 for row in rows if row["arrived_at"] and begin <= row["arrived_at"] < end),
                "crossings": sum(1 for row in rows if row["crossed_at"] and begin <= row["crossed_at"] < end),
                "yard_queue": {yard: queue[yard] for yard in yards},
                "inspection_backlog": {force: backlog[force] for force in Inspection.Force.values},
                "lane_utilisation": {
                    code: round(crossings_by_lane[hour][code] / capacity, 3)
                    for code, capacity in sorted(lanes.items())
                    if crossings_by_lane[hour][code]
                },
            }
        )
    return out


def holds_figures() -> dict:
    gate = Counter()
    for reasons in GateDecision.objects.filter(decision=GateDecision.Decision.HOLD).values_list("reasons", flat=True):
        gate.update(reasons)
    events = Counter(
        DeclarationEvent.objects.filter(event__in=[Kind.HELD, Kind.ARRIVAL_HELD, Kind.INSPECTION_REQUIRED])
        .values_list("event", flat=True)
        .iterator()
    )
    inspections = Counter(
        f"{force}/{kind}" for force, kind in Inspection.objects.values_list("force", "kind").iterator()
    )
    return {
        "gate": dict(sorted(gate.items())),
        "declarations": {kind: events[kind] for kind in (Kind.INSPECTION_REQUIRED, Kind.HELD, Kind.ARRIVAL_HELD)},
        "inspections_by_force_and_kind": dict(sorted(inspections.items())),
    }


def fee_figures() -> dict:
    fees = list(Fee.objects.values_list("status", "amount_vnd"))
    paid = [amount for status, amount in fees if status == Fee.Status.PAID]
    return {
        "issued": len(fees),
        "issued_vnd": sum(amount for _status, amount in fees),
        "paid": len(paid),
        "paid_vnd": sum(paid),
        "by_status": dict(sorted(Counter(status for status, _amount in fees).items())),
    }


def day_clock(run: dict):
    """The function that takes a stored (real) time of a paced run to the simulated day's clock, from the
    run's metadata (simulation.paced.RealClock); None for a virtual-clock run, whose stored times are the day's."""
    speed = run.get("speed")
    if not isinstance(speed, int | float):
        return None
    real_start = datetime.fromisoformat(run["real_start"])
    simulated_start = datetime.fromisoformat(run["simulated_start"])
    return lambda moment: simulated_start + (moment - real_start) * speed


def _same(moment: datetime) -> datetime:
    return moment


def rows_on_day_clock(rows: list[dict], to_day) -> list[dict]:
    """The stage times of a paced run taken to the simulated day's clock (real durations × speed)."""
    if to_day is None:
        return rows
    return [
        {key: to_day(value) if isinstance(value, datetime) else value for key, value in row.items()} for row in rows
    ]


def summary_build(*, profile: Profile, rows: list[dict], seed: int, extra: dict | None = None, to_day=None) -> dict:
    """``rows`` as stored; a paced run's ``to_day`` takes their times to the simulated day's clock first."""
    rows = rows_on_day_clock(rows, to_day)
    outcomes = Counter(row["outcome"] for row in rows)
    return {
        "profile": profile.name,
        "seed": seed,
        "day": profile.day.isoformat(),
        "vehicles": len(rows),
        "outcomes": dict(sorted(outcomes.items())),
        "in_between": outcomes.get("in between", 0),
        "by_route_and_direction": dict(sorted(Counter(f"{row['route']} {row['direction']}" for row in rows).items())),
        "channels": dict(sorted(Counter(row["channel"] or "none" for row in rows).items())),
        "stages_minutes": "count, p50, p95, p99 and max of each stage in minutes, nearest-rank percentiles",
        "stages": stage_figures(rows),
        "hourly": hourly_figures(rows, start=day_start(profile), to_day=to_day),
        # The objectives in force in the day's database, judged on the same stored times.
        "slos": kpis.slo_attainment(rows, kpis.slos_in_force()),
        "holds": holds_figures(),
        "gate_holds_by_reason": dict(holds_figures()["gate"]),
        "fees": fee_figures(),
        **(extra or {}),
    }


CSV_FIELDS = [
    "reference",
    "plate",
    "route",
    "direction",
    "company",
    "channel",
    "status",
    "stage",
    "outcome",
    "yard",
    "lane",
    "expected_arrival",
    "declared_at",
    "checks_decided_at",
    "arrived_at",
    "called_at",
    "in_lane_at",
    "crossed_at",
    "left_at",
]


def stages_csv_write(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}
            )


def report_write(*, profile: Profile, result, out: Path, wall_seconds: float) -> dict:
    rows = stage_times()
    to_day = day_clock(result.clock)
    summary = summary_build(
        profile=profile,
        rows=rows,
        seed=result.seed,
        to_day=to_day,
        extra={
            "run": result.clock,
            "wall_seconds": round(wall_seconds, 1),
            "simulated_from": result.started_at.isoformat(),
            "simulated_until": result.ended_at.isoformat(),
            "closed_at_horizon": result.closed_at_horizon,
        },
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    stages_csv_write(rows_on_day_clock(rows, to_day), out / "stages.csv")
    (out / "report.html").write_text(report_html(summary, profile), encoding="utf-8")
    return summary


# --- The HTML report ---------------------------------------------------------------------------------------

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def svg_lines(title: str, labels: list[str], series: dict[str, list[float]], *, width=900, height=260) -> str:
    """A line chart as inline SVG: one polyline per series, hours along the bottom."""
    left, bottom, top, right = 50, 40, 30, 160
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(values) for values in series.values() if values] + [1])
    n = max(1, len(labels) - 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}"><text x="{left}" y="18" font-weight="bold">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
    ]
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" font-size="10">{value:.0f}</text>')
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="#eee"/>')
    step = max(1, len(labels) // 12)
    for i in range(0, len(labels), step):
        x = left + plot_w * i / n
        parts.append(
            f'<text x="{x}" y="{top + plot_h + 14}" text-anchor="middle" font-size="9">{html.escape(labels[i])}</text>'
        )
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(
            f"{left + plot_w * i / n:.1f},{top + plot_h - plot_h * v / peak:.1f}" for i, v in enumerate(values)
        )
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<rect x="{width - right + 10}" y="{top + 16 * k}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{width - right + 24}" y="{top + 16 * k + 9}" font-size="11">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(summary: dict, profile: Profile) -> str:
    hourly = summary["hourly"]
    labels = [hour["local_time"][-5:] for hour in hourly]
    flow = svg_lines(
        "Vehicles per hour (local time)",
        labels,
        {"arrivals": [h["arrivals"] for h in hourly], "crossings": [h["crossings"] for h in hourly]},
    )
    yards = sorted({yard for h in hourly for yard in h["yard_queue"]})
    queue = svg_lines(
        "Yard queue at the end of each hour", labels, {y: [h["yard_queue"].get(y, 0) for h in hourly] for y in yards}
    )
    forces = Inspection.Force.values
    backlog = svg_lines(
        "Open inspections at the end of each hour",
        labels,
        {f: [h["inspection_backlog"].get(f, 0) for h in hourly] for f in forces},
    )
    lanes = sorted({lane for h in hourly for lane in h["lane_utilisation"]})
    utilisation = svg_lines(
        "Lane use: crossings per hour / capacity per hour",
        labels,
        {lane: [100 * h["lane_utilisation"].get(lane, 0) for h in hourly] for lane in lanes},
    )
    stages = _table(
        ["stage", "count", "p50 min", "p95 min", "p99 min", "max min"],
        [[name, f["count"], f["p50"], f["p95"], f["p99"], f["max"]] for name, f in summary["stages"].items()],
    )
    slos = _table(
        ["objective", "stage", "percentile", "target min", "vehicles", "value min", "met", "share within target"],
        [
            [
                slo["name"],
                slo["stage"],
                f"p{slo['percentile']}",
                slo["target_minutes"],
                slo["count"],
                slo["value_minutes"],
                {True: "yes", False: "NO", None: "no vehicle"}[slo["met"]],
                slo["within_target_share"],
            ]
            for slo in summary["slos"]
        ],
    )
    holds = _table(["barrier hold reason", "reads held"], [[k, v] for k, v in summary["holds"]["gate"].items()])
    decl_holds = _table(["declaration event", "count"], [[k, v] for k, v in summary["holds"]["declarations"].items()])
    inspections = _table(
        ["inspection (force/kind)", "count"],
        [[k, v] for k, v in summary["holds"]["inspections_by_force_and_kind"].items()],
    )
    fees = summary["fees"]
    fee_table = _table(
        ["fees", "count", "VND"],
        [["issued", fees["issued"], f"{fees['issued_vnd']:,}"], ["paid", fees["paid"], f"{fees['paid_vnd']:,}"]]
        + [[f"status {k}", v, ""] for k, v in fees["by_status"].items()],
    )
    hourly_table = _table(
        ["hour", "arrivals", "crossings", "yard queue", "inspection backlog"],
        [
            [
                h["local_time"],
                h["arrivals"],
                h["crossings"],
                ", ".join(f"{k} {v}" for k, v in h["yard_queue"].items()),
                ", ".join(f"{k} {v}" for k, v in h["inspection_backlog"].items()),
            ]
            for h in hourly
        ],
    )
    outcomes = ", ".join(f"{k}: {v}" for k, v in summary["outcomes"].items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smartgate: simulated day {html.escape(summary["profile"])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#f3f3f3}}
td:first-child{{text-align:left}}</style>
</head><body>
<h1>Simulated day: {html.escape(summary["profile"])} (seed {summary["seed"]})</h1>
<p>{html.escape(profile.description)}</p>
<p>Day {summary["day"]} (local time, UTC+7). {summary["vehicles"]} vehicles declared; outcomes: {html.escape(outcomes)};
left in between: <b>{summary["in_between"]}</b>. Simulated until {html.escape(summary.get("simulated_until", ""))};
wall time {summary.get("wall_seconds", "")} s. Channels: {html.escape(str(summary["channels"]))}.</p>
<p>Every figure is read back from the database the services wrote (declaration stage times and audit events).
Speed {html.escape(str(summary.get("run", {}).get("speed", "max")))}; clock:
{html.escape(summary.get("run", {}).get("clock", "virtual"))}.</p>
<h2>Stages</h2>{stages}
<h2>Service-level objectives (those in force in the day's database)</h2>{slos}
<h2>Per hour</h2>{flow}{queue}{backlog}{utilisation}
<h2>Holds</h2>{holds}{decl_holds}{inspections}
<h2>Fees</h2>{fee_table}
<h2>Hour by hour</h2>{hourly_table}
</body></html>
"""
