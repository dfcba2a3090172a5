"""What the factories build, as a forwarder sees it through the API: this is also their documentation."""

from datetime import datetime, time

import pytest
from django.utils import timezone
from stdnum.vn import mst

from clearance.models import Declaration, HsRiskRule
from tests.factories import (
    LAPTOPS,
    PHONES,
    CompanyFactory,
    DeclarationFactory,
    StageNotReached,
    TruckBody,
    client_for,
    forwarder,
    truck_plate,
    truck_plate_read,
)
from vehicles.models import LOCAL_TZ, local_date

Status = Declaration.Status
Stage = Declaration.Stage

pytestmark = pytest.mark.usefixtures("reference", "tariff")


def seen(api, declaration: Declaration) -> dict:
    body = api.get(f"/api/v1/declarations/{declaration.id}/").json()
    return {
        "status": body["status"],
        "stage": body["stage"],
        "fee": body["fee"]["status"] if body["fee"] else None,
        "lane": body["lane"],
    }


def events(api, declaration: Declaration) -> list[str]:
    return [event["event"] for event in api.get(f"/api/v1/declarations/{declaration.id}/events/").json()["results"]]


@pytest.fixture
def smartphones_reviewed(db):
    """Smartphones are under-declared: customs reviews their documents (status inspection)."""
    HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Smartphones under-declared")


# --- The body -------------------------------------------------------------------------------------------


def test_the_nth_truck_has_its_own_plate_permit_and_customs_number():
    body = TruckBody(n=7)

    assert body["vehicle"]["plate"] == truck_plate(7) == "12C-300.07"
    assert truck_plate_read(7) == "12C30007"
    assert body["vehicle"]["permit_number"] == "VN-CN-2026-30007"
    assert body["customs_declarations"] == [{"number": "307000030007", "type": "B11"}]
    assert (body["goods"], body["trailer"], body["containers"], body["quarantine_certificates"]) == (
        LAPTOPS,
        None,
        [],
        [],
    )
    assert (body["route"], body["direction"]) == ("1119-1120", "export")


def test_a_body_takes_any_field_and_a_vehicle_field():
    body = TruckBody(n=1, goods=PHONES, direction="import", vehicle__is_autonomous=True)

    assert (body["goods"], body["direction"]) == (PHONES, "import")
    assert body["vehicle"]["is_autonomous"] is True
    assert body["vehicle"]["plate"] == truck_plate(1)
    assert "is_autonomous" not in TruckBody(n=1)["vehicle"]


def test_trucks_without_a_number_never_meet_the_numbered_ones():
    first, second = TruckBody(), TruckBody()

    assert first["vehicle"]["plate"] != second["vehicle"]["plate"]
    assert all(body["vehicle"]["plate"] > truck_plate(999) for body in (first, second))


# --- Companies ------------------------------------------------------------------------------------------


def test_companies_have_valid_distinct_vietnamese_tax_codes(db):
    companies = [CompanyFactory() for _ in range(12)]

    assert all(mst.is_valid(company.tax_code) for company in companies)
    assert len({company.tax_code for company in companies}) == 12
    assert all(company.name for company in companies)


def test_the_forwarder_is_the_company_of_the_api_client(api, company):
    assert forwarder() == company
    declaration = DeclarationFactory()

    assert declaration.company == company
    assert api.get(f"/api/v1/declarations/{declaration.id}/").status_code == 200


def test_a_declaration_of_another_company_is_its_own(api):
    other = CompanyFactory()
    declaration = DeclarationFactory(company=other)

    assert api.get(f"/api/v1/declarations/{declaration.id}/").status_code == 404
    assert client_for(other).get(f"/api/v1/declarations/{declaration.id}/").json()["status"] == "cleared"


