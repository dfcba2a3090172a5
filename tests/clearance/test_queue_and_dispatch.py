"""Yard arrivals, the queue and the dispatcher that calls vehicles forward to lanes, as gate operators
and forwarders see them."""

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from clearance.audit import Actor
from clearance.errors import Conflict
from clearance.models import (
    Company,
    Declaration,
    DeclarationEvent,
    HsRiskRule,
    LaneCall,
    LaneEvent,
    RiskSettings,
    UnmatchedArrival,
)
from clearance.services.dispatch import calls_expire, dispatch_run, lane_room
from clearance.services.lanes import lane_set_open, lane_switch_direction
from clearance.services.slots import slots_generate
from clearance.services.yard import yard_arrival_record
from tests.factories import LAPTOPS, PHONES, client_for
from vehicles.models import LOCAL_TZ, Lane, Movement, Yard, local_date

CAMERA = Actor(kind="device", name="camera-1119-export-gate")
OPERATOR = Actor.system("gate-operator")
DURIAN = [
    {
        "hs_code": "08106000",
        "description": "Fresh durian",
        "quantity": "18000",
        "unit": "KGM",
        "gross_weight_kg": "18000",
        "value": "45000.00",
        "currency": "USD",
        "origin_country": "VN",
    }
]
EXPORT_YARD = "1119-export-yard"


def plate_number(n: int) -> int:
    return 30000 + n


def truck(n: int, *, autonomous: bool = False, **overrides) -> dict:
    """A body for the n-th truck: its own plate and customs number, non-perishable goods (laptops)."""
    number = plate_number(n)
    vehicle = {
        "plate": f"12C-{number // 100:03d}.{number % 100:02d}",
        "country": "VN",
        "max_gross_weight_kg": 40000,
        "permit_number": f"VN-CN-2026-{number}",
        "permit_expires": str(timezone.localdate() + timedelta(days=365)),
    }
    if autonomous:
        vehicle["is_autonomous"] = True
    body = {
        "vehicle": vehicle,
        "trailer": None,
        "containers": [],
        "customs_declarations": [{"number": f"3070{number:08d}", "type": "B11"}],
        "goods": LAPTOPS,
        "quarantine_certificates": [],
    }
    body.update(overrides)
    return body


def written(n: int) -> str:
    """The n-th truck's plate as a yard camera or an officer might write it."""
    number = plate_number(n)
    return f"12c {number // 100:03d}.{number % 100:02d}"


