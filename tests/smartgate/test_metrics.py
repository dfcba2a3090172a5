"""An operator's Prometheus scrapes /metrics: latency per route, the gate's decisions and checks, the yards'
queues and the checks outstanding; nobody else reads it."""

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from clearance.services.gate import gate_decide
from tests.factories import CONFIDENT_READ, DeclarationFactory, Stage, _device
from vehicles.models import GateDevice, Lane


def scrape(client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_request_latency_is_measured_per_route_not_per_id(client, api):
    api.get("/api/v1/declarations/101/")
    api.get("/api/v1/declarations/102/")

    samples = scrape(client)

    route = "api/v1/declarations/<int:declaration_id>/"
    assert value(samples, "smartgate_http_request_duration_seconds_count", method="GET", route=route) >= 2
    assert value(samples, "smartgate_http_responses_total", method="GET", route=route, status="404") >= 2
    assert not any("101" in str(labels) for _name, labels in samples)


def test_metrics_are_refused_to_other_addresses_unless_they_bring_the_token(client, db, settings):
    settings.SMARTGATE_METRICS_TOKEN = "scrape-secret-0123456789"

    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    scrape(client, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789")


def test_metrics_allow_a_configured_network(client, db, settings):
    settings.SMARTGATE_METRICS_ALLOWED_IPS = ["10.8.0.0/16"]

    assert client.get("/metrics").status_code == 403
    scrape(client, REMOTE_ADDR="10.8.3.4")


def test_checks_and_barrier_decisions_are_counted(client, company, reference):
    before = scrape(client)
    declaration = DeclarationFactory()
    lane = Lane.objects.filter(route=declaration.route).first()
    gate_decide(
        device=_device(GateDevice.Kind.LANE_GATE, lane),
        plate=declaration.vehicle.plate,
        read_at=timezone.now(),
        confidence=CONFIDENT_READ,
    )

    after = scrape(client)

    for kind in ["customs", "border_guard", "quarantine"]:
        finished = sum(
            v - before.get(key, 0)
            for key, v in after.items()
            if key[0] == "smartgate_checks_finished_total" and ("kind", kind) in key[1]
        )
        assert finished == 1, kind
        assert value(after, "smartgate_check_duration_seconds_count", kind=kind) >= 1
    held = sum(
        v - before.get(key, 0)
        for key, v in after.items()
        if key[0] == "smartgate_gate_decisions_total" and ("decision", "hold") in key[1]
    )
    assert held >= 1


def test_yard_queues_and_checks_outstanding_are_read_at_scrape_time(client, company, reference):
    waiting = DeclarationFactory(stage=Stage.IN_YARD)

    samples = scrape(client)

    assert value(samples, "smartgate_yard_waiting", yard=waiting.yard.code) == 1
    assert value(samples, "smartgate_checks_outstanding", status="pending") == 0
