"""The record holds against another company: a declaration keeps what was declared for it, the shared
registry learns only audited facts, clashes never disclose another company's crossing, and the
watchlist sees every name a document has been declared with."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from clearance.audit import Actor
from clearance.errors import Conflict, NotYourForce
from clearance.models import (
    Check,
    Declaration,
    DeclarationEvent,
    HsRiskRule,
    Inspection,
    UnmatchedArrival,
    WatchlistEntry,
)
from clearance.services.dispatch import declaration_call_forward, dispatch_run
from clearance.services.gate import weighbridge_record
from clearance.services.inspections import inspection_record_result
from clearance.services.slots import slots_generate
from clearance.services.yard import arrival_hold_waive, yard_arrival_record
from tests.factories import PHONES, DeclarationFactory, TruckBody, arrival_in, truck_plate_read
from vehicles.models import LOCAL_TZ, Driver, GateDevice, Lane, Movement, RegistryFact, Yard, local_date

DRIVER = {
    "full_name": "Nguyễn Văn An",
    "nationality": "VN",
    "document_type": "passport",
    "document_number": "C7654321",
    "document_expires": "2030-01-01",
}


def declare(client, **fields) -> dict:
    response = client.post("/api/v1/declarations/", TruckBody(**fields), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_another_companys_declaration_of_the_same_driver_does_not_rewrite_mine(api, other_api):
    mine = declare(api, n=1, driver=DRIVER)
    events_before = DeclarationEvent.objects.filter(declaration_id=mine["id"]).count()

    declare(other_api, n=2, driver={**DRIVER, "full_name": "Trần Văn Bình", "document_expires": "2027-01-02"})

    seen = api.get(f"/api/v1/declarations/{mine['id']}/").json()
    assert seen["driver"]["full_name"] == "Nguyễn Văn An"
    assert seen["driver"]["document_expires"] == "2030-01-01"
    assert seen["version"] == mine["version"]
    assert DeclarationEvent.objects.filter(declaration_id=mine["id"]).count() == events_before


def test_another_companys_declaration_of_the_same_vehicle_does_not_rewrite_mine(api, other_api):
    mine = declare(api, n=1)
    api.post(f"/api/v1/declarations/{mine['id']}/cancel/", {"reason": "Trip postponed"}, format="json")
    again = declare(api, n=1)  # the same truck, declared again by its own company
    assert again["vehicle"]["max_gross_weight_kg"] == 40000

    vehicle = TruckBody(n=1)["vehicle"]
    response = other_api.post(
        "/api/v1/declarations/",
        TruckBody(n=3, vehicle={**vehicle, "max_gross_weight_kg": 26000, "permit_number": "CN-XX-1"}),
        format="json",
    )

    assert response.status_code == 409
    seen = api.get(f"/api/v1/declarations/{again['id']}/").json()
    assert (seen["vehicle"]["max_gross_weight_kg"], seen["vehicle"]["permit_number"]) == (
        40000,
        vehicle["permit_number"],
    )


def test_a_clash_with_another_companys_crossing_does_not_name_it(api, other_api):
    mine = declare(api, n=1)

    response = other_api.post("/api/v1/declarations/", TruckBody(n=1), format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "vehicle_has_active_crossing"
    assert mine["reference"] not in str(body) and "declaration" not in body
    assert "another company" in body["detail"]


def test_a_clash_of_customs_numbers_with_another_company_does_not_name_it(api, other_api):
    mine = declare(api, n=1)
    numbers = TruckBody(n=1)["customs_declarations"]

    response = other_api.post("/api/v1/declarations/", TruckBody(n=2, customs_declarations=numbers), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "customs_declaration_in_use"
    assert mine["reference"] not in str(response.json())


def test_a_clash_with_my_own_crossing_names_it(api):
    mine = declare(api, n=1)

    response = api.post("/api/v1/declarations/", TruckBody(n=1), format="json")

    assert response.status_code == 409
    assert response.json()["declaration"] == mine["reference"]


def test_my_amendment_is_judged_by_what_i_declared_not_by_another_companys_later_values(api, other_api):
    mine = declare(api, n=1, driver=DRIVER, expected_arrival=arrival_in(24 * 5))
    # Another company declares the same passport as expiring before my crossing, on a crossing of its own
    # that is accepted because it arrives earlier (tomorrow, the last day of that validity).
    theirs = TruckBody(n=2)
    declare(other_api, n=2, driver={**DRIVER, "document_expires": theirs["expected_arrival"][:10]})

    response = api.patch(
        f"/api/v1/declarations/{mine['id']}/",
        {"goods": TruckBody(n=1)["goods"]},
        format="json",
        HTTP_IF_MATCH=f'"{mine["version"]}"',
    )

    assert response.status_code == 200, response.json()


def test_the_registry_keeps_each_change_as_a_fact_with_its_source(api, other_api, other_company):
    declare(api, n=1, driver=DRIVER)
    declare(other_api, n=2, driver={**DRIVER, "full_name": "Trần Văn Bình"})

    driver = Driver.objects.get(document_number=DRIVER["document_number"])
    fact = RegistryFact.objects.get(subject=RegistryFact.Subject.DRIVER, subject_id=driver.id)
    assert fact.changes == {"full_name": ["Nguyễn Văn An", "Trần Văn Bình"]}
    assert other_company.tax_code in fact.source
    assert driver.full_name == "Trần Văn Bình" and driver.name_key == "tran van binh"


@pytest.mark.parametrize("listed_as", ["Lê Văn Cấm", "le van cam", "Cấm Lê Văn"])
def test_a_watchlisted_name_declared_after_a_harmless_one_is_not_cleared(
    api, other_api, django_capture_on_commit_callbacks, listed_as
):
    WatchlistEntry.objects.create(
        kind=WatchlistEntry.Kind.PERSON, full_name=listed_as, action=WatchlistEntry.Action.DENY, reason="Entry ban"
    )
    with django_capture_on_commit_callbacks(execute=True):
        harmless = declare(api, n=1, driver=DRIVER)
    with django_capture_on_commit_callbacks(execute=True):
        listed = declare(other_api, n=2, driver={**DRIVER, "full_name": "Lê Văn Cấm"})

    assert Declaration.objects.get(id=harmless["id"]).status == Declaration.Status.CLEARED
    declaration = Declaration.objects.get(id=listed["id"])
    assert declaration.status == Declaration.Status.REJECTED
    check = Check.objects.get(declaration=declaration, kind=Check.Kind.BORDER_GUARD)
    assert "driver_watchlisted" in [reason["code"] for reason in check.reasons]


def test_a_document_once_declared_under_a_watchlisted_name_is_caught_under_any_other(
    api, django_capture_on_commit_callbacks
):
    WatchlistEntry.objects.create(
        kind=WatchlistEntry.Kind.PERSON, full_name="Lê Văn Cấm", action=WatchlistEntry.Action.FLAG, reason="Watch"
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = declare(api, n=1, driver={**DRIVER, "full_name": "Lê Văn Cấm"})
    api.post(f"/api/v1/declarations/{first['id']}/cancel/", {"reason": "Trip postponed"}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        renamed = declare(api, n=2, driver={**DRIVER, "full_name": "Phạm Văn Hiền"})

    assert Declaration.objects.get(id=renamed["id"]).status == Declaration.Status.INSPECTION


# --- The gate's rules ---------------------------------------------------------------------------------

CAMERA = Actor(kind=DeclarationEvent.ActorKind.DEVICE, name="camera-1088-yard")


def test_a_yard_of_the_other_route_refuses_the_arrival_and_records_nothing(reference, tariff):
    declaration = DeclarationFactory(n=1, stage=Declaration.Stage.EXPECTED)  # route 1119-1120
    other_route_yard = Yard.objects.get(code="1088-yard")

    with pytest.raises(Conflict) as refused:
        yard_arrival_record(
            plate_read=truck_plate_read(1),
            yard=other_route_yard,
            occurred_at=timezone.now(),
            source=CAMERA.name,
            actor=CAMERA,
        )

    assert refused.value.code == "wrong_route" and "1119-1120" in refused.value.detail
    declaration.refresh_from_db()
    assert declaration.stage == Declaration.Stage.EXPECTED
    assert not Movement.objects.exists() and not UnmatchedArrival.objects.exists()


def test_a_second_read_of_a_waiting_vehicle_keeps_its_place_and_adds_no_unmatched_arrival(reference, tariff):
    declaration = DeclarationFactory(n=1, stage=Declaration.Stage.IN_YARD)
    arrived_at = declaration.arrived_at

    again = yard_arrival_record(
        plate_read=truck_plate_read(1),
        yard=declaration.yard,
        occurred_at=timezone.now(),
        source=CAMERA.name,
        actor=CAMERA,
    )

    assert again.declaration.id == declaration.id and again.unmatched is None
    declaration.refresh_from_db()
    assert (declaration.stage, declaration.arrived_at) == (Declaration.Stage.IN_YARD, arrived_at)
    assert not UnmatchedArrival.objects.exists()
    assert Movement.objects.filter(normalized_plate=truck_plate_read(1), kind=Movement.Kind.YARD_IN).count() == 2


def test_a_weighing_after_a_passed_inspection_opens_a_new_one_and_keeps_the_result(
    reference, tariff, django_user_model
):
    HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Smartphones under-declared")  # yellow
    declaration = DeclarationFactory(
        n=1, stage=Declaration.Stage.IN_YARD, status=Declaration.Status.INSPECTION, goods=PHONES
    )
    supervisor = django_user_model.objects.create_superuser("sv", password="x")
    for inspection in Inspection.objects.filter(declaration=declaration, status=Inspection.Status.OPEN):
        inspection_record_result(inspection_id=inspection.id, user=supervisor, passed=True, notes="All in order.")
    passed = Inspection.objects.get(declaration=declaration, force=Inspection.Force.CUSTOMS)
    device = GateDevice.objects.create(kind=GateDevice.Kind.WEIGHBRIDGE, yard=declaration.yard, name="wb-1")

    weighbridge_record(device=device, plate=truck_plate_read(1), gross_weight_kg=90_000, measured_at=timezone.now())

    passed.refresh_from_db()
    assert (passed.status, passed.notes) == (Inspection.Status.PASSED, "All in order.")
    reopened = Inspection.objects.get(declaration=declaration, status=Inspection.Status.OPEN)
    assert (reopened.force, reopened.kind) == (Inspection.Force.CUSTOMS, Inspection.Kind.PHYSICAL)
    assert Declaration.objects.get(id=declaration.id).status == Declaration.Status.INSPECTION


def test_releasing_and_booking_again_counts_as_a_move(api, reference, settings):
    settings.SMARTGATE_SLOT_MAX_MOVES = 1
    slots_generate()
    declaration = declare(api, n=1)
    hours = [timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=h) for h in (30, 31, 32)]

    def book(at):
        return api.post(f"/api/v1/declarations/{declaration['id']}/slot/", {"starts_at": at.isoformat()}, format="json")

    assert book(hours[0]).status_code == 200
    assert api.delete(f"/api/v1/declarations/{declaration['id']}/slot/").status_code == 200
    assert book(hours[1]).status_code == 200  # the one move allowed
    assert api.delete(f"/api/v1/declarations/{declaration['id']}/slot/").status_code == 200

    refused = book(hours[2])

    assert refused.status_code == 409 and refused.json()["code"] == "slot_move_limit"


# --- Identifiers the crossing must agree with ------------------------------------------------------------


def problem_fields(response) -> dict[str, str]:
    assert response.status_code == 400, response.json()
    return {error["field"]: error["code"] for error in response.json()["errors"]}


@pytest.mark.parametrize(("direction", "wrong"), [("export", "A11"), ("export", "C11"), ("import", "B11")])
def test_a_customs_type_of_the_other_direction_is_refused_on_that_number(api, direction, wrong):
    body = TruckBody(n=1, direction=direction)
    right = {**body["customs_declarations"][0], "type": "B11" if direction == "export" else "A11"}
    body["customs_declarations"] = [right, {"number": "305999999999", "type": wrong}]

    response = api.post("/api/v1/declarations/", body, format="json")

    assert problem_fields(response) == {"customs_declarations[1].type": "type_not_for_direction"}
    assert direction in response.json()["errors"][0]["message"]


def test_an_amendment_cannot_bring_a_type_of_the_other_direction(api):
    mine = declare(api, n=1)  # export

    response = api.patch(
        f"/api/v1/declarations/{mine['id']}/",
        {"customs_declarations": [{"number": "105123456789", "type": "A11"}]},
        format="json",
        HTTP_IF_MATCH=f'"{mine["version"]}"',
    )

    assert problem_fields(response) == {"customs_declarations[0].type": "type_not_for_direction"}


@pytest.mark.parametrize("code", ["081060", "0810600", "081060001", "0810600000"])
def test_hs_codes_on_goods_lines_are_the_8_digits_of_vietnams_tariff(api, code):
    body = TruckBody(n=1)
    body["goods"] = [{**body["goods"][0], "hs_code": code}]

    response = api.post("/api/v1/declarations/", body, format="json")

    assert problem_fields(response) == {"goods[0].hs_code": "invalid_hs_code"}


# --- One container, one active crossing --------------------------------------------------------------

CONTAINER = [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}]


def test_a_container_on_another_companys_active_crossing_is_refused_without_naming_it(api, other_api):
    mine = declare(api, n=1, containers=CONTAINER)

    response = other_api.post("/api/v1/declarations/", TruckBody(n=2, containers=CONTAINER), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "container_in_use"
    assert mine["reference"] not in str(response.json()) and "another company" in response.json()["detail"]


def test_a_container_on_my_own_active_crossing_is_named(api):
    mine = declare(api, n=1, containers=CONTAINER)

    response = api.post("/api/v1/declarations/", TruckBody(n=2, containers=CONTAINER), format="json")

    assert response.status_code == 409 and response.json()["declaration"] == mine["reference"]


def test_a_container_is_free_again_once_its_crossing_is_cancelled(api, other_api):
    mine = declare(api, n=1, containers=CONTAINER)
    api.post(f"/api/v1/declarations/{mine['id']}/cancel/", {"reason": "Trip postponed"}, format="json")

    declare(other_api, n=2, containers=CONTAINER)


def test_an_amendment_cannot_take_a_container_of_another_active_crossing(api):
    declare(api, n=1, containers=CONTAINER)
    other = declare(api, n=2)

    response = api.patch(
        f"/api/v1/declarations/{other['id']}/",
        {"containers": CONTAINER},
        format="json",
        HTTP_IF_MATCH=f'"{other["version"]}"',
    )

    assert response.status_code == 409 and response.json()["code"] == "container_in_use"


# --- What the forwarder reads of its checks ----------------------------------------------------------


def test_a_green_customs_check_reads_as_green_not_under_review(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mine = declare(api, n=1)

    checks = {check["kind"]: check for check in api.get(f"/api/v1/declarations/{mine['id']}/").json()["checks"]}

    assert checks["customs"]["outcome"] == "green"
    assert [reason["code"] for reason in checks["customs"]["reasons"]] == ["green_channel"]
    assert "under_review" not in str(checks)
    finished = [
        event
        for event in api.get(f"/api/v1/declarations/{mine['id']}/events/").json()["results"]
        if event["event"] == "check_finished" and event["data"]["check"] == "customs"
    ]
    assert [reason["code"] for reason in finished[0]["data"]["reasons"]] == ["green_channel"]


def test_a_yellow_customs_check_is_still_under_review(api, django_capture_on_commit_callbacks):
    HsRiskRule.objects.create(hs_prefix="8471", weight=35, description="Laptops")
    with django_capture_on_commit_callbacks(execute=True):
        mine = declare(api, n=1)

    checks = {check["kind"]: check for check in api.get(f"/api/v1/declarations/{mine['id']}/").json()["checks"]}

    assert checks["customs"]["outcome"] == "yellow"
    assert [reason["code"] for reason in checks["customs"]["reasons"]] == ["under_review"]


# --- Slots respect the notice and the declared arrival ------------------------------------------------


@pytest.fixture
def slots_ahead(reference):
    slots_generate(days=3)


def hour_from_now(hours: int):
    return timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


def book_slot(api, declaration: dict, at):
    return api.post(f"/api/v1/declarations/{declaration['id']}/slot/", {"starts_at": at.isoformat()}, format="json")


def test_a_slot_inside_the_notice_period_is_refused(api, slots_ahead):
    mine = declare(api, n=1, expected_arrival=arrival_in(6))  # the gate's notice is 3 hours

    response = book_slot(api, mine, hour_from_now(2))

    assert problem_fields(response) == {"starts_at": "slot_within_notice"}


def test_a_slot_days_away_from_the_declared_arrival_is_refused(api, slots_ahead, settings):
    settings.SMARTGATE_SLOT_ARRIVAL_WINDOW_HOURS = 6
    mine = declare(api, n=1, expected_arrival=arrival_in(12))

    too_far = book_slot(api, mine, hour_from_now(40))
    near = book_slot(api, mine, hour_from_now(14))

    assert problem_fields(too_far) == {"starts_at": "slot_far_from_arrival"}
    assert near.status_code == 200, near.json()


def test_one_400_lists_format_errors_and_the_rules_broken_by_the_well_formed_parts(api):
    body = TruckBody(n=1)
    body["goods"] = [{**body["goods"][0], "gross_weight_kg": "45000"}]  # above the vehicle's 40,000 kg
    body["driver"] = {**body["driver"], "document_expires": "2020-01-01"}  # expired before the arrival
    body["customs_declarations"] = [{"number": "12", "type": "B11"}]  # malformed

    response = api.post("/api/v1/declarations/", body, format="json")

    assert problem_fields(response) == {
        "customs_declarations[0].number": "invalid_declaration_number",
        "driver.document_expires": "document_expired",
        "goods": "overweight",
    }


def test_one_400_to_an_amendment_lists_format_errors_and_the_rules_broken_by_the_well_formed_parts(api):
    mine = declare(api, n=1)
    goods = TruckBody(n=1)["goods"]

    response = api.patch(
        f"/api/v1/declarations/{mine['id']}/",
        {
            "goods": [{**goods[0], "gross_weight_kg": "45000"}],  # above the vehicle's 40,000 kg
            "customs_declarations": [{"number": "12", "type": "B11"}],  # malformed
        },
        format="json",
        HTTP_IF_MATCH=f'"{mine["version"]}"',
    )

    assert problem_fields(response) == {
        "customs_declarations[0].number": "invalid_declaration_number",
        "goods": "overweight",
    }
    assert api.get(f"/api/v1/declarations/{mine['id']}/").json()["version"] == mine["version"]


@pytest.fixture
def at_eight_in_the_morning():
    """08:00 at the gate: every lane is open through the morning."""
    with time_machine.travel(datetime.combine(local_date(timezone.now()), time(8, 0), tzinfo=LOCAL_TZ), tick=False):
        yield


def arrive_early(declaration: Declaration, *, minutes_after_declaring: int) -> Declaration:
    yard_arrival_record(
        plate_read=truck_plate_read(declaration_n(declaration)),
        yard=Yard.objects.get(code="1119-export-yard"),
        occurred_at=declaration.created_at + timedelta(minutes=minutes_after_declaring),
        source=CAMERA.name,
        actor=CAMERA,
    )
    return Declaration.objects.get(id=declaration.id)


def declaration_n(declaration: Declaration) -> int:
    return next(n for n in range(10) if truck_plate_read(n) == declaration.vehicle.normalized_plate)


def test_a_truck_reaching_the_yard_before_its_notice_has_run_is_held_and_not_called(
    reference, tariff, at_eight_in_the_morning, api, company
):
    declaration = DeclarationFactory(n=1, company=company)  # cleared, declared at 08:00; notice 3 h

    waiting = arrive_early(declaration, minutes_after_declaring=30)

    assert waiting.stage == Declaration.Stage.IN_YARD
    assert waiting.arrival_held_until == declaration.created_at + timedelta(hours=3)
    assert dispatch_run() == []
    with pytest.raises(Conflict) as refused:
        declaration_call_forward(
            declaration_id=declaration.id, lane_id=Lane.objects.get(code="1119-EX1").id, actor=Actor.system("gate")
        )
    assert refused.value.code == "arrival_held"
    held = api.get(f"/api/v1/declarations/{declaration.id}/events/").json()["results"]
    assert [e["event"] for e in held][-2:] == ["arrived_in_yard", "arrival_held"]
    assert "notice" in held[-1]["reason"]


def test_a_truck_held_on_arrival_is_called_once_its_notice_has_run(reference, tariff, at_eight_in_the_morning):
    declaration = DeclarationFactory(n=1)
    arrive_early(declaration, minutes_after_declaring=30)

    assert dispatch_run(now=timezone.now() + timedelta(hours=2, minutes=59)) == []
    called = dispatch_run(now=timezone.now() + timedelta(hours=3, minutes=1))

    assert [d.id for d in called] == [declaration.id]


def test_a_supervisor_waives_an_early_arrival_hold_with_a_reason(
    reference, tariff, at_eight_in_the_morning, django_user_model
):
    declaration = DeclarationFactory(n=1)
    arrive_early(declaration, minutes_after_declaring=30)
    operator = django_user_model.objects.create_user("op", is_staff=True)
    supervisor = django_user_model.objects.create_superuser("sv", password="x")

    with pytest.raises(NotYourForce):
        arrival_hold_waive(declaration_id=declaration.id, user=operator, reason="I let it through")
    arrival_hold_waive(declaration_id=declaration.id, user=supervisor, reason="Checks already done")

    assert [d.id for d in dispatch_run()] == [declaration.id]
    waived = DeclarationEvent.objects.get(declaration=declaration, event=DeclarationEvent.Kind.ARRIVAL_HOLD_WAIVED)
    assert (waived.actor, waived.user_id, waived.reason) == ("sv", supervisor.id, "Checks already done")


def test_a_truck_declared_in_time_is_not_held(reference, tariff, at_eight_in_the_morning):
    declaration = DeclarationFactory(n=1)

    waiting = arrive_early(declaration, minutes_after_declaring=3 * 60)

    assert waiting.arrival_held_until is None
    assert not DeclarationEvent.objects.filter(declaration=declaration, event="arrival_held").exists()
