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
    UnmatchedArrival,
)
from clearance.services.dispatch import calls_expire, dispatch_run, lane_room
from clearance.services.lanes import lane_set_open, lane_switch_direction
from clearance.services.slots import slots_generate
from clearance.services.yard import yard_arrival_record
from tests.factories import DURIAN, PHONES, DeclarationFactory, notice_has_run, quarantine_certificate, truck_plate
from vehicles.models import LOCAL_TZ, Lane, Movement, Yard, local_date

CAMERA = Actor(kind="device", name="camera-1119-export-gate")
OPERATOR = Actor.system("gate-operator")
INSPECTION = Declaration.Status.INSPECTION
EXPORT_YARD = "1119-export-yard"


def written(n: int) -> str:
    """The n-th truck's plate as a yard camera or an officer might write it: 12c 300.00."""
    return truck_plate(n).lower().replace("-", " ")


def local(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


@pytest.fixture(autouse=True)
def risk(reference):
    """Smartphones are yellow channel (an officer reviews the documents); random selection is off."""
    HsRiskRule.objects.create(hs_prefix="8517", weight=35, description="Smartphones under-declared")


@pytest.fixture
def morning():
    """10:05 at the gate today: every lane's operating hours are on."""
    return local(local_date(timezone.now()), 10, 5)


@pytest.fixture
def pilot_window():
    """19:00 at the gate today: inside the autonomous lane's window (the night pilot, 18:30–20:00), and
    the cargo lanes' hours are on."""
    return local(local_date(timezone.now()), 19, 0)


def arrive(n: int, at: datetime, yard: str = EXPORT_YARD):
    notice_has_run()
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


def test_declared_plate_written_differently_joins_the_queue(api, declare, morning):
    created = declare(quarantine_certificates=[quarantine_certificate()]).json()  # plate 12C-123.45

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


def test_trailer_plate_read_at_the_yard_gate_matches_too(api, declare, morning):
    created = declare(quarantine_certificates=[quarantine_certificate()]).json()  # trailer 12R-012.34

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


def test_plate_of_a_cancelled_crossing_is_unmatched(api, morning):
    declaration_id = DeclarationFactory(n=0).id
    api.post(f"/api/v1/declarations/{declaration_id}/cancel/", {"reason": "Trip postponed"}, format="json")

    result = arrive(0, morning)

    assert result.declaration is None and isinstance(result.unmatched, UnmatchedArrival)
    assert Declaration.objects.get(id=declaration_id).stage == "expected"


# --- Queue order --------------------------------------------------------------------------------


def test_queue_order_perishable_then_priority_then_on_time_then_arrival(api, other_api, other_company):
    slots_generate(days=2)
    Company.objects.filter(id=other_company.id).update(compliance_rating="priority")
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=5)
    regular_early = DeclarationFactory(n=0).id
    late_slot = DeclarationFactory(n=1).id
    on_time = DeclarationFactory(n=2).id
    priority = DeclarationFactory(n=3, company=other_company).id
    perishable = DeclarationFactory(n=4, goods=DURIAN, quarantine_certificates=[quarantine_certificate()]).id
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
def test_priority_and_regular_trucks_are_interleaved(settings, other_company, morning, streak, expected):
    settings.SMARTGATE_QUEUE_PRIORITY_STREAK = streak
    Company.objects.filter(id=other_company.id).update(compliance_rating="priority")
    only_open("1119-EX1")
    names = {
        DeclarationFactory(n=0).id: "regular 1",
        DeclarationFactory(n=1).id: "regular 2",
        DeclarationFactory(n=2, company=other_company).id: "priority 1",
        DeclarationFactory(n=3, company=other_company).id: "priority 2",
    }
    for n in range(4):  # the regular trucks were there first
        arrive(n, morning - timedelta(minutes=40 - n))

    called = dispatch_run(now=morning)

    assert [names[declaration_id] for declaration_id in called_ids(called)] == expected


