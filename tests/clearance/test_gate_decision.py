"""The lane barrier's question, open or hold, as the gate operator sees it at the barrier.

Every situation is built as it happens at the gate (DeclarationFactory, through the API and services): the
forwarder declares over the API (the checks run after commit, as the workers do), the provider confirms
the payment, the yard camera's arrival is recorded, the dispatcher calls the vehicle to a lane and the
lane camera reads the plate.
"""

import io
import json
from datetime import datetime, time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from clearance.api.serializers.gate import GateDecisionOutput
from clearance.audit import Actor
from clearance.models import Declaration, DeclarationEvent, Fee, GateDecision, HsRiskRule
from clearance.services.fees import payment_record
from clearance.services.lanes import lane_set_open
from clearance.services.legs import handover_record
from clearance.services.yard import yard_arrival_record
from tests.factories import (
    PHONES,
    DeclarationFactory,
    TruckBody,
    client_for,
    forwarder,
    notice_has_run,
    truck_plate,
    truck_plate_read,
)
from vehicles.models import LOCAL_TZ, DeviceAPIKey, GateDevice, Lane, Movement, Yard, local_date

OPERATOR = Actor.system("gate-operator")
Stage = Declaration.Stage
Status = Declaration.Status


pytestmark = pytest.mark.usefixtures("tariff")

# --- Building the gate ------------------------------------------------------------------------------