def local(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


@pytest.fixture(autouse=True)
def risk(db):
    """No random selection; smartphones are yellow channel (an officer reviews the documents)."""
    RiskSettings.current()
    RiskSettings.objects.update(random_rate_percent=0, random_rate_priority_percent=0, random_rate_floor_percent=0)
    HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Smartphones under-declared")


@pytest.fixture
def morning():
    """10:05 at the gate today: every lane's operating hours are on."""
    return local(local_date(timezone.now()), 10, 5)


@pytest.fixture
def certificate():
    day = timezone.localdate(timezone.now() + timedelta(hours=24))
    return {
        "number": "KD-2026-001234",
        "issued_on": str(day - timedelta(days=3)),
        "expires_on": str(day + timedelta(days=27)),
    }


@pytest.fixture
def declared(declare, django_capture_on_commit_callbacks):
    """Declare the n-th truck with its checks run (as the workers do) and return its id."""

    def post(n: int = 0, *, client=None, status: str = "cleared", **overrides) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            response = declare(client=client, **truck(n, **overrides))
        assert response.status_code == 201, response.json()
        declaration = Declaration.objects.get(id=response.json()["id"])
        assert declaration.status == status
        return declaration.id

    return post


@pytest.fixture
def inspected(declared):
    """A truck whose declaration waits for a document review (status inspection)."""

    def post(n: int, **overrides) -> int:
        return declared(n, status="inspection", goods=PHONES, **overrides)

    return post


def arrive(n: int, at: datetime, yard: str = EXPORT_YARD):
    return yard_arrival_record(
        plate_read=written(n), yard=Yard.objects.get(code=yard), occurred_at=at, source="camera-1", actor=CAMERA
    )


def only_open(*codes: str) -> None:
    Lane.objects.update(is_open=False)
    Lane.objects.filter(code__in=codes).update(is_open=True)


def lane(code: str) -> Lane:
    return Lane.objects.get(code=code)


def called_ids(called) -> list[int]:
    return [declaration.id for declaration in called]


def where(declaration_id: int) -> tuple[str, str | None]:
    declaration = Declaration.objects.select_related("lane").get(id=declaration_id)
    return declaration.stage, declaration.lane.code if declaration.lane else None


# --- Arriving in a yard -------------------------------------------------------------------------


def test_declared_plate_written_differently_joins_the_queue(api, declare, certificate, morning):
    created = declare(quarantine_certificates=[certificate]).json()  # plate 12C-123.45

    result = yard_arrival_record(
        plate_read="12c 123.45",
        yard=Yard.objects.get(code=EXPORT_YARD),
        occurred_at=morning,
        source="camera-1",
        actor=CAMERA,
    )

    assert result.unmatched is None and result.declaration.id == created["id"]
    body = api.get(f"/api/v1/declarations/{created['id']}/").json()
    assert (body["stage"], body["yard"]) == ("in_yard", EXPORT_YARD)
    assert datetime.fromisoformat(body["arrived_at"]) == morning
    assert body["queue_position"] == 1
    assert body["estimated_call_at"] is not None
    movement = Movement.objects.get()
    assert (movement.kind, movement.plate_read, movement.normalized_plate) == ("yard_in", "12c 123.45", "12C12345")
    assert not UnmatchedArrival.objects.exists()
    event = DeclarationEvent.objects.get(declaration_id=created["id"], event="arrived_in_yard")
    assert event.actor == CAMERA.name and event.data["yard"] == EXPORT_YARD


def test_trailer_plate_read_at_the_yard_gate_matches_too(api, declare, certificate, morning):
    created = declare(quarantine_certificates=[certificate]).json()  # trailer 12R-012.34

    result = yard_arrival_record(
        plate_read="12R01234",
        yard=Yard.objects.get(code=EXPORT_YARD),
        occurred_at=morning,
        source="camera-1",
        actor=CAMERA,
    )

    assert result.unmatched is None and result.declaration.id == created["id"]
    assert Declaration.objects.get(id=created["id"]).stage == "in_yard"


def test_undeclared_plate_is_kept_as_unmatched_arrival(reference, morning):
    result = yard_arrival_record(
        plate_read="29H-999.99",
        yard=Yard.objects.get(code=EXPORT_YARD),
        occurred_at=morning,
        source="camera-1",
        actor=CAMERA,
    )

    assert result.declaration is None and isinstance(result.unmatched, UnmatchedArrival)
    unmatched = UnmatchedArrival.objects.get()
    assert (unmatched.plate_read, unmatched.normalized_plate) == ("29H-999.99", "29H99999")
    assert unmatched.yard.code == EXPORT_YARD and unmatched.seen_at == morning and not unmatched.resolved
    movement = Movement.objects.get()
    assert unmatched.movement == movement
    assert (movement.kind, movement.normalized_plate, movement.occurred_at) == ("yard_in", "29H99999", morning)


def test_plate_of_a_cancelled_crossing_is_unmatched(api, declared, morning):
    declaration_id = declared(0)
    api.post(f"/api/v1/declarations/{declaration_id}/cancel/", {"reason": "Trip postponed"}, format="json")

    result = arrive(0, morning)

    assert result.declaration is None and isinstance(result.unmatched, UnmatchedArrival)
    assert Declaration.objects.get(id=declaration_id).stage == "expected"


# --- Queue order --------------------------------------------------------------------------------


def test_queue_order_perishable_then_priority_then_on_time_then_arrival(
    api, other_api, other_company, declared, certificate
):
    slots_generate(days=2)
    Company.objects.filter(id=other_company.id).update(compliance_rating="priority")
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=5)
    regular_early = declared(0)
    late_slot = declared(1)
    on_time = declared(2)
    priority = declared(3, client=other_api)
    perishable = declared(4, goods=DURIAN, quarantine_certificates=[certificate])
    for declaration_id in (late_slot, on_time):
        booked = api.post(
            f"/api/v1/declarations/{declaration_id}/slot/", {"starts_at": start.isoformat()}, format="json"
        )
        assert booked.status_code == 200, booked.json()

    # They arrive in the reverse order of who goes first.
    arrive(0, start - timedelta(minutes=60))
    arrive(1, start - timedelta(minutes=50))  # too early for its slot: not on time
    arrive(2, start - timedelta(minutes=20))  # within the tolerance of its slot
    arrive(3, start - timedelta(minutes=10))
    arrive(4, start - timedelta(minutes=5))

    def position(declaration_id, client=api):
        return client.get(f"/api/v1/declarations/{declaration_id}/").json()["queue_position"]

    assert position(perishable) == 1
    assert position(priority, other_api) == 2
    assert position(on_time) == 3
    assert position(regular_early) == 4
    assert position(late_slot) == 5
    assert Declaration.objects.get(id=perishable).queue_class < Declaration.objects.get(id=priority).queue_class


