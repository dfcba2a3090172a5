"""What a forwarder's system sees when a declaration breaks a rule: 400 problem+json naming each field and code."""

import json
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from clearance.models import Declaration
from tests.factories import arrival_in

URL = "/api/v1/declarations/"
PROBLEM = "application/problem+json"
VN_TZ = timezone.get_fixed_timezone(7 * 60)


def today_plus(days: int) -> str:
    return (timezone.localdate(timezone.now(), VN_TZ) + timedelta(days=days)).isoformat()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "code"} <= body.keys()
    return body


def field_errors(response) -> set[tuple]:
    body = assert_problem(response, 400)
    assert body["code"] == "validation_error"
    for error in body["errors"]:
        assert error["message"], error
    return {(error["field"], error["code"]) for error in body["errors"]}


# --- One rule, one field path, one code --------------------------------------------------------


def _set(path: str, value):
    """A change to the body: ``vehicle.plate`` or ``goods.0.hs_code`` set to value."""

    def change(body):
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


def _drop(path: str):
    def change(body):
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[int(last) if last.isdigit() else last]

    return change


def _goods(hs_code="08106000", **overrides):
    line = {
        "hs_code": hs_code,
        "description": "Fresh durian",
        "quantity": "18000",
        "unit": "KGM",
        "gross_weight_kg": "18000",
        "value": "45000.00",
        "currency": "USD",
        "origin_country": "VN",
    }
    return {**line, **overrides}


