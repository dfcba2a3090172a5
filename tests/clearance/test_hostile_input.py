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


# --- Characters a database cannot hold, duplicate keys, oversize bodies, times without an offset --------


def device_client(kind: str, **place) -> APIClient:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    args = [f"--{name}={value}" for name, value in place.items()]
    call_command("create_device", "--kind", kind, *args, "--name", f"{kind}-probe", stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip().splitlines()[-1]}")
    return client


def raw_post(client: APIClient, path: str, text: str):
    return client.post(path, text.encode(), content_type="application/json")


@pytest.mark.parametrize("bad", ["\\ud800", "\\udfff", "a\\u0000b"])
@pytest.mark.parametrize("field", ["driver.full_name", "direction", "goods[0].description"])
def test_a_lone_surrogate_or_nul_in_a_string_or_choice_is_400_naming_the_field(api, declaration_body, bad, field):
    body = declaration_body()
    if field == "direction":
        body["direction"] = "PLACEHOLDER"
    elif field == "driver.full_name":
        body["driver"]["full_name"] = "PLACEHOLDER"
    else:
        body["goods"][0]["description"] = "PLACEHOLDER"
    text = json.dumps(body).replace('"PLACEHOLDER"', f'"{bad}"')

    response = raw_post(api, "/api/v1/declarations/", text)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"field": field, "code": "invalid_character", "message": response.json()["errors"][0]["message"]}
    ]


def test_a_nul_in_a_device_plate_is_400(reference):
    device = device_client("lane_gate", lane="1119-EX1")

    response = raw_post(
        device,
        "/api/v1/gate/reads/",
        '{"plate": "12C\\u000012345", "read_at": "2026-11-30T10:00:00+07:00", "confidence": "0.9"}',
    )

    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "plate"


def test_duplicate_json_keys_are_400(api, declaration_body):
    text = json.dumps(declaration_body())[:-1] + ', "direction": "import"}'

    response = raw_post(api, "/api/v1/declarations/", text)

    assert response.status_code == 400
    assert problem_code(response) == "parse_error"
    assert "direction" in response.json()["detail"]


def test_a_body_over_the_limit_is_413_problem_json(api, settings):
    settings.SMARTGATE_API_MAX_BODY_BYTES = 1000

    response = raw_post(api, "/api/v1/declarations/", json.dumps({"reason": "x" * 2000}))

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("kind", "place", "path", "body"),
    [
        (
            "lane_gate",
            {"lane": "1119-EX1"},
            "/api/v1/gate/reads/",
            {"plate": "12C12345", "confidence": "0.9", "read_at": None},
        ),
        (
            "yard_gate",
            {"yard": "1119-export-yard"},
            "/api/v1/gate/movements/",
            {"plate": "12C12345", "kind": "yard_in", "occurred_at": None},
        ),
        (
            "weighbridge",
            {"yard": "1119-export-yard"},
            "/api/v1/gate/weights/",
            {"plate": "12C12345", "gross_weight_kg": 30000, "measured_at": None},
        ),
    ],
)
def test_a_device_time_without_an_offset_is_timezone_required(reference, kind, place, path, body):
    field = next(name for name, value in body.items() if value is None)
    device = device_client(kind, **place)

    response = device.post(path, {**body, field: "2026-11-30T10:00:00"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["errors"][0]["code"] == "timezone_required"


def test_a_slot_time_without_an_offset_is_timezone_required(api, declare):
    declaration = declare().json()

    response = api.post(
        f"/api/v1/declarations/{declaration['id']}/slot/", {"starts_at": "2026-12-01T10:00:00"}, format="json"
    )

    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "timezone_required"


def test_a_nul_in_an_admin_search_is_400(admin_client, reference):
    response = admin_client.get("/admin/clearance/declaration/", {"q": "12C\x0012345"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