@pytest.mark.parametrize(
    ("streak", "expected"),
    [
        (1, ["priority 1", "regular 1", "priority 2", "regular 2"]),
        (0, ["priority 1", "priority 2", "regular 1", "regular 2"]),
    ],
)
def test_priority_and_regular_trucks_are_interleaved(
    settings, other_api, other_company, declared, morning, streak, expected
):
    settings.SMARTGATE_QUEUE_PRIORITY_STREAK = streak
    Company.objects.filter(id=other_company.id).update(compliance_rating="priority")
    only_open("1119-EX1")
    names = {
        declared(0): "regular 1",
        declared(1): "regular 2",
        declared(2, client=other_api): "priority 1",
        declared(3, client=other_api): "priority 2",
    }
    for n in range(4):  # the regular trucks were there first
        arrive(n, morning - timedelta(minutes=40 - n))

    called = dispatch_run(now=morning)

    assert [names[declaration_id] for declaration_id in called_ids(called)] == expected


def test_interleaving_calls_priority_trucks_in_a_row_when_no_regular_waits(
    settings, other_api, other_company, declared, morning
):
    settings.SMARTGATE_QUEUE_PRIORITY_STREAK = 1
    Company.objects.filter(id=other_company.id).update(compliance_rating="priority")
    only_open("1119-EX1")
    ids = [declared(n, client=other_api) for n in range(3)]
    for n in range(3):
        arrive(n, morning - timedelta(minutes=30 - n))

    assert called_ids(dispatch_run(now=morning)) == ids


def test_waiting_vehicle_sees_its_position_and_estimated_call(api, declared, morning):
    only_open("1119-EX1")  # 30 vehicles an hour: one every two minutes
    first, second, not_arrived = declared(0), declared(1), declared(2)
    arrive(0, morning - timedelta(minutes=20))
    arrive(1, morning - timedelta(minutes=10))

    before = timezone.now()
    body = api.get(f"/api/v1/declarations/{second}/").json()
    after = timezone.now()

    assert body["queue_position"] == 2
    eta = datetime.fromisoformat(body["estimated_call_at"])
    assert before + timedelta(minutes=2) - timedelta(seconds=1) <= eta <= after + timedelta(minutes=2)
    assert api.get(f"/api/v1/declarations/{first}/").json()["queue_position"] == 1
    absent = api.get(f"/api/v1/declarations/{not_arrived}/").json()
    assert (absent["queue_position"], absent["estimated_call_at"]) == (None, None)

    dispatch_run(now=morning)
    called = api.get(f"/api/v1/declarations/{first}/").json()
    assert (called["stage"], called["lane"]) == ("called", "1119-EX1")
    assert (called["queue_position"], called["estimated_call_at"]) == (None, None)