RULES = [
    # Plates
    ("vn-plate-malformed", _set("vehicle.plate", "1C-123.45"), "vehicle.plate", "invalid_plate"),
    ("vn-plate-letters-only", _set("vehicle.plate", "ABC-DEF"), "vehicle.plate", "invalid_plate"),
    (
        "cn-plate-malformed",
        _set("vehicle", {"plate": "桂A1234", "country": "CN", "max_gross_weight_kg": 40000}),
        "vehicle.plate",
        "invalid_plate",
    ),
    (
        "cn-plate-not-a-province",
        _set("vehicle", {"plate": "X A12345", "country": "CN", "max_gross_weight_kg": 40000}),
        "vehicle.plate",
        "invalid_plate",
    ),
    ("vn-plate-for-cn-vehicle", _set("vehicle.country", "CN"), "vehicle.plate", "invalid_plate"),
    ("vehicle-country-not-vn-cn", _set("vehicle.country", "LA"), "vehicle.country", "invalid_choice"),
    ("vn-trailer-not-series-r", _set("trailer.plate", "12C-012.34"), "trailer.plate", "invalid_plate"),
    (
        "cn-trailer-without-gua",
        _set("trailer", {"plate": "桂A1234", "country": "CN"}),
        "trailer.plate",
        "invalid_plate",
    ),
    # Containers (ISO 6346)
    (
        "container-wrong-check-digit",
        _set("containers.0.number", "CSQU3054384"),
        "containers[0].number",
        "invalid_check_digit",
    ),
    (
        "container-too-short",
        _set("containers.0.number", "CSQU305438"),
        "containers[0].number",
        "invalid_container_number",
    ),
    (
        "container-bad-category",
        _set("containers.0.number", "CSQX3054383"),
        "containers[0].number",
        "invalid_container_number",
    ),
    # The check digit of C5QU305438 is 8, but an owner code is three capital letters (ISO 6346).
    (
        "container-owner-code-with-digit",
        _set("containers.0.number", "C5QU3054388"),
        "containers[0].number",
        "invalid_container_number",
    ),
    ("container-size-30", _set("containers.0.size", "30"), "containers[0].size", "invalid_choice"),
    ("container-seal-malformed", _set("containers.0.seals", ["VNC-1", "vnc 1"]), "containers[0].seals[1]", "invalid"),
    (
        "containers-duplicate",
        _set("containers", [{"number": "CSQU3054383", "size": "40"}, {"number": "csqu 305438 3", "size": "20"}]),
        "containers[1].number",
        "duplicate_container",
    ),
    (
        "containers-too-many",
        _set("containers", [{"number": "CSQU3054383", "size": "40"}] * 11),
        "containers",
        "max_length",
    ),
    # VNACCS customs declarations
    (
        "customs-number-11-digits",
        _set("customs_declarations.0.number", "30512345678"),
        "customs_declarations[0].number",
        "invalid_declaration_number",
    ),
    (
        "customs-number-letters",
        _set("customs_declarations.0.number", "30512345678A"),
        "customs_declarations[0].number",
        "invalid_declaration_number",
    ),
    (
        "customs-type-unknown",
        _set("customs_declarations.0.type", "X99"),
        "customs_declarations[0].type",
        "unknown_declaration_type",
    ),
    (
        "customs-number-twice",
        _set(
            "customs_declarations",
            [{"number": "305123456789", "type": "B11"}, {"number": "305123456789", "type": "B11"}],
        ),
        "customs_declarations[1].number",
        "duplicate_declaration_number",
    ),
    # Goods
    ("hs-code-5-digits", _set("goods.0.hs_code", "08106"), "goods[0].hs_code", "invalid_hs_code"),
    ("hs-code-letters", _set("goods.0.hs_code", "0810AB00"), "goods[0].hs_code", "invalid_hs_code"),
    ("hs-code-11-digits", _set("goods.0.hs_code", "08106000001"), "goods[0].hs_code", "max_length"),
    ("hs-chapter-77", _set("goods.0.hs_code", "77010000"), "goods[0].hs_code", "unknown_hs_chapter"),
    ("hs-chapter-00", _set("goods.0.hs_code", "00010000"), "goods[0].hs_code", "unknown_hs_chapter"),
    ("currency-xyz", _set("goods.0.currency", "XYZ"), "goods[0].currency", "invalid_currency"),
    ("origin-country-xx", _set("goods.0.origin_country", "XX"), "goods[0].origin_country", "invalid_country"),
    ("quantity-zero", _set("goods.0.quantity", "0"), "goods[0].quantity", "min_value"),
    ("weight-negative", _set("goods.0.gross_weight_kg", "-5"), "goods[0].gross_weight_kg", "min_value"),
    ("value-huge", _set("goods.0.value", "500000000000"), "goods[0].value", "max_value"),
    ("quantity-not-a-number", _set("goods.0.quantity", "many"), "goods[0].quantity", "invalid"),
    ("unit-malformed", _set("goods.0.unit", "kilograms"), "goods[0].unit", "invalid"),
    (
        "second-line-bad",
        _set("goods", [_goods(), _goods(hs_code="77010000")]),
        "goods[1].hs_code",
        "unknown_hs_chapter",
    ),
    # Driver
    ("driver-nationality-xx", _set("driver.nationality", "XX"), "driver.nationality", "invalid_country"),
    ("driver-document-type", _set("driver.document_type", "visa"), "driver.document_type", "invalid_choice"),
    ("driver-document-number", _set("driver.document_number", "c12"), "driver.document_number", "invalid"),
    # Top level
    ("direction-unknown", _set("direction", "sideways"), "direction", "invalid_choice"),
    ("route-unknown", _set("route", "9999-9999"), "route", "unknown_route"),
    ("arrival-not-a-date", _set("expected_arrival", "tomorrow"), "expected_arrival", "invalid"),
    (
        "certificate-expires-before-issue",
        _set("quarantine_certificates.0.expires_on", "2026-11-19"),
        "quarantine_certificates[0].expires_on",
        "expiry_before_issue",
    ),
    (
        "certificate-number-malformed",
        _set("quarantine_certificates.0.number", "K"),
        "quarantine_certificates[0].number",
        "invalid",
    ),
    # Empty lists
    ("goods-empty", _set("goods", []), "goods", "empty"),
    ("customs-declarations-empty", _set("customs_declarations", []), "customs_declarations", "empty"),
    # Too long
    ("driver-name-too-long", _set("driver.full_name", "Đ" * 151), "driver.full_name", "max_length"),
    ("description-too-long", _set("goods.0.description", "x" * 501), "goods[0].description", "max_length"),
    ("permit-number-too-long", _set("vehicle.permit_number", "P" * 41), "vehicle.permit_number", "max_length"),
    ("plate-too-long", _set("vehicle.plate", "12C" + "-" * 13 + "123.45"), "vehicle.plate", "max_length"),
    ("route-too-long", _set("route", "1" * 21), "route", "max_length"),
    ("driver-name-too-short", _set("driver.full_name", "A"), "driver.full_name", "min_length"),
    # Unknown and server fields
    ("unknown-top-level", _set("colour", "red"), "colour", "unknown_field"),
    ("unknown-nested", _set("vehicle.colour", "red"), "vehicle.colour", "unknown_field"),
    ("unknown-in-list", _set("goods.0.colour", "red"), "goods[0].colour", "unknown_field"),
    ("server-status", _set("status", "cleared"), "status", "read_only_field"),
    ("server-stage", _set("stage", "crossed"), "stage", "read_only_field"),
    ("server-company", _set("company", "0100109106"), "company", "read_only_field"),
    ("server-version", _set("version", 7), "version", "read_only_field"),
    ("server-id", _set("id", 1), "id", "read_only_field"),
    ("server-needs-quarantine", _set("needs_quarantine", False), "needs_quarantine", "read_only_field"),
]

