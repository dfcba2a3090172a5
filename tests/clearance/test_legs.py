"""Crossings in legs: a truck brings the containers to a transfer yard or wharf, they are handed over, and
another vehicle (here an autonomous one, with its safety driver) carries them across, as one crossing.
The autonomous lane's windows; the wharf-transfer fee. Seen as forwarders, devices and operators see them."""

import copy
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone, translation
from rest_framework.test import APIClient

from clearance import roles
from clearance.audit import Actor
from clearance.errors import Conflict
from clearance.models import CompanyEvent, CrossingLeg, Declaration, GateDecision, Handover
from clearance.selectors import lanes_for_call_forward
from clearance.services.dispatch import declaration_call_forward, dispatch_run
from clearance.services.fees import payment_record
from tests.factories import EXAMPLE, LAPTOPS, DeclarationFactory, arrival_in, container
from vehicles.models import LOCAL_TZ, Lane, LaneWindow, Movement, Yard, local_date

pytestmark = pytest.mark.usefixtures("reference", "tariff")

CONTAINER = {"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}
TRUCK = {
    "plate": "12C-123.45",
    "country": "VN",
    "max_gross_weight_kg": 40000,
    "permit_number": "VN-CN-2026-00123",
    "permit_expires": "2030-06-30",
}
AUTONOMOUS = {
    "plate": "12C-777.77",
    "country": "VN",
    "max_gross_weight_kg": 40000,
    "permit_number": "VN-CN-2026-77777",
    "permit_expires": "2030-06-30",
    "is_autonomous": True,
}
DRIVER = EXAMPLE["driver"]
SAFETY_DRIVER = {
    "full_name": "Trần Thị Bình",
    "nationality": "VN",
    "document_type": "passport",
    "document_number": "C7654321",
    "document_expires": "2030-01-01",
}
OPERATOR = Actor.system("gate-operator")


def at_local(hour: int, minute: int = 0, *, days: int = 0) -> datetime:
    return datetime.combine(local_date(timezone.now()) + timedelta(days=days), time(hour, minute), tzinfo=LOCAL_TZ)


IN_WINDOW = at_local(19, 0)  # the night pilot's window is 18:30–20:00 local time
MORNING = at_local(10, 0)


def legs_body(*, transfer_point: str = "1119-transfer-yard", **overrides) -> dict:
    """An export of laptops in one 40-ft container: the truck brings it to ``transfer_point``, an autonomous
    vehicle with its safety driver carries it across 1119–1120."""
    body = {
        "direction": "export",
        "route": "1119-1120",
        "expected_arrival": arrival_in(24),
        "customs_declarations": [{"number": "305123456789", "type": "B11"}],
        "containers": [copy.deepcopy(CONTAINER)],
        "goods": copy.deepcopy(LAPTOPS),
        "legs": [
            {"vehicle": dict(TRUCK), "driver": dict(DRIVER), "transfer_point": transfer_point},
            {"vehicle": dict(AUTONOMOUS), "safety_driver": dict(SAFETY_DRIVER)},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def device(reference):
    def make(kind: str, *, lane: str | None = None, yard: str | None = None) -> APIClient:
        out = io.StringIO()
        place = ["--lane", lane] if lane else ["--yard", yard]
        call_command("create_device", "--kind", kind, *place, "--name", f"{kind}-{lane or yard}", stdout=out)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {out.getvalue().strip().splitlines()[-1]}")
        return client

    return make


@pytest.fixture
def declare_legs(api, django_capture_on_commit_callbacks):
    """Declare over the API; the checks run as the workers would run them. Returns the response."""

    def post(body=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/v1/declarations/", body or legs_body(), format="json")
        if response.status_code != 201:
            return response
        return api.get(f"/api/v1/declarations/{response.json()['id']}/")  # as decided by the checks

    return post


@pytest.fixture
def cleared_legs(declare_legs):
    """A crossing in two legs, cleared, its fee paid, its notice run: as the forwarder reads it."""

    def make(body=None) -> dict:
        response = declare_legs(body)
        assert response.status_code == 200, response.json()
        declared = response.json()
        assert declared["status"] == "cleared", declared
        payment_record(
            provider_payment_id=f"PAY-{declared['reference']}",
            reference=declared["reference"],
            amount_vnd=Decimal(declared["fee"]["amount_vnd"]),
            payload={},
        )
        Declaration.objects.filter(id=declared["id"]).update(created_at=timezone.now() - timedelta(days=1))
        return declared

    return make


def seen(api, declaration_id: int) -> dict:
    return api.get(f"/api/v1/declarations/{declaration_id}/").json()


def yard_in(client: APIClient, plate: str, at: datetime):
    return client.post(
        "/api/v1/gate/movements/", {"plate": plate, "kind": "yard_in", "occurred_at": at.isoformat()}, format="json"
    )


def hand_over(client: APIClient, containers: list[str], *, at: datetime, from_plate: str = "12C-123.45"):
    return client.post(
        "/api/v1/gate/handovers/",
        {"plate": "12C-777.77", "from_plate": from_plate, "containers": containers, "occurred_at": at.isoformat()},
        format="json",
    )


def barrier(client: APIClient, at: datetime):
    return client.post(
        "/api/v1/gate/reads/", {"plate": "12C77777", "read_at": at.isoformat(), "confidence": "0.97"}, format="json"
    ).json()


# --- Declaring in legs ---------------------------------------------------------------------------------


def test_a_crossing_declared_in_legs_links_each_vehicle_with_its_driver_or_safety_driver(api, declare_legs):
    response = declare_legs()

    assert response.status_code == 200, response.json()
    declared = response.json()
    truck, onward = declared["legs"]
    assert (truck["leg"], truck["crosses"], truck["vehicle"]["plate"], truck["driver"]["full_name"]) == (
        1,
        False,
        "12C-123.45",
        "Nguyễn Văn An",
    )
    assert (truck["safety_driver"], truck["transfer_point"], truck["transfer_point_kind"]) == (
        None,
        "1119-transfer-yard",
        "transfer_yard",
    )
    assert truck["handover_method"] == "autonomous_vehicle"  # the next vehicle is autonomous
    assert (onward["leg"], onward["crosses"], onward["vehicle"]["is_autonomous"], onward["driver"]) == (
        2,
        True,
        True,
        None,
    )
    assert onward["safety_driver"]["full_name"] == "Trần Thị Bình"
    # The crossing is the onward vehicle's: the barrier, the border line and the border guard's check see it
    # and the safety driver aboard.
    assert (declared["vehicle"]["plate"], declared["driver"]["full_name"]) == ("12C-777.77", "Trần Thị Bình")
    assert declared["handover_status"] == "awaiting"


def test_a_single_vehicle_declaration_has_no_legs(declare):
    declared = declare().json()

    assert (declared["legs"], declared["handover_status"]) == ([], "")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda body: body.update(vehicle=dict(TRUCK)), "vehicle", "legs_and_vehicle"),
        (lambda body: body.update(containers=[]), "containers", "containers_required"),
        (lambda body: body["legs"][0].pop("transfer_point"), "legs[0].transfer_point", "transfer_point_required"),
        (
            lambda body: body["legs"][0].update(transfer_point="1119-export-yard"),
            "legs[0].transfer_point",
            "unknown_transfer_point",
        ),
        (
            lambda body: body["legs"][1].update(transfer_point="1119-transfer-yard"),
            "legs[1].transfer_point",
            "transfer_point_on_crossing_leg",
        ),
        (lambda body: body["legs"][1].update(driver=dict(DRIVER)), "legs[1].driver", "driver_for_autonomous"),
        (lambda body: body["legs"][1].pop("safety_driver"), "legs[1].safety_driver", "safety_driver_required"),
        (lambda body: body["legs"][0].pop("driver"), "legs[0].driver", "required"),
        (
            lambda body: body["legs"][0].update(safety_driver=dict(SAFETY_DRIVER)),
            "legs[0].safety_driver",
            "safety_driver_not_autonomous",
        ),
        (
            lambda body: body["legs"][1]["vehicle"].update(plate="12C-123.45"),
            "legs[1].vehicle",
            "same_vehicle_twice",
        ),
        (lambda body: body["legs"].pop(), "legs", "min_length"),
    ],
)
def test_a_wrong_leg_is_refused_naming_the_field(api, change, field, code):
    body = legs_body()
    change(body)

    response = api.post("/api/v1/declarations/", body, format="json")

    assert response.status_code == 400, response.json()
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
    ]
    assert not Declaration.objects.exists()


