"""Checks pipeline throughput: real Celery workers decide declarations; prints figures, asserts nothing.

    .venv/bin/python bench/checks_pipeline.py --declarations 600 --paced 300 --rate 40 --workers 1 --concurrency 2

Needs PostgreSQL and Redis on 127.0.0.1 (its own database, BENCH_DATABASE_URL, default smartgate_bench, and
Redis db, BENCH_REDIS_URL, default db 14). Three measurements, one run:

1. **queries**: the checks of a few declarations run in this process under Django's query capture: SQL
   statements per check run (by kind), for the decision (the last check's run less a plain run of the
   same kind) and per declaration, without transaction control (also given with it, per declaration).
2. **backlog**: the workers start, listening on a queue nothing is sent to; ``--declarations``
   declarations are submitted through the API (their check messages wait in Redis); then the workers are
   told to consume the check queues, and drain them. Throughput is declarations decided per second from
   the first check claimed to the last decision (both read from the database), so neither the submits
   nor the workers' start-up count. The CPU each declaration cost the workers (and of that, their main
   processes: Celery's consumer), PostgreSQL and Redis is read from /proc over the drain
   (``bench/cpu.py``), with the ceiling it sets: the declarations a second the machine's cores could
   decide if they did nothing else.
3. **paced**: with the workers running, ``--paced`` declarations are submitted at ``--rate`` a second
   (or as fast as this one in-process API client manages, which is said), and the latency declared →
   decided (the audit trail's ``submitted`` and decision events) is reported at p50/p95/p99.

``--json`` adds one line with every figure, for ``make bench``.
"""

import argparse
import json
import os
import signal
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_REDIS_URL, percentile, setup_django, start_workers  # noqa: E402
from bench.cpu import CpuMeter  # noqa: E402