def test_interleaving_calls_priority_trucks_in_a_row_when_no_regular_waits(settings, other_company, morning):
    settings.SMARTGATE_QUEUE_PRIORITY_STREAK = 1
    Company.objects.filter(id=other_company.id).update(compliance_rating="priority")
    only_open("1119-EX1")
    ids = [DeclarationFactory(n=n, company=other_company).id for n in range(3)]
    for n in range(3):
        arrive(n, morning - timedelta(minutes=30 - n))

    assert called_ids(dispatch_run(now=morning)) == ids


def test_waiting_vehicle_sees_its_position_and_estimated_call(api, morning):
    only_open("1119-EX1")  # 30 vehicles an hour: one every two minutes
    first, second, not_arrived = DeclarationFactory(n=0).id, DeclarationFactory(n=1).id, DeclarationFactory(n=2).id
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


def test_estimated_call_counts_only_lanes_working_at_that_hour(api):
    import time_machine

    only_open("1119-EX1", "1119-REV1")  # REV1 works 07:00–22:00 only
    night = local(local_date(timezone.now()), 23, 0)
    with time_machine.travel(night, tick=False):
        DeclarationFactory(n=0)
        second = DeclarationFactory(n=1).id
        arrive(0, night - timedelta(minutes=20))
        arrive(1, night - timedelta(minutes=10))

        body = api.get(f"/api/v1/declarations/{second}/").json()

    # Only EX1 calls at 23:00: 30 an hour, so the second in the queue is called in two minutes.
    assert body["queue_position"] == 2
    assert datetime.fromisoformat(body["estimated_call_at"]) == night + timedelta(minutes=2)


def test_positions_count_only_the_same_route_and_direction(api, morning):
    export, imported = DeclarationFactory(n=0).id, DeclarationFactory(n=1, direction="import").id
    arrive(1, morning - timedelta(minutes=30), yard="1119-import-yard")
    arrive(0, morning - timedelta(minutes=10))

    assert api.get(f"/api/v1/declarations/{export}/").json()["queue_position"] == 1
    assert api.get(f"/api/v1/declarations/{imported}/").json()["queue_position"] == 1


# --- The dispatcher -------------------------------------------------------------------------------


def test_only_cleared_vehicles_are_called_and_inspections_only_to_a_bay(api, morning):
    only_open("1119-EX1")  # no inspection bay
    cleared = DeclarationFactory(n=0).id
    inspection = DeclarationFactory(n=1, stage=INSPECTION, goods=PHONES).id
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


def test_vehicles_still_being_checked_are_not_called(morning):
    only_open("1119-EX1", "1119-EX2")
    declaration_id = DeclarationFactory(n=0, stage=Declaration.Status.CHECKING).id  # its checks have not run
    assert Declaration.objects.get(id=declaration_id).status == "checking"
    arrive(0, morning - timedelta(minutes=10))

    assert dispatch_run(now=morning) == []
    assert where(declaration_id) == ("in_yard", None)