def test_estimated_call_counts_only_lanes_working_at_that_hour(api, declared):
    import time_machine

    only_open("1119-EX1", "1119-REV1")  # REV1 works 07:00–22:00 only
    night = local(local_date(timezone.now()), 23, 0)
    with time_machine.travel(night, tick=False):
        declared(0)
        second = declared(1)
        arrive(0, night - timedelta(minutes=20))
        arrive(1, night - timedelta(minutes=10))

        body = api.get(f"/api/v1/declarations/{second}/").json()

    # Only EX1 calls at 23:00: 30 an hour, so the second in the queue is called in two minutes.
    assert body["queue_position"] == 2
    assert datetime.fromisoformat(body["estimated_call_at"]) == night + timedelta(minutes=2)


def test_positions_count_only_the_same_route_and_direction(api, declared, morning):
    export, imported = declared(0), declared(1, direction="import")
    arrive(1, morning - timedelta(minutes=30), yard="1119-import-yard")
    arrive(0, morning - timedelta(minutes=10))

    assert api.get(f"/api/v1/declarations/{export}/").json()["queue_position"] == 1
    assert api.get(f"/api/v1/declarations/{imported}/").json()["queue_position"] == 1


# --- The dispatcher -------------------------------------------------------------------------------


def test_only_cleared_vehicles_are_called_and_inspections_only_to_a_bay(api, declared, inspected, morning):
    only_open("1119-EX1")  # no inspection bay
    cleared = declared(0)
    inspection = inspected(1)
    for n in range(2):
        arrive(n, morning - timedelta(minutes=30 - n))

    assert called_ids(dispatch_run(now=morning)) == [cleared]
    assert where(cleared) == ("called", "1119-EX1")
    assert where(inspection) == ("in_yard", None)

    lane_set_open(lane_id=lane("1119-EX2").id, is_open=True, actor=OPERATOR, reason="Inspection bay staffed")

    assert called_ids(dispatch_run(now=morning + timedelta(minutes=1))) == [inspection]
    assert where(inspection) == ("called", "1119-EX2")
    body = api.get(f"/api/v1/declarations/{cleared}/").json()
    assert (body["stage"], body["lane"]) == ("called", "1119-EX1")
    assert datetime.fromisoformat(body["called_at"]) == morning
    call = LaneCall.objects.get(declaration_id=cleared)
    assert (call.lane.code, call.called_at, call.missed) == ("1119-EX1", morning, False)
    assert DeclarationEvent.objects.filter(declaration_id=cleared, event="called").count() == 1


def test_vehicles_still_being_checked_are_not_called(declare, morning):
    only_open("1119-EX1", "1119-EX2")
    response = declare(**truck(0))  # its checks have not run: checking
    assert Declaration.objects.get(id=response.json()["id"]).status == "checking"
    arrive(0, morning - timedelta(minutes=10))

    assert dispatch_run(now=morning) == []
    assert where(response.json()["id"]) == ("in_yard", None)


def test_vehicles_go_to_lanes_of_their_route_and_current_direction(declared, morning):
    trucks = {
        declared(0): ("1119-1120", "export"),
        declared(1, direction="import"): ("1119-1120", "import"),
        declared(2, route="1088/2-1089"): ("1088/2-1089", "export"),
        declared(3, route="1088/2-1089", direction="import"): ("1088/2-1089", "import"),
    }
    arrive(0, morning - timedelta(minutes=10))
    arrive(1, morning - timedelta(minutes=10), yard="1119-import-yard")
    arrive(2, morning - timedelta(minutes=10), yard="1088-yard")
    arrive(3, morning - timedelta(minutes=10), yard="1088-yard")

    called = dispatch_run(now=morning)

    assert sorted(called_ids(called)) == sorted(trucks)
    for declaration in Declaration.objects.select_related("lane__route").filter(id__in=trucks):
        assert declaration.stage == "called"
        assert (declaration.lane.route.code, declaration.lane.current_direction) == trucks[declaration.id]
        assert declaration.lane.purpose == "cargo"