CHECK_QUEUES = "default,customs,border_guard,quarantine,health"
# Where the workers listen until the backlog is in: no message is ever sent to it.
IDLE_QUEUE = "bench_idle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=600, help="backlog drained by the workers")
    parser.add_argument("--paced", type=int, default=300, help="declarations submitted at --rate with workers up")
    parser.add_argument("--rate", type=float, default=40.0, help="paced submissions per second (0: as fast as it can)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--queues", default=CHECK_QUEUES, help=f"queues the workers consume (default {CHECK_QUEUES}; add webhooks)"
    )
    parser.add_argument("--json", action="store_true", help="also print one JSON line with every figure")
    args = parser.parse_args()

    setup_django(broker=True)
    import redis
    from django.db.models import Min
    from django.utils import timezone
    from rest_framework.test import APIClient

    from clearance.models import Check, Declaration, RiskSettings
    from clearance.services.companies import api_key_create, company_create

    flush = redis.Redis.from_url(BENCH_REDIS_URL).flushdb
    flush()
    RiskSettings.current()
    company = company_create(tax_code_text="0101234565", name="Bench Logistics")
    _key, key = api_key_create(company=company, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    arrival = timezone.now() + timedelta(hours=24)
    counter = iter(range(10**6))

    def submit() -> int:
        response = client.post("/api/v1/declarations/", body(next(counter), arrival), format="json")
        assert response.status_code == 201, response.content[:500]
        return response.json()["id"]

    figures: dict = {"workers": args.workers, "concurrency": args.concurrency, "queues": args.queues}

    # 1. Queries, in this process (the messages these submits sent are dropped: the checks run here).
    queries = measure_queries([submit() for _ in range(7)])
    flush()
    figures["queries"] = queries

    # 2. Backlog drained by the workers. They start first, on a queue nothing is sent to, so that their
    # start-up (Django's imports, the pool's fork) is out of the CPU they are measured by.
    workers = start_workers(args.workers, args.concurrency, queues=IDLE_QUEUE)
    try:
        names = wait_ready(len(workers))
        backlog = [submit() for _ in range(args.declarations)]
        meter = CpuMeter(*(worker.pid for worker in workers))
        consume(names, args.queues)
        wait_decided(backlog)
        cpu = meter.read(len(backlog))
        first_claim = Check.objects.filter(declaration_id__in=backlog).aggregate(first=Min("started_at"))["first"]
        decided_at = decision_times(backlog)
        drain_seconds = (max(decided_at.values()) - first_claim).total_seconds()
        figures["backlog"] = {
            "declarations": len(backlog),
            "seconds": round(drain_seconds, 2),
            "decided_per_second": round(len(backlog) / drain_seconds, 1),
            "checks_per_second": round(Check.objects.filter(declaration_id__in=backlog).count() / drain_seconds, 1),
        }
        if cpu is not None:
            figures["backlog"]["cpu_ms_per_declaration"] = {
                "workers": round(cpu.server, 2),
                "workers_main": round(cpu.server_main, 2),
                "postgresql": round(cpu.postgresql, 2),
                "redis": round(cpu.redis, 2),
                "this_process": round(cpu.client, 2),
                "cores_busy": round(cpu.cores_busy, 2),
                "stolen": round(cpu.stolen, 3),
            }
            # What the machine's cores could decide if they did nothing else: the pipeline's ceiling; and if
            # the checks' own code (the pool processes) cost nothing, leaving Celery's consumer, PostgreSQL
            # and Redis: what bounds the pipeline whatever the checks do.
            cores = os.cpu_count() or 1
            figures["backlog"]["ceiling_per_second"] = round(
                1000 * cores / (cpu.server + cpu.postgresql + cpu.redis), 1
            )
            figures["backlog"]["ceiling_without_pool_per_second"] = round(
                1000 * cores / (cpu.server_main + cpu.postgresql + cpu.redis), 1
            )

        # 3. Paced submissions with the workers up: latency declared -> decided.
        paced, started = [], time.perf_counter()
        for index in range(args.paced):
            if args.rate:
                delay = started + index / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            paced.append(submit())
        submit_seconds = time.perf_counter() - started
        wait_decided(paced)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
    if paced:
        submitted_at = event_times(paced, "submitted")
        decided_at = decision_times(paced)
        latencies = [(decided_at[i] - submitted_at[i]).total_seconds() * 1000 for i in paced]
        figures["paced"] = {
            "declarations": len(paced),
            "rate_asked": args.rate,
            "rate_submitted": round(len(paced) / submit_seconds, 1),
            "latency_ms": {
                "p50": round(percentile(latencies, 0.50)),
                "p95": round(percentile(latencies, 0.95)),
                "p99": round(percentile(latencies, 0.99)),
                "max": round(max(latencies)),
            },
        }
    figures["outcomes"] = dict(
        Counter(Declaration.objects.filter(id__in=backlog + paced).values_list("status", flat=True))
    )
    report(figures)
    if args.json:
        print(json.dumps(figures))


def wait_ready(count: int, timeout: float = 60) -> list[str]:
    """The names of the ``count`` workers once each answers a ping (it has connected to the broker)."""
    from smartgate.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = app.control.ping(timeout=1.0)
        if len(answers) >= count:
            return [name for answer in answers for name in answer]
    sys.exit(f"the workers did not answer within {timeout:.0f} s")


def consume(names: list[str], queues: str) -> None:
    """Have the workers ``names`` consume ``queues`` (Celery's remote control: each confirms)."""
    from smartgate.celery import app

    for queue in queues.split(","):
        replies = app.control.add_consumer(queue, destination=names, reply=True, timeout=5.0)
        if len(replies) < len(names):
            sys.exit(f"not every worker confirmed consuming {queue}: {replies}")


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def measure_queries(declaration_ids: list[int]) -> dict:
    """Run each declaration's checks here, in the order customs, border guard, quarantine, rotated so that
    each kind is the last (deciding) one in turn; count the SQL statements of each run, without the
    transaction control (BEGIN, COMMIT, savepoints) that issue 18's figures did not count either. The first
    declaration only warms the worker's reference data and is not counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clearance.models import Check
    from clearance.services.checks import check_run

    plain: dict[str, list[int]] = defaultdict(list)
    last: dict[str, list[int]] = defaultdict(list)
    totals, with_transactions = [], []
    kinds = list(Check.Kind)
    for index, declaration_id in enumerate(declaration_ids):
        order = kinds[index % len(kinds) + 1 :] + kinds[: index % len(kinds) + 1]
        checks = {c.kind: c.id for c in Check.objects.filter(declaration_id=declaration_id)}
        total = everything = 0
        for position, kind in enumerate(order):
            with CaptureQueriesContext(connection) as captured:
                check_run(check_id=checks[kind])
            statements = [q for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
            total += len(statements)
            everything += len(captured)
            if index:
                (last if position == len(order) - 1 else plain)[kind].append(len(statements))
        if index:
            totals.append(total)
            with_transactions.append(everything)
    per_check = {kind: max(counts) for kind, counts in plain.items()}
    decision = max(max(last[kind]) - min(plain[kind]) for kind in last)
    return {
        "per_check_run": per_check,
        "decision": decision,
        "per_declaration": max(totals),
        "per_declaration_with_transaction_control": max(with_transactions),
    }


def wait_decided(ids: list[int], timeout: float = 900) -> None:
    """Wait until every declaration of ``ids`` is decided. Polled twice a second over the id range, so the
    polling costs this 2-core machine little CPU (a query with the whole id list every 0.2 s took a fifth
    of a core from the workers it measures); the figures come from the database's timestamps, not from
    when this notices. The range holds only this run's declarations, all of which are decided in turn."""
    from clearance.models import Declaration

    if not ids:
        return
    final = {Declaration.Status.CLEARED, Declaration.Status.INSPECTION, Declaration.Status.REJECTED}
    undecided = Declaration.objects.filter(id__range=(min(ids), max(ids))).exclude(status__in=final)
    deadline = time.monotonic() + timeout
    while undecided.exists():
        if time.monotonic() > deadline:
            sys.exit(f"not all declarations were decided within {timeout:.0f} s")
        time.sleep(0.5)


def event_times(ids: list[int], *kinds: str) -> dict:
    from clearance.models import DeclarationEvent

    times = {}
    for declaration_id, at in (
        DeclarationEvent.objects.filter(declaration_id__in=ids, event__in=kinds)
        .order_by("seq")
        .values_list("declaration_id", "at")
    ):
        times.setdefault(declaration_id, at)
    return times


def decision_times(ids: list[int]) -> dict:
    from clearance.models import DeclarationEvent

    Kind = DeclarationEvent.Kind
    return event_times(ids, Kind.CLEARED, Kind.INSPECTION_REQUIRED, Kind.REJECTED)


def report(figures: dict) -> None:
    queries = figures["queries"]
    print(f"workers: {figures['workers']} x concurrency {figures['concurrency']}  queues: {figures['queues']}")
    print(
        "queries: per check run "
        + ", ".join(f"{kind} {count}" for kind, count in queries["per_check_run"].items())
        + f"; the decision after the last check {queries['decision']}; per declaration {queries['per_declaration']}"
        f" ({queries['per_declaration_with_transaction_control']} with BEGIN/COMMIT/savepoints)"
    )
    backlog = figures["backlog"]
    print(
        f"backlog: {backlog['declarations']} declarations decided in {backlog['seconds']} s: "
        f"{backlog['decided_per_second']} declarations/s ({backlog['checks_per_second']} checks/s)"
    )
    if "cpu_ms_per_declaration" in backlog:
        cpu = backlog["cpu_ms_per_declaration"]
        print(
            f"backlog CPU per declaration, ms: workers {cpu['workers']} (their main processes {cpu['workers_main']}),"
            f" PostgreSQL {cpu['postgresql']}, Redis {cpu['redis']}, this process {cpu['this_process']};"
            f" cores busy {cpu['cores_busy']} of {os.cpu_count()}, stolen {cpu['stolen']:.0%};"
            f" ceiling {backlog['ceiling_per_second']} declarations/s (the cores doing nothing else),"
            f" {backlog['ceiling_without_pool_per_second']}/s if the pool processes (the checks' Python)"
            " cost nothing"
        )
    if "paced" in figures:
        paced = figures["paced"]
        latency = paced["latency_ms"]
        print(
            f"paced: {paced['declarations']} declarations at {paced['rate_submitted']}/s "
            f"(asked {paced['rate_asked'] or 'max'}): declared -> decided ms p50 {latency['p50']}  "
            f"p95 {latency['p95']}  p99 {latency['p99']}  max {latency['max']}"
        )
    print(f"outcomes: {figures['outcomes']}")


def body(index: int, arrival) -> dict:
    """A durian truck with its own plate, driver, customs number and container, and a valid certificate."""
    from stdnum import iso6346

    container = f"BNCU{index:06d}"
    arrival_day = arrival.date()
    return {
        "direction": "export",
        "route": "1119-1120",
        "expected_arrival": arrival.isoformat(),
        "customs_declarations": [{"number": f"30{index:010d}", "type": "B11"}],
        "vehicle": {
            "plate": f"12C-{index // 100:03d}.{index % 100:02d}",
            "country": "VN",
            "max_gross_weight_kg": 40000,
            "permit_number": f"VN-CN-2026-{index:05d}",
            "permit_expires": (arrival_day + timedelta(days=365)).isoformat(),
        },
        "driver": {
            "full_name": "Nguyễn Văn An",
            "nationality": "VN",
            "document_type": "passport",
            "document_number": f"C{index:07d}",
            "document_expires": (arrival_day + timedelta(days=3 * 365)).isoformat(),
        },
        "containers": [
            {"number": container + iso6346.calc_check_digit(container), "size": "40", "seals": [f"VNC{index:06d}"]}
        ],
        "goods": [
            {
                "hs_code": "08106000",
                "description": "Fresh durian",
                "quantity": "18000",
                "unit": "KGM",
                "gross_weight_kg": "18000",
                "value": "45000.00",
                "currency": "USD",
                "origin_country": "VN",
            }
        ],
        "quarantine_certificates": [
            {
                "number": f"KD-2026-{index:06d}",
                "issued_on": (arrival_day - timedelta(days=2)).isoformat(),
                "expires_on": (arrival_day + timedelta(days=30)).isoformat(),
            }
        ],
    }


if __name__ == "__main__":
    main()
