"""Batch upload: POST /api/v1/declarations/batch/ with 500 valid declarations, timed, against the same
declarations posted one by one in the same run; then the same number of vehicles as a CSV file through
POST /api/v1/declarations/import/.

    .venv/bin/python bench/declaration_batch.py --items 500

Needs PostgreSQL and Redis on 127.0.0.1 (its own database smartgate_bench and Redis db 14: the check tasks
are sent to the broker, as in production; no worker runs). Prints the batch's wall time, declarations per
second, and the ratio to the one-by-one baseline. Asserts nothing (the issue's target: 500 in under 5 s).
"""

import argparse
import csv
import io
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.checks_pipeline import body as pipeline_body  # noqa: E402
from bench.common import BENCH_REDIS_URL, setup_django  # noqa: E402


def body(index: int, arrival: str) -> dict:
    """A truck of its own: plate, driver, customs number; no container (each is on one crossing at a time)."""
    made = pipeline_body(index, arrival)
    made.pop("containers")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--baseline", type=int, default=100, help="declarations posted one by one first")
    args = parser.parse_args()

    setup_django(broker=True)
    import redis
    from django.utils import timezone
    from rest_framework.test import APIClient

    from clearance.api.imports import COLUMNS
    from clearance.models import RiskSettings
    from clearance.services.companies import api_key_create, company_create

    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    RiskSettings.current()
    company = company_create(tax_code_text="0101234565", name="Bench Logistics")
    _key, key = api_key_create(company=company, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    arrival = timezone.now() + timedelta(hours=24)

    started = time.perf_counter()
    for index in range(args.baseline):
        response = client.post("/api/v1/declarations/", body(index, arrival), format="json")
        assert response.status_code == 201, response.content[:500]
    single_rate = args.baseline / (time.perf_counter() - started)

    items = [body(args.baseline + index, arrival) for index in range(args.items)]
    time.sleep(2)  # the baseline's check tasks are sent after each answer: let them land, then forget them
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    started = time.perf_counter()
    response = client.post("/api/v1/declarations/batch/", {"declarations": items}, format="json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:500]
    assert response.json()["created"] == args.items, response.json()["results"][0]
    queued = _tasks_queued(redis.Redis.from_url(BENCH_REDIS_URL), expected=args.items)
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()

    rows = [_csv_row(body(args.baseline + args.items + index, arrival)) for index in range(args.items)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    started = time.perf_counter()
    response = client.generic("POST", "/api/v1/declarations/import/", out.getvalue().encode(), content_type="text/csv")
    import_elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.json()["created"] == args.items, response.content[:500]
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()

    print(f"one by one (baseline, {args.baseline}): {single_rate:.1f} declarations/s")
    print(f"batch of {args.items}: {elapsed:.2f} s, {args.items / elapsed:.1f} declarations/s")
    print(f"check tasks on the broker after the batch: {queued} for {args.items} declarations (sent after the answer)")
    print(f"ratio batch/one-by-one: {(args.items / elapsed) / single_rate:.2f}")
    print(
        f"CSV import of {args.items} vehicles: {import_elapsed:.2f} s, {args.items / import_elapsed:.1f} declarations/s"
    )


def _tasks_queued(broker, expected: int) -> int:
    """The check tasks the batch left on the broker's queues: sent after the answer, so waited for a while."""
    from django.conf import settings

    names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    deadline, last = time.monotonic() + 30, -1
    while True:
        queued = sum(broker.llen(name) for name in names)
        if (queued >= expected and queued == last) or time.monotonic() > deadline:
            return queued
        last = queued
        time.sleep(1)


def _csv_row(made: dict) -> dict:
    """A body as the import template's row (one goods line, one customs number, no container)."""
    vehicle, driver, goods, customs = made["vehicle"], made["driver"], made["goods"][0], made["customs_declarations"][0]
    row = {"direction": made["direction"], "route": made["route"], "expected_arrival": made["expected_arrival"]}
    row.update({f"vehicle_{name}": value for name, value in vehicle.items()})
    row.update({f"driver_{name}": value for name, value in driver.items()})
    row.update({f"goods_{name}": value for name, value in goods.items()})
    row.update({"customs_number": customs["number"], "customs_type": customs["type"]})
    return row


if __name__ == "__main__":
    main()
