"""Declare, read, list, amend and cancel over HTTP, as a forwarder's ERP does."""

from clearance.models import Declaration, DeclarationEvent
from tests.factories import arrival_in, container


def test_declaring_returns_the_declaration_as_get_returns_it(api, declare):
    response = declare()

    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"/api/v1/declarations/{body['id']}/"
    assert response["ETag"] == '"1"'
    assert body == api.get(response["Location"]).json()
    assert body["reference"].startswith("SG-20") and len(body["reference"]) == 14
    # The checks are written with the declaration; their tasks run after commit.
    assert (body["status"], body["stage"], body["version"]) == ("checking", "expected", 1)
    assert sorted((c["kind"], c["status"]) for c in body["checks"]) == [
        ("border_guard", "pending"),
        ("customs", "pending"),
        ("health", "pending"),
        ("quarantine", "pending"),
    ]
    assert body["channel"] is None
    assert body["needs_quarantine"] is True  # durian, HS chapter 08
    assert body["vehicle"]["plate"] == "12C-123.45"
    assert body["trailer"]["plate"] == "12R-012.34"
    assert body["driver"]["full_name"] == "Nguyễn Văn An"
    assert body["containers"] == [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}]
    assert body["goods"][0]["hs_code"] == "08106000"
    assert body["customs_declarations"] == [{"number": "305123456789", "type": "B11"}]
    assert body["created_at"].endswith("Z")


def test_optional_parts_may_be_left_out(api, declaration_body):
    body = declaration_body()
    for optional in ("trailer", "containers", "quarantine_certificates"):
        body.pop(optional)

    response = api.post("/api/v1/declarations/", body, format="json")

    assert response.status_code == 201
    assert (response.json()["trailer"], response.json()["containers"]) == (None, [])


def test_second_declaration_for_the_same_vehicle_names_the_first(declare):
    first = declare().json()

    again = declare(customs_declarations=[{"number": "305123456790", "type": "B11"}])

    assert again.status_code == 409
    assert again.json()["code"] == "vehicle_has_active_crossing"
    assert first["reference"] in again.json()["detail"]


def test_plate_written_differently_is_the_same_vehicle(declare):
    declare()

    again = declare(
        vehicle={"plate": "12c12345", "country": "VN", "max_gross_weight_kg": 40000},
        customs_declarations=[{"number": "305123456790", "type": "B11"}],
    )

    assert again.status_code == 409


def test_customs_number_cannot_be_on_two_active_crossings(declare):
    declare()

    other_truck = declare(vehicle={"plate": "12C-555.55", "country": "VN", "max_gross_weight_kg": 40000})

    assert other_truck.status_code == 409
    assert other_truck.json()["code"] == "customs_declaration_in_use"


def test_cancelling_frees_the_vehicle_and_customs_numbers(api, declare):
    first = declare().json()

    cancelled = api.post(f"/api/v1/declarations/{first['id']}/cancel/", {"reason": "Trip postponed"}, format="json")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert declare().status_code == 201