REQUIRED = [
    "direction",
    "route",
    "expected_arrival",
    "customs_declarations",
    "vehicle",
    "driver",
    "goods",
    "vehicle.plate",
    "vehicle.country",
    "vehicle.max_gross_weight_kg",
    "driver.full_name",
    "driver.document_expires",
    "goods.0.hs_code",
    "goods.0.currency",
    "containers.0.size",
    "customs_declarations.0.type",
    "quarantine_certificates.0.issued_on",
    "trailer.plate",
]


def _api_path(path: str) -> str:
    parts = []
    for part in path.split("."):
        if part.isdigit():
            parts[-1] += f"[{part}]"
        else:
            parts.append(part)
    return ".".join(parts)


@pytest.mark.parametrize(("change", "field", "code"), [rule[1:] for rule in RULES], ids=[rule[0] for rule in RULES])
def test_a_rule_broken_names_its_field_and_code(api, declaration_body, change, field, code):
    # given a valid declaration with one thing wrong
    body = declaration_body()
    change(body)

    # when it is declared
    response = api.post(URL, body, format="json")

    # then it is refused naming that field and rule, and nothing is stored
    assert (field, code) in field_errors(response)
    assert not Declaration.objects.exists()


@pytest.mark.parametrize("path", REQUIRED)
def test_a_missing_required_field_is_named(api, declaration_body, path):
    # given a declaration without one required field
    body = declaration_body()
    _drop(path)(body)

    # when it is declared
    response = api.post(URL, body, format="json")

    # then the missing field is named with code required
    assert (_api_path(path), "required") in field_errors(response)


def test_several_broken_rules_are_all_reported_at_once(api, declaration_body):
    # given a body with three independent mistakes
    body = declaration_body()
    body["vehicle"]["plate"] = "nonsense"
    body["containers"][0]["number"] = "CSQU3054384"
    body["goods"][0]["currency"] = "XYZ"

    # when it is declared
    response = api.post(URL, body, format="json")

    # then all three are listed
    assert {
        ("vehicle.plate", "invalid_plate"),
        ("containers[0].number", "invalid_check_digit"),
        ("goods[0].currency", "invalid_currency"),
    } <= field_errors(response)


def test_error_message_says_what_is_accepted(api, declaration_body):
    response = api.post(URL, declaration_body(customs_declarations=[{"number": "123", "type": "B11"}]), format="json")

    [error] = assert_problem(response, 400)["errors"]
    assert "12 digits" in error["message"]


def test_unknown_route_lists_the_known_routes(api, declaration_body):
    response = api.post(URL, declaration_body(route="9999-9999"), format="json")

    [error] = assert_problem(response, 400)["errors"]
    assert (error["field"], error["code"]) == ("route", "unknown_route")
    assert "1119-1120" in error["message"]


# --- Rules that need the clock, the gate and the vehicle ---------------------------------------


@pytest.mark.parametrize(
    ("hours", "code"),
    [
        (-1, "arrival_in_past"),
        (1, "arrival_too_soon"),
        (2.5, "arrival_too_soon"),
        (60 * 24, "arrival_too_far"),
    ],
)
def test_expected_arrival_outside_the_window_is_refused(api, declaration_body, hours, code):
    # given an arrival too early, too soon (the gate requires 3 hours' notice) or too far ahead
    body = declaration_body(expected_arrival=arrival_in(hours))

    # when it is declared
    response = api.post(URL, body, format="json")

    # then expected_arrival is named with the rule broken
    assert field_errors(response) == {("expected_arrival", code)}