def test_a_lane_never_holds_more_than_its_maximum(declared, morning):
    only_open("1119-EX1")  # at most 4 in the lane
    ids = [declared(n) for n in range(6)]
    for n in range(6):
        arrive(n, morning - timedelta(minutes=30 - n))

    first = dispatch_run(now=morning)

    assert called_ids(first) == ids[:4]
    assert dispatch_run(now=morning + timedelta(minutes=1)) == []
    assert Declaration.objects.filter(lane__code="1119-EX1", stage="called").count() == 4

    # One of them entered the lane and crossed: one place is free again.
    Declaration.objects.filter(id=ids[0]).update(stage="crossed")
    Declaration.objects.filter(id=ids[1]).update(stage="in_lane")

    assert called_ids(dispatch_run(now=morning + timedelta(minutes=2))) == [ids[4]]
    assert where(ids[5]) == ("in_yard", None)


def test_a_lane_is_never_called_more_than_its_capacity_in_an_hour(settings, declared, morning):
    settings.SMARTGATE_CALL_TIMEOUT_MINUTES = 15
    only_open("1119-EX1")
    Lane.objects.filter(code="1119-EX1").update(capacity_per_hour=3)  # below its maximum of 4 in lane
    ids = [declared(n) for n in range(4)]
    for n in range(4):
        arrive(n, morning - timedelta(minutes=30 - n))

    assert called_ids(dispatch_run(now=morning)) == ids[:3]

    # None of them turns up: the lane is empty again, but its three calls this hour are spent.
    assert calls_expire(now=morning + timedelta(minutes=16)) == 3
    assert Declaration.objects.filter(lane__code="1119-EX1").count() == 0
    assert dispatch_run(now=morning + timedelta(minutes=20)) == []
    assert LaneCall.objects.filter(lane__code="1119-EX1").count() == 3

    next_hour = morning.replace(minute=0) + timedelta(hours=1)
    assert len(dispatch_run(now=next_hour)) == 3


def test_a_closed_lane_gets_no_calls(declared, morning):
    only_open("1119-EX1")
    declaration_id = declared(0)
    arrive(0, morning - timedelta(minutes=10))

    lane_set_open(lane_id=lane("1119-EX1").id, is_open=False, actor=OPERATOR, reason="Barrier fault")

    assert dispatch_run(now=morning) == []
    assert where(declaration_id) == ("in_yard", None)

    lane_set_open(lane_id=lane("1119-EX1").id, is_open=True, actor=OPERATOR, reason="Barrier repaired")

    assert called_ids(dispatch_run(now=morning + timedelta(minutes=5))) == [declaration_id]


@pytest.mark.parametrize(
    ("days_later", "hour", "minute", "served"),
    [
        (0, 21, 59, False),
        (0, 22, 0, True),
        (0, 23, 30, True),
        (1, 0, 30, True),  # after midnight, still the same night shift
        (1, 5, 59, True),
        (1, 6, 0, False),
        (1, 12, 0, False),
    ],
)
def test_a_night_lane_is_called_only_within_its_hours(declared, days_later, hour, minute, served):
    only_open("1119-EX1")
    Lane.objects.filter(code="1119-EX1").update(opens_at=time(22, 0), closes_at=time(6, 0))
    declaration_id = declared(0)
    day = local_date(timezone.now())
    at = local(day + timedelta(days=days_later), hour, minute)
    arrive(0, local(day, 21, 0))

    called = dispatch_run(now=at.astimezone(UTC))

    assert called_ids(called) == ([declaration_id] if served else [])
    assert lane_room(lane("1119-EX1"), now=at) == (3 if served else 0)