def test_cancel_needs_a_reason(api, declare):
    first = declare().json()

    response = api.post(f"/api/v1/declarations/{first['id']}/cancel/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "reason"


def test_cannot_cancel_once_in_lane(api, declare):
    first = declare().json()
    Declaration.objects.filter(id=first["id"]).update(stage="in_lane")

    response = api.post(f"/api/v1/declarations/{first['id']}/cancel/", {"reason": "too late"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "not_cancellable"


def test_amend_with_current_etag_bumps_the_version(api, declare):
    created = declare()
    url = created["Location"]

    response = api.patch(url, {"expected_arrival": arrival_in(30)}, format="json", HTTP_IF_MATCH=created["ETag"])

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response["ETag"] == '"2"'


def test_amend_replaces_goods_and_swaps_the_driver(api, declare):
    created = declare()
    goods = [
        {
            "hs_code": "85171300",
            "description": "Mobile phones",
            "quantity": "1000",
            "unit": "PCE",
            "gross_weight_kg": "500",
            "value": "200000.00",
            "currency": "USD",
            "origin_country": "VN",
        }
    ]
    driver = {
        "full_name": "Trần Thị Bình",
        "nationality": "VN",
        "document_type": "border_pass",
        "document_number": "BP123456",
        "document_expires": "2029-01-01",
    }

    response = api.patch(
        created["Location"], {"goods": goods, "driver": driver}, format="json", HTTP_IF_MATCH=created["ETag"]
    )

    body = response.json()
    assert [line["hs_code"] for line in body["goods"]] == ["85171300"]
    assert body["needs_quarantine"] is False
    assert body["driver"]["full_name"] == "Trần Thị Bình"
    assert body["containers"] == created.json()["containers"]  # untouched parts stay


def test_amend_without_if_match_is_428_and_stale_is_412(api, declare):
    created = declare()
    url = created["Location"]

    missing = api.patch(url, {"expected_arrival": arrival_in(30)}, format="json")
    api.patch(url, {"expected_arrival": arrival_in(30)}, format="json", HTTP_IF_MATCH='"1"')
    stale = api.patch(url, {"expected_arrival": arrival_in(31)}, format="json", HTTP_IF_MATCH='"1"')

    assert missing.status_code == 428
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2


def test_amend_after_entering_the_lane_is_409(api, declare):
    created = declare()
    Declaration.objects.filter(id=created.json()["id"]).update(stage="in_lane")

    response = api.patch(
        created["Location"], {"expected_arrival": arrival_in(30)}, format="json", HTTP_IF_MATCH=created["ETag"]
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_amendable"


def test_route_and_direction_cannot_be_amended(api, declare):
    created = declare()

    response = api.patch(created["Location"], {"route": "1088/2-1089"}, format="json", HTTP_IF_MATCH=created["ETag"])

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "route",
        "code": "not_amendable",
        "message": response.json()["errors"][0]["message"],
    }


def test_swapping_to_a_vehicle_with_an_active_crossing_is_409(api, declare):
    declare(
        vehicle={"plate": "12C-555.55", "country": "VN", "max_gross_weight_kg": 40000},
        customs_declarations=[{"number": "305123456790", "type": "B11"}],
        containers=[container(1)],
    )
    created = declare()

    response = api.patch(
        created["Location"],
        {"vehicle": {"plate": "12C55555", "country": "VN", "max_gross_weight_kg": 40000}},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )

    assert response.status_code == 409
    assert response.json()["code"] == "vehicle_has_active_crossing"


def test_audit_trail_says_who_did_what_and_why(api, declare):
    created = declare()
    api.patch(created["Location"], {"expected_arrival": arrival_in(30)}, format="json", HTTP_IF_MATCH='"1"')
    api.post(f"{created['Location']}cancel/", {"reason": "Buyer cancelled the order"}, format="json")

    events = api.get(f"{created['Location']}events/").json()["results"]

    assert [(e["event"], e["version"]) for e in events] == [
        ("submitted", 1),
        ("checks_started", 1),
        ("amended", 2),
        ("checks_started", 2),
        ("cancelled", 2),
    ]
    assert all(e["actor"] == "0101234565:erp" and e["actor_kind"] == "api_key" for e in events)
    assert events[2]["data"] == {"changed": ["expected_arrival"]}
    assert events[4]["reason"] == "Buyer cancelled the order"
    assert DeclarationEvent.objects.count() == 5


def test_list_filters_and_cursor_pagination(api, declare, django_assert_max_num_queries):
    for index in range(5):
        declare(
            vehicle={"plate": f"12C-100.0{index}", "country": "VN", "max_gross_weight_kg": 40000},
            customs_declarations=[{"number": f"30512345600{index}", "type": "A11" if index % 2 else "B11"}],
            direction="import" if index % 2 else "export",
            containers=[container(index)],
        )

    with django_assert_max_num_queries(10):
        first_page = api.get("/api/v1/declarations/?limit=2").json()
    second_page = api.get(first_page["next"]).json()
    imports = api.get("/api/v1/declarations/?direction=import").json()["results"]
    by_plate = api.get("/api/v1/declarations/?plate=12c 100.03").json()["results"]

    assert len(first_page["results"]) == 2 and len(second_page["results"]) == 2
    assert first_page["results"][0]["id"] > second_page["results"][0]["id"]  # newest first
    assert {d["direction"] for d in imports} == {"import"} and len(imports) == 2
    assert [d["vehicle"]["plate"] for d in by_plate] == ["12C-100.03"]


def test_list_queries_do_not_grow_with_the_page(api, declare, django_assert_max_num_queries):
    for index in range(30):
        declare(
            vehicle={"plate": f"12C-200.{index:02d}", "country": "VN", "max_gross_weight_kg": 40000},
            customs_declarations=[{"number": f"3051234570{index:02d}", "type": "B11"}],
            containers=[container(index)],
        )

    with django_assert_max_num_queries(10):
        response = api.get("/api/v1/declarations/?limit=30")

    assert len(response.json()["results"]) == 30