def test_arrival_just_over_the_notice_is_accepted(api, declaration_body):
    response = api.post(URL, declaration_body(expected_arrival=arrival_in(3.2)), format="json")

    assert response.status_code == 201, response.content


def test_arrival_too_soon_names_the_notice_and_earliest_time(api, declaration_body):
    response = api.post(URL, declaration_body(expected_arrival=arrival_in(1)), format="json")

    [error] = assert_problem(response, 400)["errors"]
    assert "3 hours" in error["message"]


@pytest.mark.parametrize(
    "arrival",
    [
        lambda: arrival_in(24)[:19],  # 2026-11-22T21:15:00, no offset
        lambda: arrival_in(24)[:16],  # minutes only, no offset
    ],
)
def test_arrival_without_utc_offset_is_refused(api, declaration_body, arrival):
    response = api.post(URL, declaration_body(expected_arrival=arrival()), format="json")

    assert ("expected_arrival", "timezone_required") in field_errors(response)


def test_arrival_in_utc_with_z_is_accepted(api, declaration_body):
    arrival = (timezone.now() + timedelta(hours=24)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    response = api.post(URL, declaration_body(expected_arrival=arrival), format="json")

    assert response.status_code == 201, response.content


def test_goods_heavier_than_the_vehicle_may_carry_is_overweight(api, declaration_body):
    # given goods of 2 × 21 000 kg on a vehicle of 40 000 kg maximum gross weight
    body = declaration_body(goods=[_goods(gross_weight_kg="21000"), _goods(gross_weight_kg="21000")])

    # when it is declared
    response = api.post(URL, body, format="json")

    # then the goods as a whole are named
    assert field_errors(response) == {("goods", "overweight")}


def test_goods_exactly_at_the_maximum_weight_are_accepted(api, declaration_body):
    body = declaration_body(goods=[_goods(gross_weight_kg="20000"), _goods(gross_weight_kg="20000")])

    assert api.post(URL, body, format="json").status_code == 201


def test_driver_document_expiring_before_arrival_is_refused(api, declaration_body):
    # given a passport that expires tomorrow for an arrival in three days
    body = declaration_body(expected_arrival=arrival_in(72))
    body["driver"]["document_expires"] = today_plus(1)

    # when it is declared
    response = api.post(URL, body, format="json")

    # then
    assert field_errors(response) == {("driver.document_expires", "document_expired")}


def test_driver_document_expiring_the_day_before_local_arrival_is_refused(api, declaration_body):
    # given an arrival at 06:00 Vietnam time (23:00 UTC the day before) and a passport valid only until the
    # day before that local date
    arrival_day = timezone.localdate(timezone.now(), VN_TZ) + timedelta(days=3)
    body = declaration_body(expected_arrival=f"{arrival_day.isoformat()}T06:00:00+07:00")
    body["driver"]["document_expires"] = (arrival_day - timedelta(days=1)).isoformat()

    # when it is declared
    response = api.post(URL, body, format="json")

    # then the passport has expired on the day the driver arrives at the gate
    assert field_errors(response) == {("driver.document_expires", "document_expired")}


def test_driver_document_expiring_on_the_arrival_day_is_accepted(api, declaration_body):
    arrival_day = timezone.localdate(timezone.now(), VN_TZ) + timedelta(days=3)
    body = declaration_body(expected_arrival=f"{arrival_day.isoformat()}T10:00:00+07:00")
    body["driver"]["document_expires"] = arrival_day.isoformat()

    assert api.post(URL, body, format="json").status_code == 201


def test_permit_expiring_before_arrival_is_refused(api, declaration_body):
    body = declaration_body(expected_arrival=arrival_in(72))
    body["vehicle"]["permit_expires"] = today_plus(1)

    response = api.post(URL, body, format="json")

    assert field_errors(response) == {("vehicle.permit_expires", "permit_expired")}


def test_document_and_permit_both_expired_are_both_reported(api, declaration_body):
    body = declaration_body(expected_arrival=arrival_in(72))
    body["vehicle"]["permit_expires"] = today_plus(-10)
    body["driver"]["document_expires"] = today_plus(-10)

    response = api.post(URL, body, format="json")

    assert field_errors(response) == {
        ("vehicle.permit_expires", "permit_expired"),
        ("driver.document_expires", "document_expired"),
    }


# --- The body itself ---------------------------------------------------------------------------


def test_body_that_is_not_json_is_a_parse_error(api):
    response = api.post(URL, data='{"direction": "export", ', content_type="application/json")

    body = assert_problem(response, 400)
    assert body["code"] == "parse_error"


def test_body_that_is_a_list_is_refused(api, declaration_body):
    response = api.post(URL, [declaration_body()], format="json")

    assert (None, "invalid") in field_errors(response)


def test_body_larger_than_the_limit_is_413(api, declaration_body, settings):
    # given a 4 KiB limit, and a body well over it
    settings.SMARTGATE_API_MAX_BODY_BYTES = 4096
    body = declaration_body(goods=[_goods(description="x" * 500, gross_weight_kg="1000") for _ in range(10)])
    assert len(json.dumps(body).encode()) > 4096

    # when it is declared
    response = api.post(URL, body, format="json")

    # then it is refused as too large, not parsed
    problem = assert_problem(response, 413)
    assert problem["code"] == "payload_too_large"
    assert not Declaration.objects.exists()


def test_body_within_the_limit_is_accepted(api, declaration_body, settings):
    settings.SMARTGATE_API_MAX_BODY_BYTES = 4096
    body = declaration_body()
    assert len(json.dumps(body).encode()) < 4096

    assert api.post(URL, body, format="json").status_code == 201


def test_vietnamese_and_chinese_text_is_kept_exactly(api, declaration_body):
    # given a driver and goods written in Vietnamese and Chinese
    body = declaration_body()
    body["driver"]["full_name"] = "Đặng Thị Đào"
    body["goods"][0]["description"] = "鲜榴莲 sầu riêng"

    # when it is declared and read back
    created = api.post(URL, body, format="json")
    read = api.get(f"{URL}{created.json()['id']}/")

    # then both come back character for character
    assert created.status_code == 201, created.content
    for answer in (created.json(), read.json()):
        assert answer["driver"]["full_name"] == "Đặng Thị Đào"
        assert answer["goods"][0]["description"] == "鲜榴莲 sầu riêng"
    assert "鲜榴莲 sầu riêng".encode() in read.content  # not \u-escaped


def test_chinese_vehicle_and_trailer_plates_are_accepted(api, declaration_body):
    body = declaration_body(
        vehicle={"plate": "桂A·12345", "country": "CN", "max_gross_weight_kg": 40000},
        trailer={"plate": "桂A1234挂", "country": "CN"},
    )

    response = api.post(URL, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["vehicle"]["plate"] == "桂A12345"
    assert response.json()["trailer"]["plate"] == "桂A1234挂"


@pytest.mark.parametrize(
    ("hs_codes", "needs_quarantine"),
    [
        (["08106000"], True),  # fresh durian: plants, chapter 08
        (["85171200"], False),  # telephones: chapter 85
        (["85171200", "08106000"], True),
        (["24022090"], True),  # chapter 24, the last of the food chapters
        (["25010000"], False),  # chapter 25, salt
    ],
)
def test_quarantine_follows_the_hs_chapters_of_the_goods(api, declaration_body, hs_codes, needs_quarantine):
    # given goods of these HS codes
    body = declaration_body(goods=[_goods(hs_code=code, gross_weight_kg="1000") for code in hs_codes])

    # when declared
    response = api.post(URL, body, format="json")

    # then the declaration needs quarantine only for the food, plant and animal chapters
    assert response.status_code == 201, response.content
    assert response.json()["needs_quarantine"] is needs_quarantine


# --- The list's filters ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "2026-11-21T25:00"])
def test_malformed_created_after_filter_is_refused(api, value):
    response = api.get(URL, {"created_after": value})

    errors = field_errors(response)
    assert {field for field, _code in errors} == {"created_after"}


def test_unknown_status_filter_is_refused(api):
    response = api.get(URL, {"status": "flying"})

    assert {field for field, _code in field_errors(response)} == {"status"}


def test_well_formed_created_after_filter_is_accepted(api, declare):
    declare()

    response = api.get(URL, {"created_after": "2000-01-01T00:00:00Z"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


# --- Amending and cancelling are checked the same way ------------------------------------------


@pytest.fixture
def declared(declare):
    response = declare()
    assert response.status_code == 201, response.content
    return response


def _amend(api, declared, body, version=None):
    return api.patch(f"{URL}{declared.json()['id']}/", body, format="json", HTTP_IF_MATCH=version or declared["ETag"])


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"route": "1088/2-1089"}, "route", "not_amendable"),
        ({"direction": "import"}, "direction", "not_amendable"),
        ({"colour": "red"}, "colour", "unknown_field"),
        ({"status": "cleared"}, "status", "read_only_field"),
        ({"containers": [{"number": "CSQU3054384", "size": "40"}]}, "containers[0].number", "invalid_check_digit"),
        ({"goods": []}, "goods", "empty"),
        ({"expected_arrival": "2030-01-01T08:00:00"}, "expected_arrival", "timezone_required"),
        # A part sent replaces the one held, so it must be whole.
        ({"vehicle": {"plate": "12C-999.99", "country": "VN"}}, "vehicle.max_gross_weight_kg", "required"),
        ({"goods": [{"hs_code": "85171200", "description": "Phones"}]}, "goods[0].quantity", "required"),
        ({"driver": {"full_name": "Trần Văn Bình"}}, "driver.document_number", "required"),
    ],
    ids=[
        "route",
        "direction",
        "unknown-field",
        "server-field",
        "container-check-digit",
        "goods-empty",
        "arrival-without-offset",
        "vehicle-partial",
        "goods-line-partial",
        "driver-partial",
    ],
)
def test_an_amendment_breaking_a_rule_is_refused(api, declared, body, field, code):
    # given a declaration as it stands
    before = api.get(f"{URL}{declared.json()['id']}/")

    # when an amendment breaks a rule
    response = _amend(api, declared, body, version=before["ETag"])

    # then it is refused naming the field, and the declaration is unchanged
    assert (field, code) in field_errors(response)
    assert api.get(f"{URL}{declared.json()['id']}/").json() == before.json()