def test_legs_cannot_be_amended(api, declare_legs):
    declared = declare_legs().json()

    response = api.patch(
        f"/api/v1/declarations/{declared['id']}/", legs_body()["legs"], format="json", HTTP_IF_MATCH='"1"'
    )
    amended = api.patch(
        f"/api/v1/declarations/{declared['id']}/",
        {"legs": legs_body()["legs"]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )

    assert response.status_code == 400
    assert amended.status_code == 400
    assert amended.json()["errors"][0] == {
        "field": "legs",
        "code": "not_amendable",
        "message": "legs cannot be amended; cancel this crossing and declare a new one.",
    }


# --- The journey: two legs, one crossing ----------------------------------------------------------------


def test_an_export_handed_to_an_autonomous_vehicle_crosses_as_one_crossing_with_two_linked_legs(
    api, cleared_legs, device
):
    declared = cleared_legs()
    transfer_camera = device("yard_gate", yard="1119-transfer-yard")

    # The truck brings the container to the transfer yard: its leg's arrival, not an unknown vehicle.
    truck_arrival = yard_in(transfer_camera, "12C-123.45", IN_WINDOW - timedelta(minutes=25)).json()
    yard_in(transfer_camera, "12C-777.77", IN_WINDOW - timedelta(minutes=20))
    assert (truck_arrival["declaration"], truck_arrival["unmatched"]) == (declared["id"], False)
    # Not called before its container is handed over, and the barrier would hold it.
    assert dispatch_run(now=IN_WINDOW) == []

    handover = hand_over(transfer_camera, ["CSQU3054383"], at=IN_WINDOW - timedelta(minutes=10)).json()
    assert (handover["leg"], handover["matched"], handover["held"]) == (1, True, False)

    called = dispatch_run(now=IN_WINDOW)
    assert [d.id for d in called] == [declared["id"]]
    lane_gate = device("lane_gate", lane="1119-AV1")
    assert barrier(lane_gate, IN_WINDOW + timedelta(minutes=5))["decision"] == "open"
    border = device("border_line", lane="1119-AV1")
    border.post(
        "/api/v1/gate/movements/",
        {
            "plate": "12C-777.77",
            "kind": "border_out",
            "occurred_at": (IN_WINDOW + timedelta(minutes=12)).isoformat(),
        },
        format="json",
    )

    crossing = seen(api, declared["id"])
    assert (crossing["stage"], crossing["lane"], crossing["handover_status"]) == ("crossed", "1119-AV1", "matched")
    truck, onward = crossing["legs"]
    assert datetime.fromisoformat(truck["arrived_at"]) == IN_WINDOW - timedelta(minutes=25)
    assert truck["handed_over_at"] is not None and onward["crossed_at"] == crossing["crossed_at"]
    assert onward["arrived_at"] == crossing["arrived_at"]
    # One record: one declaration, its legs and hand-over linked to it; each vehicle's movements kept.
    assert Declaration.objects.count() == 1
    assert CrossingLeg.objects.filter(declaration_id=declared["id"]).count() == 2
    assert Handover.objects.get().leg.seq == 1
    assert set(Movement.objects.values_list("normalized_plate", flat=True)) == {"12C12345", "12C77777"}
    events = [e["event"] for e in api.get(f"/api/v1/declarations/{declared['id']}/events/").json()["results"]]
    assert events.index("leg_arrived") < events.index("handover") < events.index("called") < events.index("crossed")


def test_a_container_mismatch_holds_the_onward_leg_until_a_hand_over_matches(api, cleared_legs, device):
    declared = cleared_legs()
    transfer_camera = device("yard_gate", yard="1119-transfer-yard")
    yard_in(transfer_camera, "12C-777.77", IN_WINDOW - timedelta(minutes=20))

    handover = hand_over(transfer_camera, ["MSKU1234565"], at=IN_WINDOW - timedelta(minutes=10)).json()

    assert (handover["matched"], handover["missing"], handover["unexpected"], handover["held"]) == (
        False,
        ["CSQU3054383"],
        ["MSKU1234565"],
        True,
    )
    assert seen(api, declared["id"])["handover_status"] == "mismatch"
    assert dispatch_run(now=IN_WINDOW) == []
    with pytest.raises(Conflict) as refused:
        declaration_call_forward(
            declaration_id=declared["id"], lane_id=Lane.objects.get(code="1119-AV1").id, actor=OPERATOR
        )
    assert refused.value.code == "handover_mismatch"
    lane_gate = device("lane_gate", lane="1119-AV1")
    assert "handover_mismatch" in barrier(lane_gate, IN_WINDOW)["reasons"]
    # The forwarder reads why, in plain words, in the trail and in its event feed.
    trail = api.get(f"/api/v1/declarations/{declared['id']}/events/").json()["results"]
    held = next(e for e in trail if e["event"] == "handover_mismatch")
    assert "declared but not handed over: CSQU3054383" in held["reason"]
    assert held["data"]["code"] == "handover_mismatch"
    # Its webhooks and feed carry the hold as an event of its own.
    assert CompanyEvent.objects.get(type="handover.mismatch").data["missing"] == ["CSQU3054383"]
    with translation.override("vi"):
        assert (
            str(GateDecision.HoldReason.HANDOVER_MISMATCH.label)
            != "Containers handed over do not match the declaration"
        )

    # The right container handed over: the hold ends and the vehicle is called inside the window.
    assert hand_over(transfer_camera, ["CSQU3054383"], at=IN_WINDOW - timedelta(minutes=5)).json()["held"] is False
    assert seen(api, declared["id"])["handover_status"] == "matched"
    assert [d.id for d in dispatch_run(now=IN_WINDOW)] == [declared["id"]]


def test_a_hand_over_from_another_vehicle_or_elsewhere_does_not_match(api, cleared_legs, device):
    declared = cleared_legs()
    transfer_camera = device("yard_gate", yard="1119-transfer-yard")

    other_truck = hand_over(transfer_camera, ["CSQU3054383"], at=IN_WINDOW, from_plate="12C-999.99").json()
    wharf = hand_over(device("yard_gate", yard="bao-nguyen-wharf"), ["CSQU3054383"], at=IN_WINDOW)

    assert (other_truck["wrong_vehicle"], other_truck["held"]) == (True, True)
    assert (wharf.status_code, wharf.json()["code"]) == (409, "wrong_transfer_point")
    assert seen(api, declared["id"])["handover_status"] == "mismatch"


# --- The wharf-transfer fee ------------------------------------------------------------------------------


def test_goods_only_transferred_at_the_wharf_pay_thirty_percent_and_the_fee_says_so(declare_legs):
    through_the_yard = declare_legs().json()
    # Another crossing of the same kind, its containers handed over at the Bảo Nguyên wharf instead.
    wharf_body = legs_body(
        transfer_point="bao-nguyen-wharf",
        customs_declarations=[{"number": "305123456790", "type": "B11"}],
        containers=[container(1)],
    )
    wharf_body["legs"][0]["vehicle"]["plate"] = "12C-123.46"
    wharf_body["legs"][1]["vehicle"]["plate"] = "12C-777.78"

    at_the_wharf = declare_legs(wharf_body).json()

    assert (through_the_yard["fee"]["journey"], through_the_yard["fee"]["amount_vnd"]) == ("export", 4_000_000)
    fee = at_the_wharf["fee"]
    assert (fee["journey"], fee["amount_vnd"]) == ("wharf_transfer", 1_200_000)  # 4,000,000 × 0.30
    assert {
        "kind": "journey",
        "code": "wharf_transfer",
        "coefficient": "0.30",
        "description": "Goods only transferred at the wharf, not carried inland",
    } in fee["coefficients"]
    assert at_the_wharf["legs"][0]["handover_method"] == "wharf_crane"
    assert at_the_wharf["legs"][0]["transfer_point_kind"] == "wharf"


# --- The autonomous lane's windows ---------------------------------------------------------------------------


@pytest.fixture
def waiting_autonomous():
    """An autonomous vehicle declared alone (its driver is the safety driver), cleared, in the transfer yard."""
    return DeclarationFactory(
        n=5, stage=Declaration.Stage.IN_YARD, vehicle__is_autonomous=True, arrived_at=MORNING - timedelta(hours=1)
    )


def test_an_autonomous_vehicle_is_not_called_outside_its_lanes_window_and_is_called_inside(waiting_autonomous):
    assert dispatch_run(now=MORNING) == []
    assert dispatch_run(now=at_local(20, 0)) == []  # the window ends at 20:00
    assert dispatch_run(now=at_local(18, 29)) == []

    called = dispatch_run(now=IN_WINDOW)

    assert [(d.id, d.lane.code) for d in called] == [(waiting_autonomous.id, "1119-AV1")]


def test_a_gate_operator_cannot_call_an_autonomous_vehicle_outside_the_window(waiting_autonomous):
    lane = Lane.objects.get(code="1119-AV1")
    chooser = Declaration.objects.filter(id=waiting_autonomous.id)

    with time_machine.travel(MORNING, tick=False):
        with pytest.raises(Conflict) as refused:
            declaration_call_forward(declaration_id=waiting_autonomous.id, lane_id=lane.id, actor=OPERATOR)
        offered_in_the_morning = list(lanes_for_call_forward(chooser))
    with time_machine.travel(IN_WINDOW, tick=False):
        offered_in_the_window = list(lanes_for_call_forward(chooser))
        declaration_call_forward(declaration_id=waiting_autonomous.id, lane_id=lane.id, actor=OPERATOR)

    assert refused.value.code == "outside_window"
    assert "18:30–20:00 local time" in refused.value.detail
    assert offered_in_the_morning == []
    assert offered_in_the_window == [lane]
    assert Declaration.objects.get(id=waiting_autonomous.id).stage == "called"


def test_windows_are_data_per_lane(waiting_autonomous):
    lane = Lane.objects.get(code="1119-AV1")
    LaneWindow.objects.create(lane=lane, starts_at=time(9, 30), ends_at=time(10, 30), note="Morning trial")
    LaneWindow.objects.filter(lane=lane, starts_at=time(18, 30)).update(
        valid_to=local_date(timezone.now()) - timedelta(days=1)
    )

    assert dispatch_run(now=IN_WINDOW) == []  # the night window's validity ended yesterday
    assert [d.id for d in dispatch_run(now=MORNING)] == [waiting_autonomous.id]


def test_an_autonomous_lane_without_a_window_never_operates(waiting_autonomous, device):
    LaneWindow.objects.all().delete()

    assert dispatch_run(now=IN_WINDOW) == []
    reasons = barrier(device("lane_gate", lane="1119-AV1"), IN_WINDOW)["reasons"]
    assert "outside_hours" in reasons


def test_the_wharf_and_the_transfer_yard_are_transfer_points():
    kinds = dict(Yard.objects.values_list("code", "kind"))

    assert (kinds["1119-transfer-yard"], kinds["bao-nguyen-wharf"], kinds["1119-export-yard"]) == (
        "transfer_yard",
        "wharf",
        "waiting",
    )
    window = LaneWindow.objects.get(lane__code="1119-AV1")
    assert (window.starts_at, window.ends_at, window.safety_driver_required) == (time(18, 30), time(20, 0), True)


# --- The officers' screens -----------------------------------------------------------------------------------


def logged_in(client, role: str, username: str):
    call_command("setup_roles", stdout=io.StringIO())
    user = get_user_model().objects.create_user(username=username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


@pytest.fixture
def fee_officer(client, db):
    return logged_in(client, roles.FEE_ADMINISTRATOR, "fees-officer")


def test_an_officer_at_the_transfer_yard_records_the_hand_over(api, declare_legs, client):
    declared = declare_legs().json()
    operator = logged_in(client, roles.GATE_OPERATOR, "transfer-officer")
    form = {
        "action": "record_handover",
        "_selected_action": [str(declared["id"])],
        "confirmed": "yes",
        "transfer_point": str(Yard.objects.get(code="1119-transfer-yard").id),
        "from_plate": "12C-123.45",
        "containers": "CSQU 305438 3",
    }

    operator.post("/admin/clearance/declaration/", form)

    assert seen(api, declared["id"])["handover_status"] == "matched"
    handover = Handover.objects.get()
    assert (handover.recorded_by, handover.device, handover.leg.seq) == ("transfer-officer", None, 1)
    assert seen(api, declared["id"])["legs"][0]["handed_over_at"] is not None


def test_the_fee_administrators_screen_shows_the_wharf_transfer_coefficient(declare_legs, fee_officer):
    declared = declare_legs(legs_body(transfer_point="bao-nguyen-wharf")).json()

    page = fee_officer.get("/admin/clearance/fee/").content.decode()

    assert declared["fee"]["amount_vnd"] == 1_200_000
    assert "wharf_transfer ×0.30 (Goods only transferred at the wharf, not carried inland)" in page


# --- The OpenAPI schema ----------------------------------------------------------------------------------------


def test_the_schema_documents_legs_and_its_example_is_accepted(client, api):
    import yaml

    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    content = schema["paths"]["/api/v1/declarations/"]["post"]["requestBody"]["content"]["application/json"]
    example = next(e["value"] for e in content["examples"].values() if "legs" in e["value"])
    components = schema["components"]["schemas"]

    assert {"vehicle", "driver", "safety_driver", "transfer_point", "handover_method"} <= set(
        components["LegInputRequest"]["properties"]
    )
    assert "legs" in components["DeclarationOutput"]["properties"]
    assert "coefficients" in components["FeeOutput"]["properties"]
    schema_text = yaml.safe_dump(schema)
    assert "handover_mismatch" in schema_text and "handover_pending" in schema_text
    response = api.post("/api/v1/declarations/", {**example, "expected_arrival": arrival_in(24)}, format="json")
    assert response.status_code == 201, response.json()
    assert [leg["vehicle"]["plate"] for leg in response.json()["legs"]] == ["12C-123.45", "12C-777.77"]


def test_an_expired_safety_drivers_document_is_named_where_the_forwarder_wrote_it(api):
    body = legs_body()
    body["legs"][1]["safety_driver"]["document_expires"] = "2020-01-01"

    response = api.post("/api/v1/declarations/", body, format="json")

    assert response.status_code == 400, response.json()
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("legs[1].safety_driver.document_expires", "document_expired")
    ]


def test_a_crossing_in_legs_keeps_its_vehicles_and_new_containers_are_handed_over_again(api, cleared_legs, device):
    declared = cleared_legs()
    hand_over(device("yard_gate", yard="1119-transfer-yard"), ["CSQU3054383"], at=IN_WINDOW)

    swapped = api.patch(
        f"/api/v1/declarations/{declared['id']}/",
        {"vehicle": dict(AUTONOMOUS, plate="12C-777.78")},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    recontained = api.patch(
        f"/api/v1/declarations/{declared['id']}/",
        {"containers": [container(2)]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )

    assert (swapped.status_code, swapped.json()["code"]) == (409, "not_amendable")
    assert recontained.status_code == 200, recontained.json()
    assert recontained.json()["handover_status"] == "awaiting"


def test_a_window_may_cross_midnight_and_belongs_to_the_day_it_starts():
    lane = Lane.objects.get(code="1119-AV1")
    LaneWindow.objects.filter(lane=lane).delete()
    today = local_date(timezone.now())
    LaneWindow.objects.create(lane=lane, starts_at=time(23, 0), ends_at=time(1, 0), valid_to=today)
    lane = Lane.objects.get(code="1119-AV1")

    assert lane.is_within_hours(at_local(23, 30))
    assert lane.is_within_hours(at_local(0, 30, days=1))  # the night that started on its last valid day
    assert not lane.is_within_hours(at_local(1, 0, days=1))
    assert not lane.is_within_hours(at_local(23, 30, days=1))  # no longer valid
