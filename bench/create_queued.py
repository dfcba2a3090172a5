"""The declaration create with its checks queued, alone: ``make bench``'s last hot-path load (a gunicorn with a
broker and no worker), without the two minutes ``make bench`` spends preparing the gate's declarations first.
For comparing two versions of the code back to back (run it from each checkout in turn).

    .venv/bin/python bench/create_queued.py [--creates 600] [--clients 4]

Its own database (BENCH_DATABASE_URL, created afresh) and Redis db (BENCH_REDIS_URL, emptied before and
after). Prints requests/s, server-side p50/p99 and the CPU per create of the server, PostgreSQL, Redis and
this client. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from bench.common import BENCH_DATABASE_URL, BENCH_REDIS_URL, setup_django  # noqa: E402
from bench.run import declaration_body, free_port, load, serve, stop  # noqa: E402

WARM_UP = 100  # creates before the measured ones: the workers' caches and prepared statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=600)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    setup_django(broker=False)
    from django.utils import timezone

    from clearance.services.companies import api_key_create, company_create

    company = company_create(tax_code_text="0101234565", name="Bench Logistics")
    _key, key = api_key_create(company=company, name="bench-create")
    broker = redis.Redis.from_url(BENCH_REDIS_URL)
    broker.flushdb()
    port = free_port()
    server = serve(BENCH_DATABASE_URL, port, broker=BENCH_REDIS_URL)
    try:
        arrival = (timezone.now() + timedelta(hours=24)).isoformat()
        headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
        path = "/api/v1/declarations/"

        def creates(first: int, count: int, measured) -> dict:
            bodies = [declaration_body(first + index, arrival) for index in range(count)]
            return load(
                port=port, method="POST", paths=[path] * count, bodies=bodies, headers=headers,
                clients=args.clients, server=measured,
            )  # fmt: skip

        creates(0, WARM_UP, None)
        figures = creates(WARM_UP, args.creates, server)
    finally:
        stop(server)
        broker.flushdb()
    cpu = figures["cpu"]
    print(
        f"declaration create, checks queued: {figures['rps']:.0f}/s, server p50 {figures['p50']:.2f} ms, "
        f"p99 {figures['p99']:.2f} ms; answers {figures['statuses']}"
    )
    if cpu is not None:
        print(
            f"CPU per create, ms: server {cpu.server:.2f}, PostgreSQL {cpu.postgresql:.2f}, Redis {cpu.redis:.2f}, "
            f"client {cpu.client:.2f}; stolen {cpu.stolen:.0%}"
        )


if __name__ == "__main__":
    main()
