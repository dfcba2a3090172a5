"""Gate decision hot path: reads per second and server-side p50/p99 of POST /api/v1/gate/reads/, beside
a minimal Django JSON view (/ping) served by the same gunicorn in the same run.

    .venv/bin/python bench/gate_decision.py --declarations 2000 --requests 3000 --clients 4

Needs PostgreSQL on 127.0.0.1 (its own database smartgate_bench). Server-side times come from the
Server-Timing header. Asserts nothing.
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_DATABASE_URL, REPO_ROOT, percentile, setup_django  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8765"))


def prepare(declarations: int) -> tuple[str, list[str]]:
    """Declarations cleared, paid and called to lane 1119-EX1 (set up in bulk: this measures the gate, not
    the checks), and a lane-gate device key."""
    from django.db import connection
    from django.utils import timezone

    from clearance.audit import Actor
    from clearance.models import Declaration, Fee, Tariff
    from clearance.services.companies import company_create
    from clearance.services.declarations import declaration_submit
    from vehicles.models import DeviceAPIKey, Direction, Driver, GateDevice, Lane, Route
    from vehicles.plates import parse_plate

    company = company_create(tax_code_text="0101234565", name="Bench Logistics")
    route = Route.objects.select_related("gate").get(code="1119-1120")
    lane = Lane.objects.get(code="1119-EX1")
    arrival = timezone.now() + timedelta(hours=24)
    plates = []
    for index in range(declarations):
        plate = f"12C-{index // 100:03d}.{index % 100:02d}"
        plates.append(plate.replace("-", "").replace(".", ""))
        declaration_submit(
            company=company,
            actor=Actor.system("bench"),
            data={
                "direction": Direction.EXPORT,
                "route": route,
                "expected_arrival": arrival,
                "customs_declarations": [{"number": f"30{index:010d}", "type": "B11"}],
                "vehicle": {
                    "plate": parse_plate(plate, country="VN"),
                    "max_gross_weight_kg": 40000,
                    "permit_number": "P-1",
                    "permit_expires": arrival.date() + timedelta(days=90),
                },
                "driver": {
                    "full_name": "Nguyễn Văn An",
                    "nationality": "VN",
                    "document_type": Driver.DocumentType.PASSPORT,
                    "document_number": f"C{index:07d}",
                    "document_expires": arrival.date() + timedelta(days=900),
                },
                "goods": [
                    {
                        "hs_code": "08106000",
                        "description": "Durian",
                        "quantity": 1000,
                        "unit": "KGM",
                        "gross_weight_kg": 1000,
                        "value": 3000,
                        "currency": "USD",
                        "origin_country": "VN",
                    }
                ],
            },
        )
    Declaration.objects.update(
        status=Declaration.Status.CLEARED, stage=Declaration.Stage.CALLED, lane=lane, called_at=timezone.now()
    )
    tariff = Tariff.objects.get()
    Fee.objects.bulk_create(
        Fee(
            declaration=d,
            tariff=tariff,
            journey=Fee.Journey.EXPORT,
            amount_vnd=100_000,
            status=Fee.Status.PAID,
            paid_at=timezone.now(),
        )
        for d in Declaration.objects.all()
    )
    device = GateDevice.objects.create(kind=GateDevice.Kind.LANE_GATE, name="bench-camera", lane=lane)
    _key, key = DeviceAPIKey.objects.create_key(device=device, name="bench")
    # The planner's statistics, as autovacuum keeps them on a live database: freshly loaded tables have
    # none, and the planner then took the company's 4,000 declarations and sorted them for a list page
    # (7.6 ms) instead of reading its index backwards (1.1 ms).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return key, plates


def serve() -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": BENCH_DATABASE_URL,
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
    env.pop("CELERY_BROKER_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "smartgate.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/ping")
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def load(*, method: str, path: str, bodies: list, headers: dict, clients: int) -> tuple[float, list[float], dict]:
    """Send the bodies from ``clients`` keep-alive connections; return requests/s, server times, statuses."""
    times, statuses, lock = [], {}, threading.Lock()
    chunks = [bodies[index::clients] for index in range(clients)]

    def run(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        for body in chunk:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            duration = float(response.getheader("Server-Timing").split("dur=")[1])
            with lock:
                times.append(duration)
                key = (
                    json.loads(payload).get("decision", response.status) if response.status == 200 else response.status
                )
                statuses[key] = statuses.get(key, 0) + 1

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(bodies) / (time.perf_counter() - started), times, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    setup_django(broker=False)
    key, plates = prepare(args.declarations)
    server = serve()
    try:
        now = "2026-11-22T01:00:00Z"  # 08:00 local: within every lane's hours
        reads = [{"plate": plate, "read_at": now, "confidence": 0.97} for plate in random.sample(plates, len(plates))]
        reads += [
            {"plate": random.choice(plates), "read_at": now, "confidence": 0.97}
            for _ in range(max(args.requests - len(reads), 0))
        ]
        reads = reads[: args.requests]
        headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
        load(method="GET", path="/ping", bodies=[None] * 200, headers={}, clients=args.clients)  # warm up
        base_rps, base_times, _ = load(
            method="GET", path="/ping", bodies=[None] * args.requests, headers={}, clients=args.clients
        )
        gate_rps, gate_times, outcomes = load(
            method="POST", path="/api/v1/gate/reads/", bodies=reads, headers=headers, clients=args.clients
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
    print(
        f"gunicorn 2 sync workers, {args.clients} keep-alive clients, {args.requests} requests each; "
        f"{args.declarations} declarations in the database"
    )
    print(
        f"baseline GET /ping:            {base_rps:7.0f} req/s  server p50 {percentile(base_times, 0.5):6.2f} ms  "
        f"p99 {percentile(base_times, 0.99):6.2f} ms"
    )
    print(
        f"POST /api/v1/gate/reads/:      {gate_rps:7.0f} req/s  server p50 {percentile(gate_times, 0.5):6.2f} ms  "
        f"p99 {percentile(gate_times, 0.99):6.2f} ms"
    )
    print(f"ratio gate/baseline throughput: {gate_rps / base_rps:.2f}; decisions: {outcomes}")


if __name__ == "__main__":
    main()
