"""A crossing from the forwarder's declaration to the border line: the yard and border cameras, the
weighbridge, the officers' inspection results, a supervisor's word on a held crossing, the autonomous
vehicles' handover — as gate operators, officers and forwarders see them through the API."""

import hashlib
import hmac
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from clearance import roles
from clearance.errors import Conflict, NotYourForce
from clearance.models import (
    Declaration,
    DeclarationEvent,
    Fee,
    Handover,
    HsRiskRule,
    Inspection,
    UnmatchedArrival,
)
from clearance.services.dispatch import dispatch_run
from clearance.services.inspections import declaration_reject_held, declaration_release
from clearance.services.operations import officer_token_issue
from tests.factories import PHONES, DeclarationFactory, notice_has_run, truck_plate
from vehicles.models import Movement

PAYMENT_SECRET = "provider-shared-secret"


pytestmark = pytest.mark.usefixtures("tariff")

# --- The gate, its devices and its officers ------------------------------------------------------------


@pytest.fixture(autouse=True)
def payment_secret(settings):
    settings.SMARTGATE_PAYMENT_SECRET = PAYMENT_SECRET


@pytest.fixture
def device(reference):
    """An API client holding the key of a device registered with ``create_device``."""

    def make(kind: str, *, lane: str | None = None, yard: str | None = None) -> APIClient:
        out = io.StringIO()
        place = ["--lane", lane] if lane else ["--yard", yard]
        call_command("create_device", "--kind", kind, *place, "--name", f"{kind}-{lane or yard}", stdout=out)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip().splitlines()[-1]}")
        return client

    return make


@pytest.fixture
def officer(db):
    """A user in one of the officers' groups, with an API client holding their DRF token."""
    call_command("setup_roles", stdout=io.StringIO())

    def make(username: str, *groups: str):
        user = User.objects.create_user(username=username, password="not-used")
        user.groups.set(Group.objects.filter(name__in=groups))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {officer_token_issue(user=user)}")
        return user, client

    return make


def now_iso() -> str:
    return timezone.now().isoformat()


def movement(client: APIClient, plate_read: str, kind: str):
    if kind == "yard_in":
        notice_has_run()  # the journeys here were declared in time
    return client.post(
        "/api/v1/gate/movements/", {"plate": plate_read, "kind": kind, "occurred_at": now_iso()}, format="json"
    )


def weigh(client: APIClient, plate_read: str, kg: int):
    return client.post(
        "/api/v1/gate/weights/", {"plate": plate_read, "gross_weight_kg": kg, "measured_at": now_iso()}, format="json"
    )


def result(client: APIClient, inspection_id: int, outcome: str, notes: str = ""):
    return client.post(
        f"/api/v1/inspections/{inspection_id}/result/", {"result": outcome, "notes": notes}, format="json"
    )


def pay_over_callback(declaration_id: int, api: APIClient, payment_id: str = "VNPAY-0001"):
    fee = api.get(f"/api/v1/declarations/{declaration_id}/").json()["fee"]
    reference = Declaration.objects.get(id=declaration_id).reference
    raw = json.dumps({"payment_id": payment_id, "reference": reference, "amount_vnd": fee["amount_vnd"]}).encode()
    signature = hmac.new(PAYMENT_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return APIClient().post(
        "/api/v1/payments/callback/", raw, content_type="application/json", HTTP_X_SIGNATURE=f"sha256={signature}"
    )


def event_names(api: APIClient, declaration_id: int) -> list[str]:
    return [event["event"] for event in api.get(f"/api/v1/declarations/{declaration_id}/events/").json()["results"]]


# --- Yard and border cameras -----------------------------------------------------------------------------


def test_yard_camera_puts_the_declared_truck_in_the_queue(device, api):
    declaration = DeclarationFactory(n=0)
    camera = device("yard_gate", yard="1119-export-yard")

    response = movement(camera, "12c 300.00", "yard_in")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body == {
        "recorded": True,
        "declaration": declaration.id,
        "reference": declaration.reference,
        "stage": "in_yard",
        "unmatched": False,
    }
    seen = api.get(f"/api/v1/declarations/{declaration.id}/").json()
    assert (seen["stage"], seen["yard"], seen["queue_position"]) == ("in_yard", "1119-export-yard", 1)
    assert seen["arrived_at"]
    assert Movement.objects.filter(kind="yard_in", yard__code="1119-export-yard", normalized_plate="12C30000").exists()


def test_yard_camera_keeps_an_unknown_plate_as_unmatched(device, reference):
    camera = device("yard_gate", yard="1119-export-yard")

    response = movement(camera, "29H-123.45", "yard_in")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "recorded": True,
        "declaration": None,
        "reference": None,
        "stage": None,
        "unmatched": True,
    }
    unmatched = UnmatchedArrival.objects.get()
    assert (unmatched.normalized_plate, unmatched.yard.code) == ("29H12345", "1119-export-yard")
    assert unmatched.movement.kind == "yard_in"


