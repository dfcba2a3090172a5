"""The gate's own Prometheus counters, which services increment where the thing counted happens.

Only prometheus-client is imported here, so any layer of clearance may count. The project exports them
at /metrics (smartgate.metrics), with the request latencies and the figures read from the database at
scrape time (queue lengths per yard, checks outstanding).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

GATE_DECISIONS = Counter(
    "smartgate_gate_decisions_total",
    "Barrier decisions: open (reason none), or hold counted once per hold reason.",
    ["decision", "reason"],
)
CHECKS_FINISHED = Counter(
    "smartgate_checks_finished_total", "Checks finished, by kind and outcome.", ["kind", "outcome"]
)
CHECK_DURATION = Histogram(
    "smartgate_check_duration_seconds",
    "From a check's start to its outcome, by kind.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def gate_decision_count(*, decision: str, reasons: list[str]) -> None:
    for reason in reasons or ["none"]:
        GATE_DECISIONS.labels(decision=decision, reason=reason).inc()


def check_finished_count(*, kind: str, outcome: str, started_at, finished_at) -> None:
    CHECKS_FINISHED.labels(kind=kind, outcome=outcome or "none").inc()
    if started_at and finished_at:
        CHECK_DURATION.labels(kind=kind).observe((finished_at - started_at).total_seconds())
