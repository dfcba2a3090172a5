"""A real worker's log lines carry the task and the request that sent it; its counters are scraped from it."""

import json
import socket
import urllib.request

import pytest

from tests.e2e.test_checks_pipeline import decided

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_worker_logs_the_request_id_and_serves_its_check_counters(worker, api, declaration_body, tmp_path):
    port = free_port()
    started = worker(SMARTGATE_WORKER_METRICS_PORT=str(port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path), LOG_FORMAT="json")

    created = api.post("/api/v1/declarations/", declaration_body(), format="json", HTTP_X_REQUEST_ID="erp-7").json()
    decided(created["id"])

    lines = [json.loads(line) for line in started.log_path.read_text().splitlines() if line.startswith("{")]
    line = next(line for line in lines if line["message"] == "declaration.decided")
    assert line["declaration"] == created["id"]
    assert line["request_id"] == "erp-7"
    assert line["task"] == "clearance.tasks.check_run_task" and line["task_id"]
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for kind in ["customs", "border_guard", "quarantine"]:
        assert f'smartgate_checks_finished_total{{kind="{kind}",outcome=' in metrics, metrics