def test_border_line_camera_cannot_report_a_yard_arrival(device):
    declaration = DeclarationFactory(n=0)
    border = device("border_line", lane="1119-EX1")

    response = movement(border, truck_plate(0), "yard_in")

    assert response.status_code == 409
    assert response.json()["code"] == "movement_not_for_device"
    assert not Movement.objects.exists()
    declaration.refresh_from_db()
    assert declaration.stage == "expected"


def test_yard_camera_cannot_report_a_crossing(device):
    DeclarationFactory(n=0)
    camera = device("yard_gate", yard="1119-export-yard")

    response = movement(camera, truck_plate(0), "border_out")

    assert response.status_code == 409
    assert response.json()["code"] == "movement_not_for_device"


def test_a_crossing_seen_for_a_truck_not_in_a_lane_is_kept_but_completes_nothing(device):
    declaration = DeclarationFactory(n=0)
    border = device("border_line", lane="1119-EX1")

    response = movement(border, truck_plate(0), "border_out")

    assert response.status_code == 200, response.json()
    assert response.json()["declaration"] is None
    assert Movement.objects.filter(kind="border_out").count() == 1
    declaration.refresh_from_db()
    assert (declaration.stage, declaration.crossed_at) == ("expected", None)


# --- Weighbridge ----------------------------------------------------------------------------------------


@pytest.fixture
def weighbridge(device):
    return device("weighbridge", yard="1119-export-yard")


@pytest.fixture
def weighed_truck(reference):
    """A cleared truck with laptops (2,000 kg) on a vehicle of 14,000 kg tare: 16,000 kg declared."""
    declaration = DeclarationFactory(n=0)
    declaration.vehicle.tare_weight_kg = 14000
    declaration.vehicle.save(update_fields=["tare_weight_kg"])
    return declaration


def test_weight_within_tolerance_changes_nothing(weighed_truck, weighbridge, api):
    response = weigh(weighbridge, truck_plate(0), 16400)  # 2.5 % over, within 5 %

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["declaration"], body["within_tolerance"], body["status"]) == (weighed_truck.id, True, "cleared")
    assert Decimal(body["declared_kg"]) == 16000
    assert not Inspection.objects.exists()
    assert api.get(f"/api/v1/declarations/{weighed_truck.id}/").json()["status"] == "cleared"
    assert Movement.objects.get(kind="weighbridge").gross_weight_kg == 16400


def test_weight_outside_tolerance_sends_the_cleared_truck_to_a_physical_inspection(weighed_truck, weighbridge, api):
    response = weigh(weighbridge, truck_plate(0), 19500)  # 3.5 t more than declared

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["within_tolerance"], body["status"]) == (False, "inspection")
    seen = api.get(f"/api/v1/declarations/{weighed_truck.id}/").json()
    assert seen["status"] == "inspection"
    assert [(i["force"], i["kind"], i["status"]) for i in seen["inspections"]] == [("customs", "physical", "open")]
    assert [r["code"] for r in seen["inspections"][0]["reasons"]] == ["weight_mismatch"]
    assert "19500" in seen["inspections"][0]["reasons"][0]["message"]
    assert "inspection_required" in event_names(api, weighed_truck.id)


