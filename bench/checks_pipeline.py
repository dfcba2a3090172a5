"""Checks pipeline throughput: submit N declarations, let real workers decide them, print figures.

    .venv/bin/python bench/checks_pipeline.py --declarations 300 --workers 1 --concurrency 2

Needs PostgreSQL and Redis on 127.0.0.1 (its own database smartgate_bench and Redis db 14).
Prints: submit rate, declarations fully decided per second, submit → decided latency p50/p95/p99
(from the audit trail's timestamps), and decided/submitted as the ratio to the submit-only baseline
measured in the same run. Asserts nothing.
"""

import argparse
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_REDIS_URL, percentile, setup_django, start_workers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    setup_django(broker=True)
    import redis
    from django.utils import timezone
    from rest_framework.test import APIClient

    from clearance.models import Declaration, DeclarationEvent, RiskSettings
    from clearance.services.companies import api_key_create, company_create

    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    RiskSettings.current()
    company = company_create(tax_code_text="0101234565", name="Bench Logistics")
    _key, key = api_key_create(company=company, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    arrival = (timezone.now() + timedelta(hours=24)).isoformat()

    workers = start_workers(args.workers, args.concurrency)
    time.sleep(3)  # let the workers connect
    try:
        started = time.perf_counter()
        for index in range(args.declarations):
            response = client.post("/api/v1/declarations/", body(index, arrival), format="json")
            assert response.status_code == 201, response.content[:500]
        submitted = time.perf_counter()
        final = {Declaration.Status.CLEARED, Declaration.Status.INSPECTION, Declaration.Status.REJECTED}
        while Declaration.objects.exclude(status__in=final).exists():
            if time.perf_counter() - submitted > 600:
                sys.exit("not all declarations were decided within 10 minutes")
            time.sleep(0.2)
        decided = time.perf_counter()
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)

    latencies = []
    decisions = (
        DeclarationEvent.Kind.CLEARED,
        DeclarationEvent.Kind.INSPECTION_REQUIRED,
        DeclarationEvent.Kind.REJECTED,
    )
    for declaration in Declaration.objects.all():
        events = {e.event: e.at for e in DeclarationEvent.objects.filter(declaration=declaration)}
        done = next(events[kind] for kind in decisions if kind in events)
        latencies.append((done - events[DeclarationEvent.Kind.SUBMITTED]).total_seconds() * 1000)

    submit_rate = args.declarations / (submitted - started)
    decided_rate = args.declarations / (decided - started)
    outcomes = {str(s): Declaration.objects.filter(status=s).count() for s in final}
    print(f"declarations: {args.declarations}  workers: {args.workers} x concurrency {args.concurrency}")
    print(f"submit (API, in-process, one client): {submit_rate:.1f} declarations/s")
    print(f"fully decided (3 checks each): {decided_rate:.1f} declarations/s  ({3 * decided_rate:.1f} checks/s)")
    print(
        f"submit -> decided latency ms: p50 {percentile(latencies, 0.50):.0f}  "
        f"p95 {percentile(latencies, 0.95):.0f}  p99 {percentile(latencies, 0.99):.0f}"
    )
    print(f"ratio decided/submit-only baseline: {decided_rate / submit_rate:.2f}")
    print(f"outcomes: {outcomes}")


def body(index: int, arrival: str) -> dict:
    return {
        "direction": "export",
        "route": "1119-1120",
        "expected_arrival": arrival,
        "customs_declarations": [{"number": f"30{index:010d}", "type": "B11"}],
        "vehicle": {
            "plate": f"12C-{index // 100:03d}.{index % 100:02d}",
            "country": "VN",
            "max_gross_weight_kg": 40000,
            "permit_number": "VN-CN-2026-00123",
            "permit_expires": "2027-06-30",
        },
        "driver": {
            "full_name": "Nguyễn Văn An",
            "nationality": "VN",
            "document_type": "passport",
            "document_number": f"C{index:07d}",
            "document_expires": "2030-01-01",
        },
        "containers": [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}],
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
            {"number": "KD-2026-001234", "issued_on": "2026-11-20", "expires_on": "2026-12-20"}
        ],
    }


if __name__ == "__main__":
    main()
