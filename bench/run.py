"""`make bench`: every figure of issue 18 in one run, on servers this script starts on 127.0.0.1.

    .venv/bin/python bench/run.py [--requests 2000] [--clients 4] [--no-pipeline]
        [--scale-small postgres://…/db10k --scale-large postgres://…/db1m]

1. Its own database (BENCH_DATABASE_URL, created afresh), gunicorn with 2 sync workers (production
   settings, no broker: tasks run in-process as in the embedded default), and keep-alive clients. In one
   run: the floor (a bare Django JSON view, ``GET /ping``, on the same gunicorn), the gate decision
   (``POST gate/reads/``: opens and holds), a list page of 50 (``GET declarations/?limit=50``) and the
   declaration create (``POST declarations/``, its checks run in-process after the response's commit; then
   again on a gunicorn with a broker and no worker: the create alone, its checks queued), then the floor
   again (how far the machine itself moved during the run).
   Each: requests/s, server-side p50/p95/p99 (the Server-Timing header), ratio to the floor, and to its goal.
2. The pipeline: ``bench/declaration_batch.py`` and ``bench/checks_pipeline.py`` by their command line
   (they set up their own database and workers and print their own figures).
3. The scale pass, when databases loaded by ``manage.py load_synthetic`` are given: the gate decision
   and list pages (unfiltered and with every filter) against the small and the large one, their ratio,
   and EXPLAIN of the hot queries (any sequential scan of a large table is named).

Asserts nothing: the query budgets are the tests (tests/clearance/test_query_budgets.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from bench.common import (  # noqa: E402
    BENCH_DATABASE_URL,
    BENCH_REDIS_URL,
    PRODUCTION_ENV,
    REPO_ROOT,
    percentile,
    setup_django,
)
from bench.cpu import CpuMeter  # noqa: E402

# The goals: a ratio to the floor's requests/s, or requests/s.
GOALS = {
    "gate decision": ("ratio", 0.70),
    "list page of 50": ("ratio", 0.25),
    "declaration create": ("rps", 300),
    "gate decision at half load": ("p99", 15.0),
    "declaration create, checks queued": ("rps", 300),
}
LARGE_TABLES = {"clearance_declaration", "clearance_declarationevent", "vehicles_movement", "clearance_gatedecision"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(database_url: str, port: int, *, broker: str | None = None) -> subprocess.Popen:
    """gunicorn, 2 sync workers, production settings; no broker (tasks in-process) unless ``broker`` is
    given (tasks sent there, for no worker to run)."""
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "API_THROTTLE_RATE": "1000000/min",
    }
    env.pop("CELERY_BROKER_URL", None)
    if broker:
        env["CELERY_BROKER_URL"] = broker
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "smartgate.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "2", "--log-level", "warning"],
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(200):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/ping")
            connection.getresponse().read()
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def load(
    *, port: int, method: str, paths, bodies: list, headers: dict, clients: int, rate: float = 0, server=None
) -> dict:
    """Send each request from ``clients`` keep-alive connections, as fast as they answer or, with ``rate``,
    at that many requests per second in all (request i is sent at i / rate: an open loop); figures from the
    Server-Timing header, and the CPU each request cost the server (``server``'s processes), PostgreSQL,
    Redis and this client."""
    times, statuses, lock = [], {}, threading.Lock()
    requests = list(zip(paths, bodies, strict=True))
    chunks = [list(enumerate(requests))[index::clients] for index in range(clients)]
    started = time.perf_counter()

    def run(chunk):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for position, (path, body) in chunk:
            if rate:
                delay = started + position / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            duration = float(response.getheader("Server-Timing").split("dur=")[1])
            key = response.status
            if response.status == 200 and path.endswith("/gate/reads/"):
                key = json.loads(payload)["decision"]
            with lock:
                times.append(duration)
                statuses[key] = statuses.get(key, 0) + 1

    threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    meter = CpuMeter(*([server.pid] if server is not None else []))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "cpu": meter.read(len(requests)),
        "rps": len(requests) / elapsed,
        "p50": percentile(times, 0.50),
        "p95": percentile(times, 0.95),
        "p99": percentile(times, 0.99),
        "statuses": statuses,
    }


def declaration_body(index: int, arrival: str) -> dict:
    """A truck of its own (plate, driver, customs number), durian for export."""
    return {
        "direction": "export",
        "route": "1119-1120",
        "expected_arrival": arrival,
        "customs_declarations": [{"number": f"31{index:010d}", "type": "B11"}],
        "vehicle": {
            "plate": f"29C-{index // 100 % 1000:03d}.{index % 100:02d}",
            "country": "VN",
            "max_gross_weight_kg": 40000,
            "permit_number": f"VN-CN-{index:06d}",
            "permit_expires": "2030-06-30",
        },
        "driver": {
            "full_name": "Trần Văn Bình",
            "nationality": "VN",
            "document_type": "passport",
            "document_number": f"B{index:07d}",
            "document_expires": "2030-01-01",
        },
        "goods": [
            {
                "hs_code": "08106000",
                "description": "Durian",
                "quantity": "1000",
                "unit": "KGM",
                "gross_weight_kg": "1000",
                "value": "3000",
                "currency": "USD",
                "origin_country": "VN",
            }
        ],
    }


def row(name: str, figures: dict, floor: dict | None) -> str:
    ratio = figures["rps"] / floor["rps"] if floor else 1.0
    goal = GOALS.get(name.split(" (")[0])
    if goal is None:
        to_goal = "—"
    elif goal[0] == "p99":
        to_goal = f"p99 {'within' if figures['p99'] <= goal[1] else 'above'} ≤{goal[1]:.0f} ms"
    elif goal[0] == "ratio":
        to_goal = f"{ratio / goal[1]:.2f} of ≥{goal[1]:.2f}× floor"
    else:
        to_goal = f"{figures['rps'] / goal[1]:.2f} of ≥{goal[1]}/s"
    return (
        f"| {name} | {figures['rps']:,.0f} | {figures['p50']:.2f} | {figures['p95']:.2f} | {figures['p99']:.2f} "
        f"| {ratio:.3f} | {to_goal} | {figures['statuses']} |"
    )


def table_header() -> str:
    return (
        "| endpoint | req/s | p50 ms | p95 ms | p99 ms | ratio to floor | to goal | answers |\n"
        "|---|---:|---:|---:|---:|---:|---|---|"
    )


# --- 1. One server, the hot paths --------------------------------------------------------------------


def hot_paths(args) -> None:
    setup_django(broker=False)
    from django.utils import timezone

    from bench.gate_decision import prepare
    from clearance.models import Company
    from clearance.services.companies import api_key_create

    started = time.perf_counter()
    half_load_reads = args.requests // 2
    gate_key, plates = prepare(args.declarations + half_load_reads)
    # The last ones are kept for the gate at half load: each of them opens once.
    plates, half_load_plates = plates[: args.declarations], plates[args.declarations :]
    _key, company_key = api_key_create(company=Company.objects.get(tax_code="0101234565"), name="bench-list")
    print(
        f"prepared {args.declarations + half_load_reads} declarations in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    port = free_port()
    server = serve(BENCH_DATABASE_URL, port)
    try:
        n = args.requests

        def ping(count: int, measured=None) -> dict:
            return load(
                port=port, method="GET", paths=["/ping"] * count, bodies=[None] * count, headers={},
                clients=args.clients, server=measured,
            )  # fmt: skip

        ping(200)  # warm-up
        floor = ping(n, server)
        now = "2026-11-22T01:00:00Z"  # 08:00 local: within every lane's hours
        reads = [{"plate": plate, "read_at": now, "confidence": 0.97} for plate in random.sample(plates, len(plates))]
        reads += [{"plate": random.choice(plates), "read_at": now, "confidence": 0.97} for _ in range(n)]
        reads = reads[:n]
        device = {"Authorization": f"Api-Key {gate_key}", "Content-Type": "application/json"}
        gate = load(
            port=port,
            method="POST",
            paths=["/api/v1/gate/reads/"] * n,
            bodies=reads,
            headers=device,
            clients=args.clients,
            server=server,
        )
        # The p99 "at half load": fresh vehicles (each one opens), sent at half the rate just measured.
        gate_half = load(
            port=port,
            method="POST",
            paths=["/api/v1/gate/reads/"] * half_load_reads,
            bodies=[{"plate": plate, "read_at": now, "confidence": 0.97} for plate in half_load_plates],
            headers=device,
            clients=args.clients,
            server=server,
            rate=gate["rps"] / 2,
        )
        forwarder = {"Authorization": f"Api-Key {company_key}", "Content-Type": "application/json"}
        pages = max(n // 4, 50)
        listing = load(
            port=port,
            method="GET",
            paths=["/api/v1/declarations/?limit=50"] * pages,
            bodies=[None] * pages,
            headers=forwarder,
            clients=args.clients,
            server=server,
        )
        creates = max(n // 4, 50)
        arrival = (timezone.now() + timedelta(hours=24)).isoformat()
        create = load(
            port=port,
            method="POST",
            paths=["/api/v1/declarations/"] * creates,
            bodies=[declaration_body(index, arrival) for index in range(creates)],
            headers=forwarder,
            clients=args.clients,
            server=server,
        )
        # The floor again, last: how much the machine itself moved during the run (a virtual machine's
        # stolen time comes and goes), which is how far apart any two of these figures may be by chance.
        floor_again = ping(n, server)
    finally:
        stop(server)
    # The create alone, as the issue measures it ("checks queued"): the same gunicorn with a broker (the
    # bench's Redis db, emptied after) and no worker, so the checks wait there instead of running in the
    # request after its commit (the pipeline's figures are bench/checks_pipeline.py's).
    port = free_port()
    server = serve(BENCH_DATABASE_URL, port, broker=BENCH_REDIS_URL)
    try:
        queued = load(
            port=port,
            method="POST",
            paths=["/api/v1/declarations/"] * creates,
            bodies=[declaration_body(creates + index, arrival) for index in range(creates)],
            headers=forwarder,
            clients=args.clients,
            server=server,
        )
    finally:
        stop(server)
        redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    print(
        f"\n## Hot paths: gunicorn 2 sync workers, {args.clients} keep-alive clients, "
        f"{args.declarations} declarations; {n} floor and gate requests, {pages} list pages, {creates} creates\n"
    )
    print(table_header())
    print(row("floor: GET /ping", floor, None))
    print(row("gate decision", gate, floor))
    print(row(f"gate decision at half load ({gate['rps'] / 2:,.0f}/s asked)", gate_half, floor))
    print(row("list page of 50", listing, floor))
    print(row("declaration create", create, floor))
    print(row("declaration create, checks queued", queued, floor))
    print(row("floor again, after the others", floor_again, floor))
    print(
        cpu_table(
            floor,
            {
                "floor: GET /ping": floor,
                "gate decision": gate,
                "list page of 50": listing,
                "declaration create": create,
                "declaration create, checks queued": queued,
                "floor again": floor_again,
            },
        )
    )


def cpu_table(floor: dict, measured: dict[str, dict]) -> str:
    """Where each request's CPU went, and the ceiling it sets: the ratio to the floor an endpoint would
    reach if its server-side work cost no more than the floor's bare view, the machine as busy as during
    the floor, and PostgreSQL, Redis and the client as they were (and the requests a second that ratio
    is, at this run's floor)."""
    if floor["cpu"] is None:
        return "\n(CPU by process: /proc is not available here)"
    base = floor["cpu"]
    base_total = base.server + base.postgresql + base.redis + base.client
    lines = [
        "\nCPU per request, ms (bench/cpu.py: the server's processes, PostgreSQL's, Redis's, this client's):\n",
        "| endpoint | server | PostgreSQL | Redis | client | cores busy | stolen | ceiling ratio | ceiling req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, figures in measured.items():
        cpu = figures["cpu"]
        ceiling = base_total / (base.server + cpu.postgresql + cpu.redis + cpu.client)
        # In requests a second too, for the goals given as a rate (create ≥ 300/s).
        lines.append(f"| {name} | {cpu.columns()} | {ceiling:.2f} | {ceiling * floor['rps']:,.0f} |")
    return "\n".join(lines)


# --- 2. The pipeline (perfwrite's scripts, by their command line) -------------------------------------


def pipeline(args) -> None:
    for script, options in (
        ("bench/declaration_batch.py", ["--items", "500"]),
        ("bench/checks_pipeline.py", ["--declarations", "300", "--workers", "1", "--concurrency", "2"]),
    ):
        print(f"\n## {script} {' '.join(options)}\n", flush=True)
        if not (REPO_ROOT / script).exists():
            print("(not present)")
            continue
        subprocess.run([sys.executable, script, *options], cwd=REPO_ROOT, check=False)


# --- 3. The scale pass ------------------------------------------------------------------------------

EXPLAINED = {
    "gate lookup": (
        "SELECT d.id FROM clearance_declaration d JOIN vehicles_vehicle v ON v.id = d.vehicle_id "
        "LEFT JOIN clearance_fee f ON f.declaration_id = d.id WHERE v.normalized_plate = %(plate)s "
        "AND d.status <> 'cancelled' AND d.stage NOT IN ('crossed', 'turned_back') FOR UPDATE OF d"
    ),
    "list page": (
        "SELECT d.id FROM clearance_declaration d WHERE d.company_id = %(company)s ORDER BY d.id DESC LIMIT 51"
    ),
    "list page, every filter": (
        # As the API asks it: the route by id (the process knows the codes), so the filter index gives
        # the page in order.
        "SELECT d.id FROM clearance_declaration d WHERE d.company_id = %(company)s AND d.status = 'cleared' "
        "AND d.stage = 'crossed' AND d.route_id = (SELECT id FROM vehicles_route WHERE code = '1119-1120') "
        "AND d.direction = 'export' AND d.created_at >= now() - interval '30 days' ORDER BY d.id DESC LIMIT 51"
    ),
    "load: at the gate": (
        "SELECT route_id, direction, stage, count(*) FROM clearance_declaration "
        "WHERE stage IN ('in_yard', 'called', 'in_lane') GROUP BY 1, 2, 3"
    ),
    "load: crossed today": (
        "SELECT route_id, direction, stage, count(*) FROM clearance_declaration "
        "WHERE crossed_at >= date_trunc('day', now()) AND stage = 'crossed' GROUP BY 1, 2, 3"
    ),
    "dashboard: week": (
        "SELECT route_id, direction, count(*) FROM clearance_declaration "
        "WHERE created_at >= now() - interval '7 days' GROUP BY 1, 2"
    ),
    "dashboard: cleared events": (
        "SELECT at FROM clearance_declarationevent WHERE event = 'cleared' AND at >= now() - interval '7 days'"
    ),
}


def scale_prepare(database_url: str) -> dict:
    """In a synthetic database: a device key at a lane with called vehicles, the main company's key, the
    called plates, and EXPLAIN of the hot queries. Prints JSON (run as a child process)."""
    import django

    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgate.settings")
    django.setup()
    from django.db import connection

    from clearance.models import Company, Declaration
    from clearance.services.companies import api_key_create
    from vehicles.models import DeviceAPIKey, GateDevice

    called = Declaration.objects.filter(stage=Declaration.Stage.CALLED).select_related("vehicle", "lane")
    lane = called.values_list("lane_id", flat=True).first()
    device = GateDevice.objects.filter(kind=GateDevice.Kind.LANE_GATE, lane_id=lane).first()
    _row, device_key = DeviceAPIKey.objects.create_key(device=device, name="bench-scale")
    company = Company.objects.get(tax_code="0101234565")
    _row, company_key = api_key_create(company=company, name="bench-scale")
    plates = [d.vehicle.normalized_plate for d in called.filter(lane_id=lane)]
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM clearance_declaration")
        total = cursor.fetchone()[0]
        for name, sql in EXPLAINED.items():
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql, {"plate": plates[0], "company": company.id})
            plans[name] = [line for (line,) in cursor.fetchall()]
    return {"device_key": device_key, "company_key": company_key, "plates": plates, "plans": plans, "total": total}


def scale(args) -> None:
    results = {}
    for label, url in (("small", args.scale_small), ("large", args.scale_large)):
        prepared = json.loads(
            subprocess.run(
                [sys.executable, __file__, "--scale-prepare", url],
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "LOG_LEVEL": "ERROR"},
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        server = serve(url, port)
        try:
            n = args.requests // 2
            now = "2026-11-22T01:00:00Z"
            reads = [{"plate": random.choice(prepared["plates"]), "read_at": now, "confidence": 0.97} for _ in range(n)]
            device = {"Authorization": f"Api-Key {prepared['device_key']}", "Content-Type": "application/json"}
            forwarder = {"Authorization": f"Api-Key {prepared['company_key']}"}
            load(port=port, method="GET", paths=["/ping"] * 100, bodies=[None] * 100, headers={}, clients=args.clients)
            # A read below the confidence threshold holds whatever the vehicle: the same work at both sizes
            # (the indexed lookup, the row lock, the decision row). The mixed pass opens each called vehicle
            # once and holds the rest, and a million rows have a hundred times more vehicles called.
            unsure = [{**read, "confidence": 0.5} for read in reads]
            figures = {
                "gate decision (opens and holds)": load(
                    port=port,
                    method="POST",
                    paths=["/api/v1/gate/reads/"] * n,
                    bodies=reads,
                    headers=device,
                    clients=args.clients,
                ),
                "gate decision (holds only)": load(
                    port=port,
                    method="POST",
                    paths=["/api/v1/gate/reads/"] * n,
                    bodies=unsure,
                    headers=device,
                    clients=args.clients,
                ),
                "list page of 50": load(
                    port=port,
                    method="GET",
                    paths=["/api/v1/declarations/?limit=50"] * (n // 2),
                    bodies=[None] * (n // 2),
                    headers=forwarder,
                    clients=args.clients,
                ),
                "list page, every filter": load(
                    port=port,
                    method="GET",
                    paths=[
                        "/api/v1/declarations/?limit=50&status=cleared&stage=crossed&route=1119-1120"
                        "&direction=export&created_after=2026-01-01T00:00:00Z"
                    ]
                    * (n // 2),
                    bodies=[None] * (n // 2),
                    headers=forwarder,
                    clients=args.clients,
                ),
            }
        finally:
            stop(server)
        results[label] = (prepared, figures)
    small, large = results["small"], results["large"]
    print(f"\n## Scale pass: {small[0]['total']:,} against {large[0]['total']:,} declarations\n")
    print(
        "| endpoint | req/s small | req/s large | p50 small | p50 large | p99 small | p99 large | p50 large/small "
        "| answers small | answers large |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for name in small[1]:
        a, b = small[1][name], large[1][name]
        print(
            f"| {name} | {a['rps']:,.0f} | {b['rps']:,.0f} | {a['p50']:.2f} | {b['p50']:.2f} | {a['p99']:.2f} "
            f"| {b['p99']:.2f} | {b['p50'] / a['p50']:.2f} | {a['statuses']} | {b['statuses']} |"
        )
    print(f"\nEXPLAIN ANALYZE at {large[0]['total']:,} declarations:")
    for name, plan in large[0]["plans"].items():
        seq = [line.strip() for line in plan if "Seq Scan" in line and any(t in line for t in LARGE_TABLES)]
        timing = next((line.strip() for line in plan if line.startswith("Execution Time")), "")
        verdict = f"SEQUENTIAL SCAN: {seq}" if seq else "no sequential scan of a large table"
        print(f"- {name}: {verdict}; {timing}")
        if args.plans:
            print("    " + "\n    ".join(plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--no-pipeline", action="store_true")
    parser.add_argument("--no-hot-paths", action="store_true")
    parser.add_argument("--scale-small", default=os.environ.get("BENCH_SCALE_SMALL_URL"))
    parser.add_argument("--scale-large", default=os.environ.get("BENCH_SCALE_LARGE_URL"))
    parser.add_argument("--plans", action="store_true", help="print the whole EXPLAIN plans")
    parser.add_argument("--scale-prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_prepare:
        print(json.dumps(scale_prepare(args.scale_prepare)))
        return
    if not args.no_hot_paths:
        hot_paths(args)
    if not args.no_pipeline:
        pipeline(args)
    if args.scale_small and args.scale_large:
        scale(args)
    else:
        print(
            "\n## Scale pass: skipped. Load two databases (manage.py load_synthetic --declarations 10000, and"
            " 1000000) and give them as --scale-small and --scale-large (or BENCH_SCALE_SMALL_URL/_LARGE_URL)."
        )


if __name__ == "__main__":
    main()