def test_an_amendment_with_nothing_in_it_is_refused(api, declared):
    response = _amend(api, declared, {})

    assert (None, "empty_amendment") in field_errors(response)


def test_an_amendment_arriving_too_soon_is_refused(api, declared):
    response = _amend(api, declared, {"expected_arrival": arrival_in(1)})

    assert field_errors(response) == {("expected_arrival", "arrival_too_soon")}


def test_an_amendment_overloading_the_vehicle_is_refused(api, declared):
    response = _amend(api, declared, {"goods": [_goods(gross_weight_kg="40001")]})

    assert field_errors(response) == {("goods", "overweight")}


def test_an_amendment_without_if_match_is_428(api, declared):
    response = api.patch(f"{URL}{declared.json()['id']}/", {"goods": [_goods()]}, format="json")

    assert assert_problem(response, 428)["code"] == "precondition_required"


def test_an_amendment_of_a_stale_version_is_412(api, declared):
    response = _amend(api, declared, {"goods": [_goods()]}, version='"7"')

    assert assert_problem(response, 412)["code"] == "version_mismatch"


def test_an_amendment_to_chapter_85_only_clears_needs_quarantine(api, declared):
    response = _amend(api, declared, {"goods": [_goods(hs_code="85171200")]})

    assert response.status_code == 200, response.content
    assert response.json()["needs_quarantine"] is False
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "reason", "required"),
        ({"reason": "no"}, "reason", "min_length"),
        ({"reason": "x" * 501}, "reason", "max_length"),
        ({"reason": "Truck broke down", "status": "cancelled"}, "status", "read_only_field"),
    ],
)
def test_a_cancel_without_a_proper_reason_is_refused(api, declared, body, field, code):
    # given a declaration as it stands
    before = api.get(f"{URL}{declared.json()['id']}/").json()

    # when it is cancelled without a proper reason
    response = api.post(f"{URL}{declared.json()['id']}/cancel/", body, format="json")

    # then the reason is named, and the declaration is not cancelled
    assert (field, code) in field_errors(response)
    assert api.get(f"{URL}{declared.json()['id']}/").json() == before
    assert Declaration.objects.get().status != "cancelled"