def test_a_truck_held_for_weight_is_not_called_to_a_plain_lane(weighed_truck, weighbridge, device):
    weigh(weighbridge, truck_plate(0), 19500)
    movement(device("yard_gate", yard="1119-export-yard"), truck_plate(0), "yard_in")

    called = dispatch_run()

    # Only 1119-EX2 has an inspection bay among the export lanes.
    assert [(d.id, d.lane.code) for d in called] == [(weighed_truck.id, "1119-EX2")]


def test_weighing_an_unknown_plate_is_kept(weighbridge, reference):
    response = weigh(weighbridge, "29H-123.45", 12000)

    assert response.status_code == 200, response.json()
    assert response.json()["declaration"] is None
    assert Movement.objects.get(kind="weighbridge").normalized_plate == "29H12345"


# --- Inspection results ---------------------------------------------------------------------------------


@pytest.fixture
def under_review(reference):
    """Smartphones under-declared: yellow channel, the customs officers review the documents."""
    HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Smartphones under-declared")
    declaration = DeclarationFactory(n=0, stage=Declaration.Status.INSPECTION, goods=PHONES)
    return declaration, Inspection.objects.get(declaration=declaration)


def test_an_officer_of_another_force_cannot_record_the_result(under_review, officer):
    declaration, inspection = under_review
    _user, border_guard = officer("bg.tran", roles.BORDER_GUARD_OFFICER)

    response = result(border_guard, inspection.id, "pass")

    assert response.status_code == 403
    inspection.refresh_from_db()
    declaration.refresh_from_db()
    assert (inspection.status, declaration.status) == ("open", "inspection")


def test_without_a_token_the_result_is_refused(under_review):
    _declaration, inspection = under_review

    assert result(APIClient(), inspection.id, "pass").status_code == 401


def test_a_passed_inspection_clears_and_issues_the_fee(under_review, officer, api):
    declaration, inspection = under_review
    assert not Fee.objects.filter(declaration=declaration).exists()
    _user, customs = officer("cs.nguyen", roles.CUSTOMS_OFFICER)

    response = result(customs, inspection.id, "pass", "Documents match the invoice.")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "inspection": inspection.id,
        "status": "passed",
        "declaration": declaration.id,
        "declaration_status": "cleared",
    }
    seen = api.get(f"/api/v1/declarations/{declaration.id}/").json()
    assert seen["status"] == "cleared"
    assert (seen["fee"]["status"], seen["fee"]["amount_vnd"]) == ("issued", 1_000_000)
    passed = DeclarationEvent.objects.get(declaration=declaration, event="inspection_passed")
    assert (passed.actor, passed.reason) == ("cs.nguyen", "Documents match the invoice.")


def test_a_failed_inspection_holds_the_crossing(under_review, officer, api):
    declaration, inspection = under_review
    _user, customs = officer("cs.nguyen", roles.CUSTOMS_OFFICER)

    response = result(customs, inspection.id, "fail", "Goods are refurbished phones, not new.")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["declaration_status"]) == ("failed", "held")
    seen = api.get(f"/api/v1/declarations/{declaration.id}/").json()
    assert (seen["status"], seen["fee"]) == ("held", None)
    held = DeclarationEvent.objects.get(declaration=declaration, event="held")
    assert (held.actor, held.reason) == ("cs.nguyen", "Goods are refurbished phones, not new.")


def test_a_result_is_recorded_once(under_review, officer):
    _declaration, inspection = under_review
    _user, customs = officer("cs.nguyen", roles.CUSTOMS_OFFICER)
    assert result(customs, inspection.id, "pass").status_code == 200

    again = result(customs, inspection.id, "fail")

    assert again.status_code == 409
    assert again.json()["code"] == "inspection_closed"


