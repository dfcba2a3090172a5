"""Operators read JSON lines: one object a line with the request id, company, declaration and task id,
and every ``extra=`` field the code passes."""

import io
import json
import logging
import re

import pytest

from smartgate.logs import JsonFormatter
from tests.factories import TruckBody


@pytest.fixture
def log_lines():
    """The lines the configured console handler writes during the test, parsed."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def test_a_request_id_sent_by_the_client_is_echoed(client, db):
    response = client.get("/ping", HTTP_X_REQUEST_ID="erp-4711")

    assert response["X-Request-ID"] == "erp-4711"


def test_a_request_without_an_id_gets_one_and_a_forged_one_is_replaced(client, db):
    plain = client.get("/ping")
    forged = client.get("/ping", HTTP_X_REQUEST_ID='x" "level": "CRITICAL')

    assert re.fullmatch(r"[0-9a-f]{32}", plain["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", forged["X-Request-ID"])


def test_a_service_log_line_keeps_its_extra_fields_and_names_request_company_and_task(
    transactional_db, api, company, log_lines
):
    # Committed for real, so the checks sent after commit run inside the request, as they are sent in production.
    response = api.post("/api/v1/declarations/", TruckBody(), format="json", HTTP_X_REQUEST_ID="erp-0001")
    assert response.status_code == 201, response.json()

    decided = [line for line in log_lines() if line["message"] == "declaration.decided"]
    assert len(decided) == 1
    line = decided[0]
    # The extra= fields of `logger.info("declaration.decided", extra={"declaration": …, "status": …})`.
    assert line["declaration"] == response.json()["id"]
    assert line["status"] == api.get(f"/api/v1/declarations/{line['declaration']}/").json()["status"]
    assert line["request_id"] == "erp-0001"
    assert line["company"] == company.tax_code
    assert line["task_id"] and line["task"].startswith("clearance.tasks.")
    assert line["level"] == "INFO" and line["logger"] == "clearance.services.checks" and line["time"]


def test_each_request_is_logged_once_with_route_status_company_and_declaration(api, company, log_lines):
    response = api.get("/api/v1/declarations/987654/", HTTP_X_REQUEST_ID="erp-0002")

    assert response.status_code == 404
    finished = [line for line in log_lines() if line["message"] == "request.finished"]
    assert finished == [
        {
            **finished[0],
            "request_id": "erp-0002",
            "method": "GET",
            "path": "/api/v1/declarations/987654/",
            "route": "api/v1/declarations/<int:declaration_id>/",
            "status": 404,
            "company": company.tax_code,
            "declaration": 987654,
        }
    ]