def create_device(kind: str, *, lane: str | None = None, yard: str | None = None, name: str | None = None) -> str:
    """Register a device the way an installer does and return the key printed on the last line."""
    out = io.StringIO()
    place = ["--lane", lane] if lane else ["--yard", yard]
    call_command("create_device", "--kind", kind, *place, "--name", name or f"{kind}-{lane or yard}", stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def client_with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def device(reference):
    """An API client holding a new device's key."""

    def make(kind: str, *, lane: str | None = None, yard: str | None = None) -> APIClient:
        return client_with_key(create_device(kind, lane=lane, yard=yard))

    return make


@pytest.fixture
def barrier(device):
    """The lane_gate device at a lane (1119-EX1 unless told)."""

    def make(lane: str = "1119-EX1") -> APIClient:
        return device("lane_gate", lane=lane)

    return make


@pytest.fixture
def yard_camera(device):
    return device("yard_gate", yard="1119-export-yard")


def read(client: APIClient, n: int, *, at: datetime | None = None, confidence: str = "0.970", **extra):
    body = {
        "plate": truck_plate_read(n),
        "read_at": (at or timezone.now()).isoformat(),
        "confidence": confidence,
        **extra,
    }
    return client.post("/api/v1/gate/reads/", body, format="json")


def local_today(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(local_date(timezone.now()), time(hour, minute), tzinfo=LOCAL_TZ)


def close(code: str) -> None:
    lane_set_open(lane_id=Lane.objects.get(code=code).id, is_open=False, actor=OPERATOR, reason="Barrier fault")


# --- Hold reasons, one realistic situation each -------------------------------------------------------


def hold_not_declared(barrier):
    # A truck nobody declared drives up to the barrier.
    return read(barrier(), 99), ["not_declared"]


def hold_not_cleared(barrier):
    DeclarationFactory(n=0, stage=Status.CHECKING)  # the checks are still running
    return read(barrier(), 0), ["not_cleared", "fee_unpaid", "not_called"]


def hold_inspection_pending(barrier):
    HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Smartphones under-declared")
    DeclarationFactory(n=0, stage=Status.INSPECTION, goods=PHONES)
    return read(barrier(), 0), ["inspection_pending", "fee_unpaid", "not_called"]


def hold_fee_unpaid(barrier):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED, paid=False)
    assert Fee.objects.get(declaration=declaration).status == "issued"
    return read(barrier(), 0), ["fee_unpaid"]


def hold_wrong_route(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    # The 1119-1120 truck turns up at the barrier of route 1088/2-1089, within that lane's hours.
    return read(barrier("1088-EX1"), 0, at=local_today(10, 5)), ["wrong_route", "called_to_other_lane"]


def hold_wrong_direction(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    # An export truck at an import lane.
    return read(barrier("1119-IM1"), 0), ["wrong_direction", "called_to_other_lane"]


def hold_not_called(barrier):
    DeclarationFactory(n=0, stage=Stage.IN_YARD, paid=True)  # waiting in the yard, not called yet
    return read(barrier(), 0), ["not_called"]


def hold_called_to_other_lane(barrier):
    assert DeclarationFactory(n=0, stage=Stage.CALLED).lane.code == "1119-EX1"
    return read(barrier("1119-EX2"), 0), ["called_to_other_lane"]


def hold_lane_closed(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    close("1119-EX1")  # the operator closes the lane after the call: the call goes back to the queue
    return read(barrier(), 0), ["lane_closed", "not_called"]


def hold_outside_hours(barrier):
    # The reversible lane works 07:00–22:00; the truck is called there in the morning and read at 23:00.
    close("1119-EX1")
    close("1119-EX2")
    assert DeclarationFactory(n=0, stage=Stage.CALLED, called_at=local_today(10, 5)).lane.code == "1119-REV1"
    return read(barrier("1119-REV1"), 0, at=local_today(23, 0)), ["outside_hours"]


def hold_low_confidence(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    return read(barrier(), 0, confidence="0.5"), ["low_confidence"]


def _declared_in_legs(containers_handed_over: list[str] | None) -> None:
    """An export in two legs (a truck to the transfer yard, then truck n=0 across), cleared, paid and
    called; the containers handed over at the transfer yard as given (None: not yet)."""
    body = TruckBody(n=0, containers=[{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}])
    crossing = {"vehicle": body.pop("vehicle"), "driver": body.pop("driver")}
    body.pop("trailer")
    truck = {"plate": "12C-123.45", "country": "VN", "max_gross_weight_kg": 40000}
    body["legs"] = [{"vehicle": truck, "driver": crossing["driver"], "transfer_point": "1119-transfer-yard"}, crossing]
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client_for(forwarder()).post("/api/v1/declarations/", body, format="json")
    declaration = Declaration.objects.get(id=created.json()["id"])
    fee = Fee.objects.get(declaration=declaration)
    payment_record(
        provider_payment_id="PAY-1", reference=declaration.reference, amount_vnd=Decimal(fee.amount_vnd), payload={}
    )
    if containers_handed_over is not None:
        handover_record(
            yard=Yard.objects.get(code="1119-transfer-yard"),
            plate=truck_plate(0),
            from_plate="12C-123.45",
            containers=containers_handed_over,
            occurred_at=timezone.now(),
            actor=Actor.system("transfer-officer"),
        )
    # Waiting in the yard: the hand-over keeps it from being called, so the barrier also says not_called.
    notice_has_run()
    yard_arrival_record(
        plate_read=truck_plate(0),
        yard=Yard.objects.get(code="1119-export-yard"),
        occurred_at=timezone.now(),
        source="camera",
        actor=Actor.system("camera"),
    )


def hold_handover_pending(barrier):
    _declared_in_legs(None)
    return read(barrier(), 0), ["handover_pending", "not_called"]


def hold_handover_mismatch(barrier):
    _declared_in_legs(["MSKU1234565"])
    return read(barrier(), 0), ["handover_mismatch", "not_called"]


def ticket_of(declaration: Declaration) -> str:
    """The e-ticket's QR payload, as the forwarder downloads it once the fee is paid."""
    return client_for(declaration.company).get(f"/api/v1/declarations/{declaration.id}/ticket/").json()["token"]


def hold_ticket_invalid(barrier):
    ticket = ticket_of(DeclarationFactory(n=0, stage=Stage.CALLED))
    forged = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB")
    return read(barrier(), 0, ticket=forged), ["ticket_invalid"]


def hold_ticket_not_for_vehicle(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    # The driver shows another truck's ticket.
    return read(barrier(), 0, ticket=ticket_of(DeclarationFactory(n=1, stage=Stage.IN_YARD, paid=True))), [
        "ticket_not_for_vehicle"
    ]


def hold_ticket_void(barrier):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    ticket = ticket_of(declaration)
    client_for(declaration.company).post(
        f"/api/v1/declarations/{declaration.id}/cancel/", {"reason": "Trip called off"}, format="json"
    )
    return read(barrier(), 0, ticket=ticket), ["ticket_void", "not_declared"]


SITUATIONS = {
    "handover_pending": hold_handover_pending,
    "handover_mismatch": hold_handover_mismatch,
    "not_declared": hold_not_declared,
    "not_cleared": hold_not_cleared,
    "inspection_pending": hold_inspection_pending,
    "fee_unpaid": hold_fee_unpaid,
    "wrong_route": hold_wrong_route,
    "wrong_direction": hold_wrong_direction,
    "not_called": hold_not_called,
    "called_to_other_lane": hold_called_to_other_lane,
    "lane_closed": hold_lane_closed,
    "outside_hours": hold_outside_hours,
    "low_confidence": hold_low_confidence,
    "ticket_invalid": hold_ticket_invalid,
    "ticket_not_for_vehicle": hold_ticket_not_for_vehicle,
    "ticket_void": hold_ticket_void,
}


# A replayed ticket needs its first use to have opened the barrier: tests/clearance/test_gate_ticket.py.
SITUATIONS_ELSEWHERE = {"ticket_replayed"}


def test_every_documented_reason_has_a_situation():
    assert set(SITUATIONS) | SITUATIONS_ELSEWHERE == set(GateDecision.HoldReason.values)


@pytest.mark.parametrize("code", list(SITUATIONS))
def test_barrier_holds_with_the_reason_of_the_situation(barrier, code):
    response, expected = SITUATIONS[code](barrier)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["decision"] == "hold"
    assert sorted(body["reasons"]) == sorted(expected)
    assert code in body["reasons"]
    stored = GateDecision.objects.get(id=body["decision_id"])
    assert (stored.decision, stored.reasons) == ("hold", body["reasons"])
    # A hold lets nobody into the lane.
    assert not Declaration.objects.filter(stage="in_lane").exists()
    assert not Movement.objects.filter(kind="lane_in").exists()


def test_hold_names_the_declaration_the_plate_belongs_to(barrier):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED, paid=False)

    body = read(barrier(), 0).json()

    assert (body["declaration"], body["reference"]) == (declaration.id, declaration.reference)


def test_unknown_plate_is_held_without_a_declaration(barrier):
    body = read(barrier(), 99).json()

    assert (body["decision"], body["declaration"], body["reference"]) == ("hold", None, None)


def test_the_barriers_answer_is_what_the_schema_says(barrier):
    # The view builds the answer by hand (the hot path); GateDecisionOutput is the schema's source.
    DeclarationFactory(n=0, stage=Stage.CALLED, paid=False)
    DeclarationFactory(n=1, stage=Stage.CALLED)
    device = barrier()

    for n in (0, 1, 99):  # held with a declaration, opened, held without one
        body = read(device, n).json()
        decision = GateDecision.objects.select_related("declaration").get(id=body["decision_id"])
        assert body == json.loads(JSONRenderer().render(GateDecisionOutput(decision).data))


# --- Open -------------------------------------------------------------------------------------------


def test_barrier_opens_for_a_cleared_paid_truck_called_to_this_lane(barrier, api):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    read_at = timezone.now()

    response = read(barrier(), 0, at=read_at)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["decision"], body["reasons"]) == ("open", [])
    assert (body["declaration"], body["reference"]) == (declaration.id, declaration.reference)
    declaration.refresh_from_db()
    assert declaration.stage == "in_lane"
    assert declaration.in_lane_at == read_at
    movement = Movement.objects.get(kind="lane_in")
    assert (movement.lane.code, movement.normalized_plate, movement.occurred_at) == (
        "1119-EX1",
        truck_plate_read(0),
        read_at,
    )
    decision = GateDecision.objects.get(id=body["decision_id"])
    assert (decision.decision, decision.lane.code, decision.declaration_id) == ("open", "1119-EX1", declaration.id)
    assert decision.plate_read == truck_plate_read(0)
    # The forwarder sees the truck in the lane.
    seen = api.get(f"/api/v1/declarations/{declaration.id}/").json()
    assert (seen["stage"], seen["lane"]) == ("in_lane", "1119-EX1")
    entered = DeclarationEvent.objects.get(declaration=declaration, event="entered_lane")
    assert entered.actor_kind == "device" and entered.data["lane"] == "1119-EX1"


def test_plate_read_in_any_writing_matches(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)

    response = barrier().post(
        "/api/v1/gate/reads/",
        {"plate": "12c 300.00", "read_at": timezone.now().isoformat(), "confidence": "0.9"},
        format="json",
    )

    assert response.json()["decision"] == "open"


def test_every_read_is_stored_open_or_hold(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    barrier = barrier()

    first = read(barrier, 0, confidence="0.4").json()  # a blurred read
    second = read(barrier, 99).json()  # another truck, undeclared
    third = read(barrier, 0).json()  # the clear read

    assert [first["decision"], second["decision"], third["decision"]] == ["hold", "hold", "open"]
    stored = list(GateDecision.objects.order_by("id").values_list("plate_read", "decision", "confidence"))
    assert stored == [
        (truck_plate_read(0), "hold", Decimal("0.400")),
        (truck_plate_read(99), "hold", Decimal("0.970")),
        (truck_plate_read(0), "open", Decimal("0.970")),
    ]


def test_a_second_read_after_opening_does_not_open_again(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    barrier = barrier()
    assert read(barrier, 0).json()["decision"] == "open"

    again = read(barrier, 0).json()

    assert again["decision"] == "hold"
    assert Movement.objects.filter(kind="lane_in").count() == 1
    assert GateDecision.objects.count() == 2


# --- The hot path ------------------------------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.parametrize("others", [1, 50])
def test_a_read_runs_a_constant_number_of_queries(barrier, others, django_assert_max_num_queries):
    for n in range(1, others + 1):
        DeclarationFactory(n=n, stage=Status.CHECKING)
    DeclarationFactory(n=0, stage=Stage.CALLED)
    barrier = barrier()

    with django_assert_max_num_queries(QUERIES_PER_READ):
        response = read(barrier, 0)
    assert response.json()["decision"] == "open"

    with django_assert_max_num_queries(QUERIES_PER_READ):
        response = read(barrier, 99)
    assert response.json()["decision"] == "hold"


# Device key lookup (its first use), the declaration with its fee, the decision row; on open one statement
# moving the stage with the audit row and the forwarder's event, and the lane_in movement (the budget of a
# warm key is in test_query_budgets.py).
QUERIES_PER_READ = 5


# --- Device scoping -----------------------------------------------------------------------------------


def test_a_yard_camera_cannot_post_plate_reads(reference, yard_camera):
    DeclarationFactory(n=0, stage=Stage.CALLED)

    response = read(yard_camera, 0)

    assert response.status_code == 403
    assert not GateDecision.objects.exists()


def test_a_forwarders_key_is_refused_on_device_endpoints(reference, api):
    DeclarationFactory(n=0, stage=Stage.CALLED)

    response = read(api, 0)

    assert response.status_code == 401
    assert not GateDecision.objects.exists()
    assert Declaration.objects.get().stage == "called"


def test_a_device_key_is_refused_on_forwarder_endpoints(barrier):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    barrier = barrier()

    assert barrier.get("/api/v1/declarations/").status_code == 401
    assert barrier.get(f"/api/v1/declarations/{declaration.id}/").status_code == 401


def test_a_device_cannot_act_for_another_lane(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)

    response = read(barrier("1119-EX1"), 0, lane="1119-IM1")

    assert response.status_code == 403
    assert "1119-EX1" in response.json()["detail"]
    assert not GateDecision.objects.exists()
    assert Declaration.objects.get().stage == "called"


def test_naming_its_own_lane_is_accepted(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)

    response = read(barrier("1119-EX1"), 0, lane="1119-EX1")

    assert response.status_code == 200, response.json()
    assert response.json()["decision"] == "open"


def test_a_revoked_device_key_is_refused(reference):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    key = create_device("lane_gate", lane="1119-EX1", name="barrier-ex1-old")
    DeviceAPIKey.objects.filter(device__name="barrier-ex1-old").update(revoked=True)

    response = read(client_with_key(key), 0)

    assert response.status_code == 401
    assert not GateDecision.objects.exists()


def test_a_deactivated_device_is_refused(reference):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    key = create_device("lane_gate", lane="1119-EX1", name="barrier-ex1-retired")
    GateDevice.objects.filter(name="barrier-ex1-retired").update(is_active=False)

    assert read(client_with_key(key), 0).status_code == 401


def test_another_companys_key_cannot_read_plates_either(reference, other_company):
    DeclarationFactory(n=0, stage=Stage.CALLED)

    assert read(client_for(other_company), 0).status_code == 401