def test_the_weighbridge_inspection_is_passed_by_customs(weighed_truck, weighbridge, officer, api):
    weigh(weighbridge, truck_plate(0), 19500)
    inspection = Inspection.objects.get(declaration=weighed_truck)
    _user, customs = officer("cs.le", roles.CUSTOMS_OFFICER)

    response = result(customs, inspection.id, "pass", "Reweighed: the trailer's spare tyres.")

    assert response.status_code == 200, response.json()
    assert response.json()["declaration_status"] == "cleared"
    assert Fee.objects.filter(declaration=weighed_truck).count() == 1


@pytest.fixture
def held(under_review, officer):
    declaration, inspection = under_review
    _user, customs = officer("cs.nguyen", roles.CUSTOMS_OFFICER)
    assert result(customs, inspection.id, "fail", "Undervalued.").json()["declaration_status"] == "held"
    return declaration


def test_a_supervisor_releases_a_held_crossing(held, officer, api):
    supervisor, _client = officer("sv.pham", roles.SUPERVISOR)

    declaration_release(declaration_id=held.id, user=supervisor, reason="Value corrected after a call with the owner.")

    seen = api.get(f"/api/v1/declarations/{held.id}/").json()
    assert seen["status"] == "cleared"
    assert seen["fee"]["status"] == "issued"
    cleared = DeclarationEvent.objects.filter(declaration=held, event="cleared").last()
    assert (cleared.actor_kind, cleared.actor, cleared.user_id) == ("user", "sv.pham", supervisor.id)
    assert cleared.reason == "Value corrected after a call with the owner."


def test_a_supervisor_rejects_a_held_crossing(held, officer, api):
    supervisor, _client = officer("sv.pham", roles.SUPERVISOR)

    declaration_reject_held(declaration_id=held.id, user=supervisor, reason="Counterfeit goods.")

    seen = api.get(f"/api/v1/declarations/{held.id}/").json()
    assert seen["status"] == "rejected"
    rejected = DeclarationEvent.objects.get(declaration=held, event="rejected")
    assert (rejected.actor, rejected.user_id, rejected.reason) == ("sv.pham", supervisor.id, "Counterfeit goods.")


@pytest.mark.parametrize("action", [declaration_release, declaration_reject_held])
def test_only_a_supervisor_releases_or_rejects(held, officer, action):
    customs, _client = officer("cs.vo", roles.CUSTOMS_OFFICER)

    with pytest.raises(NotYourForce):
        action(declaration_id=held.id, user=customs, reason="I think it is fine.")

    held.refresh_from_db()
    assert held.status == "held"
    assert not DeclarationEvent.objects.filter(declaration=held, actor="cs.vo").exists()


def test_a_supervisor_cannot_release_a_crossing_that_is_not_held(under_review, officer):
    declaration, _inspection = under_review
    supervisor, _client = officer("sv.pham", roles.SUPERVISOR)

    with pytest.raises(Conflict):
        declaration_release(declaration_id=declaration.id, user=supervisor, reason="Hurry.")


# --- The whole journey -----------------------------------------------------------------------------------