def test_vehicles_go_to_lanes_of_their_route_and_current_direction(morning):
    trucks = {
        DeclarationFactory(n=0).id: ("1119-1120", "export"),
        DeclarationFactory(n=1, direction="import").id: ("1119-1120", "import"),
        DeclarationFactory(n=2, route="1088/2-1089").id: ("1088/2-1089", "export"),
        DeclarationFactory(n=3, route="1088/2-1089", direction="import").id: ("1088/2-1089", "import"),
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


def test_a_lane_never_holds_more_than_its_maximum(morning):
    only_open("1119-EX1")  # at most 4 in the lane
    ids = [DeclarationFactory(n=n).id for n in range(6)]
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


def test_a_lane_is_never_called_more_than_its_capacity_in_an_hour(settings, morning):
    settings.SMARTGATE_CALL_TIMEOUT_MINUTES = 15
    only_open("1119-EX1")
    Lane.objects.filter(code="1119-EX1").update(capacity_per_hour=3)  # below its maximum of 4 in lane
    ids = [DeclarationFactory(n=n).id for n in range(4)]
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


def test_a_closed_lane_gets_no_calls(morning):
    only_open("1119-EX1")
    declaration_id = DeclarationFactory(n=0).id
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
def test_a_night_lane_is_called_only_within_its_hours(days_later, hour, minute, served):
    only_open("1119-EX1")
    Lane.objects.filter(code="1119-EX1").update(opens_at=time(22, 0), closes_at=time(6, 0))
    declaration_id = DeclarationFactory(n=0).id
    day = local_date(timezone.now())
    at = local(day + timedelta(days=days_later), hour, minute)
    arrive(0, local(day, 21, 0))

    called = dispatch_run(now=at.astimezone(UTC))

    assert called_ids(called) == ([declaration_id] if served else [])
    assert lane_room(lane("1119-EX1"), now=at) == (3 if served else 0)


def test_reversible_lane_serves_its_current_direction_then_the_other(morning):
    only_open("1119-REV1")  # reversible, now pointing export
    export, imported = DeclarationFactory(n=0).id, DeclarationFactory(n=1, direction="import").id
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


def test_autonomous_vehicles_go_only_to_the_autonomous_lane(pilot_window):
    autonomous, regular = DeclarationFactory(n=0, vehicle__is_autonomous=True).id, DeclarationFactory(n=1).id
    arrive(0, pilot_window - timedelta(minutes=20))
    arrive(1, pilot_window - timedelta(minutes=10))

    dispatch_run(now=pilot_window)

    assert where(autonomous) == ("called", "1119-AV1")
    stage, lane_code = where(regular)
    assert stage == "called" and lane_code != "1119-AV1"


def test_no_other_lane_takes_an_autonomous_vehicle_nor_the_autonomous_lane_a_regular_one(pilot_window):
    autonomous, regular = DeclarationFactory(n=0, vehicle__is_autonomous=True).id, DeclarationFactory(n=1).id
    arrive(0, pilot_window - timedelta(minutes=20))
    arrive(1, pilot_window - timedelta(minutes=10))

    only_open("1119-EX1", "1119-EX2", "1119-REV1")
    dispatch_run(now=pilot_window)
    assert where(autonomous) == ("in_yard", None)

    only_open("1119-AV1")
    Declaration.objects.filter(id=regular).update(stage="in_yard", lane=None, called_at=None)  # back, for setup
    dispatch_run(now=pilot_window + timedelta(minutes=1))
    assert where(regular) == ("in_yard", None)
    assert where(autonomous) == ("called", "1119-AV1")


def test_many_inspections_waiting_throttle_lanes_without_a_bay(settings, morning):
    settings.SMARTGATE_INSPECTION_SHARE_PERCENT = 30
    settings.SMARTGATE_INSPECTION_THROTTLE_PERCENT = 50
    Lane.objects.filter(code__in=["1119-EX1", "1119-EX2"]).update(max_vehicles_in_lane=100)
    for n in range(3):
        DeclarationFactory(n=n)
    DeclarationFactory(n=3, stage=INSPECTION, goods=PHONES)
    for n in (0, 1, 3):
        arrive(n, morning - timedelta(minutes=30 - n))

    # One in three waiting is in inspection (33 % > 30 %): EX1 has no bay and takes half its capacity.
    assert lane_room(lane("1119-EX1"), now=morning) == 15
    assert lane_room(lane("1119-EX2"), now=morning) == 20  # it has a bay

    arrive(2, morning - timedelta(minutes=5))

    # One in four (25 %): full capacity again.
    assert lane_room(lane("1119-EX1"), now=morning) == 30
    assert lane_room(lane("1119-EX2"), now=morning) == 20


def test_a_called_vehicle_that_does_not_come_goes_back_to_its_place(settings, api, morning):
    settings.SMARTGATE_CALL_TIMEOUT_MINUTES = 15
    only_open("1119-EX1")
    Lane.objects.filter(code="1119-EX1").update(max_vehicles_in_lane=1)
    first, second = DeclarationFactory(n=0).id, DeclarationFactory(n=1).id
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
def test_two_dispatchers_at_once_call_each_vehicle_once_and_never_overfill(reference):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    at = local(local_date(timezone.now()), 10, 5)
    Lane.objects.update(is_open=False)  # nothing is called while the yard fills
    ids = [DeclarationFactory(n=n).id for n in range(14)]
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