def test_reversible_lane_serves_its_current_direction_then_the_other(declared, morning):
    only_open("1119-REV1")  # reversible, now pointing export
    export, imported = declared(0), declared(1, direction="import")
    arrive(0, morning - timedelta(minutes=10))
    arrive(1, morning - timedelta(minutes=20), yard="1119-import-yard")

    assert called_ids(dispatch_run(now=morning)) == [export]
    assert where(imported) == ("in_yard", None)

    lane_switch_direction(
        lane_id=lane("1119-REV1").id, direction="import", actor=OPERATOR, reason="Morning import peak"
    )

    assert called_ids(dispatch_run(now=morning + timedelta(minutes=1))) == [imported]
    assert where(imported) == ("called", "1119-REV1")
    assert where(export) == ("called", "1119-REV1")  # its call is kept


def test_a_one_way_lane_refuses_to_switch(reference):
    with pytest.raises(Conflict) as refused:
        lane_switch_direction(lane_id=lane("1119-EX1").id, direction="import", actor=OPERATOR, reason="Peak")

    assert refused.value.code == "lane_not_reversible"
    assert lane("1119-EX1").current_direction == "export"
    assert not LaneEvent.objects.exists()


def test_autonomous_vehicles_go_only_to_the_autonomous_lane(declared, morning):
    autonomous, regular = declared(0, autonomous=True), declared(1)
    arrive(0, morning - timedelta(minutes=20))
    arrive(1, morning - timedelta(minutes=10))

    dispatch_run(now=morning)

    assert where(autonomous) == ("called", "1119-AV1")
    stage, lane_code = where(regular)
    assert stage == "called" and lane_code != "1119-AV1"


def test_no_other_lane_takes_an_autonomous_vehicle_nor_the_autonomous_lane_a_regular_one(declared, morning):
    autonomous, regular = declared(0, autonomous=True), declared(1)
    arrive(0, morning - timedelta(minutes=20))
    arrive(1, morning - timedelta(minutes=10))

    only_open("1119-EX1", "1119-EX2", "1119-REV1")
    dispatch_run(now=morning)
    assert where(autonomous) == ("in_yard", None)

    only_open("1119-AV1")
    Declaration.objects.filter(id=regular).update(stage="in_yard", lane=None, called_at=None)  # back, for setup
    dispatch_run(now=morning + timedelta(minutes=1))
    assert where(regular) == ("in_yard", None)
    assert where(autonomous) == ("called", "1119-AV1")


def test_many_inspections_waiting_throttle_lanes_without_a_bay(settings, declared, inspected, morning):
    settings.SMARTGATE_INSPECTION_SHARE_PERCENT = 30
    settings.SMARTGATE_INSPECTION_THROTTLE_PERCENT = 50
    Lane.objects.filter(code__in=["1119-EX1", "1119-EX2"]).update(max_vehicles_in_lane=100)
    for n in range(3):
        declared(n)
    inspected(3)
    for n in (0, 1, 3):
        arrive(n, morning - timedelta(minutes=30 - n))

    # One in three waiting is in inspection (33 % > 30 %): EX1 has no bay and takes half its capacity.
    assert lane_room(lane("1119-EX1"), now=morning) == 15
    assert lane_room(lane("1119-EX2"), now=morning) == 20  # it has a bay

    arrive(2, morning - timedelta(minutes=5))

    # One in four (25 %): full capacity again.
    assert lane_room(lane("1119-EX1"), now=morning) == 30
    assert lane_room(lane("1119-EX2"), now=morning) == 20