# --- Every stage, in one call ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        # Submitting starts the checks in the same transaction: the forwarder sees checking.
        (Status.SUBMITTED, {"status": "checking", "stage": "expected", "fee": None, "lane": None}),
        (Status.CHECKING, {"status": "checking", "stage": "expected", "fee": None, "lane": None}),
        (Status.CLEARED, {"status": "cleared", "stage": "expected", "fee": "issued", "lane": None}),
        (Stage.IN_YARD, {"status": "cleared", "stage": "in_yard", "fee": "paid", "lane": None}),
        (Stage.CALLED, {"status": "cleared", "stage": "called", "fee": "paid", "lane": "1119-EX1"}),
        (Stage.IN_LANE, {"status": "cleared", "stage": "in_lane", "fee": "paid", "lane": "1119-EX1"}),
        (Stage.CROSSED, {"status": "cleared", "stage": "crossed", "fee": "paid", "lane": "1119-EX1"}),
    ],
)
def test_a_declaration_reaches_the_stage_asked_for(api, stage, expected):
    declaration = DeclarationFactory(n=0, stage=stage)

    assert seen(api, declaration) == expected
    assert (declaration.status, declaration.stage) == (expected["status"], expected["stage"])


def test_stages_may_be_given_as_strings(api):
    assert seen(api, DeclarationFactory(n=0, stage="called"))["stage"] == "called"
    assert seen(api, DeclarationFactory(n=1, stage="checking"))["status"] == "checking"


def test_a_crossed_declaration_walked_every_step_of_the_journey(api):
    declaration = DeclarationFactory(n=0, stage=Stage.CROSSED)

    steps = ["submitted", "cleared", "fee_issued", "fee_paid", "arrived_in_yard", "called", "entered_lane", "crossed"]
    assert [event for event in events(api, declaration) if event in steps] == steps
    assert events(api, declaration).count("check_finished") == 4


def test_a_declaration_under_inspection(api, smartphones_reviewed):
    declaration = DeclarationFactory(n=0, stage=Status.INSPECTION, goods=PHONES)

    assert seen(api, declaration) == {"status": "inspection", "stage": "expected", "fee": None, "lane": None}


def test_a_status_and_a_stage_together(api, smartphones_reviewed):
    declaration = DeclarationFactory(n=0, stage=Stage.IN_YARD, status=Status.INSPECTION, goods=PHONES)

    assert seen(api, declaration) == {"status": "inspection", "stage": "in_yard", "fee": None, "lane": None}


def test_an_unpaid_truck_can_be_called_but_not_let_into_the_lane(api):
    assert seen(api, DeclarationFactory(n=0, stage=Stage.CALLED, paid=False))["fee"] == "issued"

    with pytest.raises(StageNotReached, match="fee_unpaid"):
        DeclarationFactory(n=1, stage=Stage.IN_LANE, paid=False)


def test_the_yard_and_lane_can_be_chosen(api):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED, lane="1119-EX2")

    assert seen(api, declaration)["lane"] == "1119-EX2"
    assert declaration.yard.code == "1119-export-yard"
    imported = DeclarationFactory(n=1, stage=Stage.IN_YARD, direction="import")
    assert imported.yard.code == "1119-import-yard"


def test_an_autonomous_truck_is_called_to_the_autonomous_lane(api):
    # Inside the lane's window (the night pilot, 18:30–20:00 local time): outside it, it is not called.
    in_window = datetime.combine(local_date(timezone.now()), time(19, 0), tzinfo=LOCAL_TZ)
    declaration = DeclarationFactory(
        n=0, stage=Stage.CALLED, vehicle__is_autonomous=True, arrived_at=in_window, called_at=in_window
    )

    assert seen(api, declaration)["lane"] == "1119-AV1"


def test_a_stage_the_services_do_not_reach_is_reported(smartphones_reviewed):
    with pytest.raises(StageNotReached, match="is inspection, expected, not cleared"):
        DeclarationFactory(n=0, goods=PHONES)


def test_an_unknown_stage_is_refused(db):
    with pytest.raises(ValueError):
        DeclarationFactory(stage="flying")
    with pytest.raises(ValueError):
        DeclarationFactory(stage=Status.CLEARED, status=Status.INSPECTION)
