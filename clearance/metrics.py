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


WEBHOOK_ATTEMPTS = Counter(
    "smartgate_webhook_attempts_total",
    "Webhook delivery attempts, by outcome: delivered (2xx), gone (410), refused (another status), error "
    "(no answer: timeout, connection, a target refused at delivery).",
    ["outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "smartgate_webhook_attempt_seconds",
    "How long a receiver took to answer a delivery attempt.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def webhook_attempt_count(*, status_code: int | None, latency_ms: int) -> None:
    if status_code is None:
        outcome = "error"
    elif 200 <= status_code < 300:
        outcome = "delivered"
    else:
        outcome = "gone" if status_code == 410 else "refused"
    WEBHOOK_ATTEMPTS.labels(outcome=outcome).inc()
    WEBHOOK_LATENCY.observe(latency_ms / 1000)


def gate_decision_count(*, decision: str, reasons: list[str]) -> None:
    for reason in reasons or ["none"]:
        GATE_DECISIONS.labels(decision=decision, reason=reason).inc()


def check_finished_count(*, kind: str, outcome: str, started_at, finished_at) -> None:
    CHECKS_FINISHED.labels(kind=kind, outcome=outcome or "none").inc()
    if started_at and finished_at:
        CHECK_DURATION.labels(kind=kind).observe((finished_at - started_at).total_seconds())
