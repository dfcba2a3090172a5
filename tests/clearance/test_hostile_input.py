"""Inputs found by fuzzing the API (schemathesis and hand-made requests): each gets a 4xx, never a 500."""

import hashlib
import hmac
import json

import pytest
from rest_framework.test import APIClient

from tests.factories import arrival_in

pytestmark = pytest.mark.django_db


def problem_code(response) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content[:200]
    return response.json()["code"]


@pytest.mark.parametrize("value", ["2026-11-21T00:00:00+23:59", "0198-12-08T18:15:43-20:52"])
def test_list_filter_with_an_offset_the_database_cannot_hold(api, value):
    response = api.get("/api/v1/declarations/", {"created_after": value})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_deeply_nested_json_is_a_parse_error(api):
    body = '{"reason":' + "[" * 1000 + "]" * 1000 + "}"

    response = api.post("/api/v1/declarations/", body, content_type="application/json")

    assert response.status_code == 400
    assert problem_code(response) == "parse_error"


@pytest.mark.parametrize("plate", ["-", "..", "·", "---ABC---" + "1" * 18])
def test_device_plate_that_normalizes_to_nothing_or_too_long_is_refused(api, reference, plate):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("create_device", "--kind", "lane_gate", "--lane", "1119-EX1", "--name", "cam", stdout=out)
    device = APIClient()
    device.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip().splitlines()[-1]}")

    response = device.post(
        "/api/v1/gate/reads/", {"plate": plate, "read_at": arrival_in(0), "confidence": "0.9"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "plate",
        "code": "invalid_plate",
        "message": response.json()["errors"][0]["message"],
    }


def test_fullwidth_plate_matches_the_declared_vehicle():
    from vehicles.plates import normalize_plate

    assert normalize_plate("１２Ｃ－１２３．４５") == "12C12345"
    assert normalize_plate("29ß12399") == "29ß12399"  # never SS: no plate letter


def test_vehicle_plate_with_a_letter_that_capitalizes_longer_is_invalid(declare):
    response = declare(vehicle={"plate": "29ß12399", "country": "VN", "max_gross_weight_kg": 40000})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_plate"


@pytest.mark.parametrize("name", ["ß" * 150, "ﷺ" * 150])
def test_driver_name_that_folds_longer_is_kept(declare, declaration_body, name):
    driver = {**declaration_body()["driver"], "full_name": name}

    response = declare(driver=driver)

    assert response.status_code == 201
    assert response.json()["driver"]["full_name"] == name


def test_arrival_in_year_9999_is_too_far(declare):
    response = declare(expected_arrival="9999-12-31T23:59:59Z")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "arrival_too_far"


def test_slots_of_year_9999_are_refused(api):
    response = api.get("/api/v1/slots/", {"route": "1119-1120", "direction": "export", "date": "9999-12-31"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "date"


@pytest.mark.parametrize("cursor", ["cD1hYmM=", "cD0xLjU=", "cD0=", "abc"])
def test_forged_cursor_is_not_found(api, cursor):
    response = api.get("/api/v1/declarations/", {"cursor": cursor})

    assert response.status_code == 404
    assert problem_code(response) == "not_found"


@pytest.mark.parametrize("etag", ['"²"', '"1²"', '"' + "9" * 5000 + '"'])
def test_if_match_that_is_not_a_version_is_412(api, declare, etag):
    created = declare()

    response = api.patch(created["Location"], {"expected_arrival": arrival_in(30)}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 412


def test_payment_callback_with_a_non_ascii_signature_is_401(client, settings):
    settings.SMARTGATE_PAYMENT_SECRET = "secret"

    response = client.post(
        "/api/v1/payments/callback/", {"payment_id": "p"}, content_type="application/json", HTTP_X_SIGNATURE="sha256=ß"
    )

    assert response.status_code == 401


def test_payment_callback_with_a_null_character_is_400(client, settings, db):
    settings.SMARTGATE_PAYMENT_SECRET = "secret"
    body = json.dumps(
        {"payment_id": "p-1", "reference": "SG-2026-000001", "amount_vnd": 100000, "extra": {"a": "\u0000"}}
    ).encode()
    signature = hmac.new(b"secret", body, hashlib.sha256).hexdigest()

    response = client.post(
        "/api/v1/payments/callback/", body, content_type="application/json", HTTP_X_SIGNATURE=f"sha256={signature}"
    )

    assert response.status_code in (400, 422)


def test_an_api_path_that_matches_no_route_answers_problem_json(api):
    response = api.get("/api/v1/declarations/abc/")

    assert response.status_code == 404
    assert problem_code(response) == "not_found"