def test_a_called_vehicle_that_does_not_come_goes_back_to_its_place(settings, api, declared, morning):
    settings.SMARTGATE_CALL_TIMEOUT_MINUTES = 15
    only_open("1119-EX1")
    Lane.objects.filter(code="1119-EX1").update(max_vehicles_in_lane=1)
    first, second = declared(0), declared(1)
    first_arrival = morning - timedelta(minutes=30)
    arrive(0, first_arrival)
    arrive(1, morning - timedelta(minutes=20))
    assert called_ids(dispatch_run(now=morning)) == [first]
    assert api.get(f"/api/v1/declarations/{second}/").json()["queue_position"] == 1

    assert calls_expire(now=morning + timedelta(minutes=15)) == 0
    assert where(first) == ("called", "1119-EX1")

    assert calls_expire(now=morning + timedelta(minutes=15, seconds=1)) == 1

    body = api.get(f"/api/v1/declarations/{first}/").json()
    assert (body["stage"], body["lane"], body["called_at"]) == ("in_yard", None, None)
    assert datetime.fromisoformat(body["arrived_at"]) == first_arrival
    assert body["queue_position"] == 1
    assert api.get(f"/api/v1/declarations/{second}/").json()["queue_position"] == 2
    declaration = Declaration.objects.get(id=first)
    assert declaration.call_misses == 1
    assert LaneCall.objects.get(declaration_id=first).missed is True
    missed = DeclarationEvent.objects.get(declaration_id=first, event="call_missed")
    assert "1119-EX1" in missed.reason

    # Called again first, since it kept its place.
    assert called_ids(dispatch_run(now=morning + timedelta(minutes=16))) == [first]
    assert list(
        LaneCall.objects.filter(declaration_id=first).order_by("called_at").values_list("missed", flat=True)
    ) == [True, False]


def test_every_lane_change_is_audited(django_user_model, reference):
    officer = django_user_model.objects.create_user(username="officer.linh", password="x")
    actor = Actor.for_user(officer)
    ex1, rev1 = lane("1119-EX1"), lane("1119-REV1")

    lane_set_open(lane_id=ex1.id, is_open=False, actor=actor, reason="Barrier fault")
    lane_set_open(lane_id=ex1.id, is_open=False, actor=actor, reason="Again")  # no change, nothing to record
    lane_set_open(lane_id=ex1.id, is_open=True, actor=actor, reason="Barrier repaired")
    lane_switch_direction(lane_id=rev1.id, direction="import", actor=actor, reason="Import peak")

    events = list(LaneEvent.objects.order_by("id").values_list("lane__code", "event", "actor", "user_id", "reason"))
    assert events == [
        ("1119-EX1", "closed", "officer.linh", officer.id, "Barrier fault"),
        ("1119-EX1", "opened", "officer.linh", officer.id, "Barrier repaired"),
        ("1119-REV1", "direction_switched", "officer.linh", officer.id, "Import peak"),
    ]
    assert LaneEvent.objects.get(event="direction_switched").data == {"from": "export", "to": "import"}
    assert all(event.at for event in LaneEvent.objects.all())


# --- Two dispatchers at once ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_call_each_vehicle_once_and_never_overfill(company, reference, declaration_body):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    at = local(local_date(timezone.now()), 10, 5)
    Lane.objects.update(is_open=False)  # nothing is called while the yard fills
    api = client_for(company)
    ids = []
    for n in range(14):
        response = api.post("/api/v1/declarations/", declaration_body(**truck(n)), format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    assert set(Declaration.objects.filter(id__in=ids).values_list("status", flat=True)) == {"cleared"}
    for n in range(14):
        arrive(n, at - timedelta(minutes=60 - n))
    assert not LaneCall.objects.exists()
    Lane.objects.update(is_open=True)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def dispatcher():
        barrier.wait()
        try:
            results.append(called_ids(dispatch_run(now=at)))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    everyone = results[0] + results[1]
    assert len(everyone) == len(set(everyone))
    calls = list(LaneCall.objects.values_list("declaration_id", flat=True))
    assert len(calls) == len(set(calls)) == len(everyone)
    for cargo_lane in Lane.objects.filter(route__code="1119-1120", current_direction="export"):
        in_lane = Declaration.objects.filter(lane=cargo_lane, stage__in=["called", "in_lane"]).count()
        assert in_lane <= cargo_lane.max_vehicles_in_lane
    # EX1 (4), EX2 (3) and REV1 (4) are filled; the autonomous lane has no autonomous truck to call. A lane
    # one dispatcher skips is one the other holds and fills, so between them no lane is left unserved.
    assert len(everyone) == 11, LaneCall.objects.values_list("lane__code", flat=True)
    assert Declaration.objects.filter(id__in=ids, stage="in_yard").count() == 3