def test_export_journey_from_declaration_to_crossed(device, api):
    # Declared and cleared: the fee is issued with the clearance.
    declaration = DeclarationFactory(n=0)
    assert api.get(f"/api/v1/declarations/{declaration.id}/").json()["fee"]["status"] == "issued"

    # Paid through the provider.
    paid = pay_over_callback(declaration.id, api)
    assert paid.status_code == 200, paid.json()
    assert api.get(f"/api/v1/declarations/{declaration.id}/").json()["fee"]["status"] == "paid"

    # Into the export yard, then called forward.
    arrived = movement(device("yard_gate", yard="1119-export-yard"), truck_plate(0), "yard_in")
    assert arrived.json()["stage"] == "in_yard"
    assert [d.id for d in dispatch_run()] == [declaration.id]
    seen = api.get(f"/api/v1/declarations/{declaration.id}/").json()
    assert (seen["stage"], seen["lane"]) == ("called", "1119-EX1")

    # The barrier of 1119-EX1 opens.
    gate = device("lane_gate", lane="1119-EX1")
    decision = gate.post(
        "/api/v1/gate/reads/", {"plate": "12C30000", "read_at": now_iso(), "confidence": "0.96"}, format="json"
    )
    assert (decision.json()["decision"], decision.json()["reasons"]) == ("open", [])

    # The border line camera sees it leave Vietnam.
    crossed = movement(device("border_line", lane="1119-EX1"), "12C30000", "border_out")
    assert crossed.status_code == 200, crossed.json()
    assert crossed.json()["stage"] == "crossed"

    seen = api.get(f"/api/v1/declarations/{declaration.id}/").json()
    assert (seen["status"], seen["stage"]) == ("cleared", "crossed")
    assert seen["crossed_at"] and seen["in_lane_at"] and seen["called_at"] and seen["arrived_at"]
    assert set(seen["dwell_minutes"]) == {
        "declared_to_arrived",
        "arrived_to_called",
        "called_to_in_lane",
        "in_lane_to_crossed",
    }
    assert all(minutes >= 0 for minutes in seen["dwell_minutes"].values())
    journey = [
        name
        for name in event_names(api, declaration.id)
        if name
        in {"submitted", "cleared", "fee_issued", "fee_paid", "arrived_in_yard", "called", "entered_lane", "crossed"}
    ]
    assert journey == [
        "submitted",
        "cleared",
        "fee_issued",
        "fee_paid",
        "arrived_in_yard",
        "called",
        "entered_lane",
        "crossed",
    ]
    # The vehicle is free for its next crossing.
    assert DeclarationFactory(n=0).status == "cleared"


# A Chinese truck bringing smartphones in: DeclarationFactory's fields (its permit valid for a year).
IMPORT = {
    "direction": "import",
    "vehicle__plate": "桂A·12345",
    "vehicle__country": "CN",
    "vehicle__permit_number": "CN-VN-2026-00777",
    "driver": {
        "full_name": "Lý Minh",
        "nationality": "CN",
        "document_type": "passport",
        "document_number": "E12345678",
        "document_expires": "2031-01-01",
    },
    "customs_declarations": [{"number": "105123456789", "type": "A11"}],
    "containers": [{"number": "MSKU1234565", "size": "20", "seals": ["CN778899"]}],
    "goods": [{**PHONES[0], "origin_country": "CN"}],
}


def test_import_journey_from_declaration_to_crossed(device, api):
    declaration_id = DeclarationFactory(**IMPORT).id
    seen = api.get(f"/api/v1/declarations/{declaration_id}/").json()
    assert seen["status"] == "cleared"
    # 2,000,000 for a 20-ft container × 1.3 delivered inland (a 40-ft one would meet the tariff's maximum)
    assert (seen["fee"]["journey"], seen["fee"]["amount_vnd"]) == ("import_inland", 2_600_000)

    assert pay_over_callback(declaration_id, api).status_code == 200
    arrived = movement(device("yard_gate", yard="1119-import-yard"), "桂A12345", "yard_in")
    assert arrived.json()["stage"] == "in_yard"
    assert [d.id for d in dispatch_run()] == [declaration_id]
    assert api.get(f"/api/v1/declarations/{declaration_id}/").json()["lane"] == "1119-IM1"

    gate = device("lane_gate", lane="1119-IM1")
    decision = gate.post(
        "/api/v1/gate/reads/", {"plate": "桂A12345", "read_at": now_iso(), "confidence": "0.91"}, format="json"
    ).json()
    assert decision["decision"] == "open", decision

    border = device("border_line", lane="1119-IM1")
    crossed = movement(border, "桂A12345", "border_in")
    assert crossed.json()["stage"] == "crossed"

    seen = api.get(f"/api/v1/declarations/{declaration_id}/").json()
    assert seen["stage"] == "crossed" and seen["crossed_at"]
    assert "in_lane_to_crossed" in seen["dwell_minutes"]
    assert event_names(api, declaration_id)[-4:] == ["arrived_in_yard", "called", "entered_lane", "crossed"]


def test_an_import_truck_seen_going_out_is_not_crossed(device, api):
    declaration_id = DeclarationFactory(**IMPORT, stage=Declaration.Stage.IN_LANE).id
    assert api.get(f"/api/v1/declarations/{declaration_id}/").json()["lane"] == "1119-IM1"

    response = movement(device("border_line", lane="1119-IM1"), "桂A12345", "border_out")

    assert response.json()["declaration"] is None
    assert api.get(f"/api/v1/declarations/{declaration_id}/").json()["stage"] == "in_lane"


# --- Autonomous vehicles: the handover at the transfer yard ---------------------------------------------


@pytest.fixture
def autonomous(reference):
    """An autonomous vehicle declared to carry container CSQU3054383 across on 1119-1120."""
    return DeclarationFactory(
        n=77,
        vehicle__plate="12C-777.77",
        vehicle__permit_number="VN-CN-2026-77777",
        vehicle__is_autonomous=True,
        containers=[{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}],
    )


@pytest.fixture
def transfer_yard(device):
    return device("yard_gate", yard="1119-transfer-yard")


def handover(client: APIClient, containers: list[str]):
    return client.post(
        "/api/v1/gate/handovers/",
        {"plate": "12C77777", "from_plate": "12C-123.45", "containers": containers, "occurred_at": now_iso()},
        format="json",
    )


def test_handover_with_the_declared_containers_matches(autonomous, transfer_yard):
    response = handover(transfer_yard, ["CSQU3054383"])

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "declaration": autonomous.id,
        "leg": None,
        "matched": True,
        "missing": [],
        "unexpected": [],
        "wrong_vehicle": False,
        "held": False,
    }
    stored = Handover.objects.get()
    assert (stored.yard.code, stored.from_plate, stored.containers) == (
        "1119-transfer-yard",
        "12C12345",
        ["CSQU3054383"],
    )
    event = DeclarationEvent.objects.get(declaration=autonomous, event="handover")
    assert event.data["matched"] is True


def test_handover_with_a_wrong_container_lists_missing_and_unexpected(autonomous, transfer_yard):
    response = handover(transfer_yard, ["MSKU1234565"])

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "declaration": autonomous.id,
        "leg": None,
        "matched": False,
        "missing": ["CSQU3054383"],
        "unexpected": ["MSKU1234565"],
        "wrong_vehicle": False,
        "held": True,
    }


def test_handover_for_an_undeclared_vehicle_is_refused(transfer_yard, reference):
    response = handover(transfer_yard, ["CSQU3054383"])

    assert response.status_code == 409
    assert response.json()["code"] == "not_declared"
    assert not Handover.objects.exists()


def test_only_a_yard_camera_reports_handovers(autonomous, device):
    border = device("border_line", lane="1119-AV1")

    assert handover(border, ["CSQU3054383"]).status_code == 403


def test_an_officers_token_is_kept_only_as_a_digest_and_expires(officer):
    user, client = officer("customs-officer-2", roles.CUSTOMS_OFFICER)
    token = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Token ")
    stored = AuthToken.objects.get(user=user)

    assert token not in {stored.digest, stored.token_key}
    assert client.post("/api/v1/inspections/999999/result/", {"result": "pass"}, format="json").status_code == 404
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.post("/api/v1/inspections/999999/result/", {"result": "pass"}, format="json").status_code == 401


def test_the_officer_token_command_prints_a_token_once(db, django_user_model):
    django_user_model.objects.create_user("qo-1")
    out = io.StringIO()

    call_command("officer_token", "qo-1", "--hours", "8", stdout=out)

    token = out.getvalue().strip()
    stored = AuthToken.objects.get(user__username="qo-1")
    assert len(token) >= 40 and token.startswith(stored.token_key)
    assert timedelta(hours=7, minutes=59) < stored.expiry - timezone.now() <= timedelta(hours=8)
