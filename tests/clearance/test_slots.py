"""Arrival slots as forwarders book them and as the gate honours them: generation, listing, booking,
moving, releasing, the last place taken by two at once, on-time tolerance and the no-show sweep."""

import threading
from datetime import datetime, time, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from clearance.audit import Actor
from clearance.models import ArrivalSlot, Company, Declaration, DeclarationEvent
from clearance.services.slots import slots_generate, slots_sweep_no_shows
from clearance.services.yard import yard_arrival_record
from tests.factories import DeclarationFactory, client_for, truck_plate_read
from vehicles.models import LOCAL_TZ, Yard, local_date

CAMERA = Actor(kind="device", name="camera-1119-export-gate")
# Booking a slot does not wait for the checks: the trucks here are declared with their checks left pending.
CHECKING = Declaration.Status.CHECKING


@pytest.fixture
def slots(reference):
    """Two days of hourly slots from now."""
    slots_generate(days=2)


def hour_from_now(hours: int):
    return timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


def slot_at(starts_at, route="1119-1120", direction="export") -> ArrivalSlot:
    return ArrivalSlot.objects.get(route__code=route, direction=direction, starts_at=starts_at)


def book(api, declaration_id: int, starts_at):
    value = starts_at if isinstance(starts_at, str) else starts_at.isoformat()
    return api.post(f"/api/v1/declarations/{declaration_id}/slot/", {"starts_at": value}, format="json")


# --- Generation ---------------------------------------------------------------------------------


def test_slots_are_generated_hourly_for_both_routes_and_directions(reference):
    now = timezone.now()

    created = slots_generate(days=1, now=now)

    assert created == 2 * 2 * 24
    first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    for code in ("1119-1120", "1088/2-1089"):
        for direction in ("export", "import"):
            starts = list(
                ArrivalSlot.objects.filter(route__code=code, direction=direction)
                .order_by("starts_at")
                .values_list("starts_at", flat=True)
            )
            assert starts == [first + timedelta(hours=offset) for offset in range(24)]
    assert all(slot.booked == 0 for slot in ArrivalSlot.objects.all())


def test_slot_capacity_is_what_the_cargo_lanes_take_in_an_hour(reference):
    slots_generate(days=1)

    def capacities_at(hour: int) -> set:
        return {
            (slot.route.code, slot.direction, slot.capacity)
            for slot in ArrivalSlot.objects.select_related("route")
            if slot.starts_at.astimezone(LOCAL_TZ).hour == hour
        }

    capacities = capacities_at(10)

    # 1119 export: EX1 30 + EX2 20 + REV1 (reversible, now export) 25; the autonomous lane is not cargo.
    # 1119 import: IM1 30 + IM2 20; the empty-return lane takes no loaded trucks.
    # 1088 export: EX1 25; 1088 import: IM1 25 + REV1 (now import) 20.
    assert capacities == {
        ("1119-1120", "export", 75),
        ("1119-1120", "import", 50),
        ("1088/2-1089", "export", 25),
        ("1088/2-1089", "import", 45),
    }
    # At 23:00 the day lanes (07:00–22:00) take nobody: the reversible lane and all of 1088/2-1089 rest.
    assert capacities_at(23) == {
        ("1119-1120", "export", 50),
        ("1119-1120", "import", 50),
        ("1088/2-1089", "export", 0),
        ("1088/2-1089", "import", 0),
    }


def test_generating_again_creates_nothing_and_keeps_changed_capacities(reference):
    now = timezone.now()
    slots_generate(days=1, now=now)
    ArrivalSlot.objects.filter(route__code="1119-1120", direction="export").update(capacity=10)

    assert slots_generate(days=1, now=now) == 0

    assert ArrivalSlot.objects.count() == 96
    assert set(
        ArrivalSlot.objects.filter(route__code="1119-1120", direction="export").values_list("capacity", flat=True)
    ) == {10}


# --- Listing ------------------------------------------------------------------------------------


def test_slots_of_a_day_are_listed_with_their_free_places(api, slots):
    tomorrow = local_date(timezone.now() + timedelta(days=1))
    booked_hour = datetime.combine(tomorrow, time(10), tzinfo=LOCAL_TZ)
    assert book(api, DeclarationFactory(n=0, stage=CHECKING).id, booked_hour).status_code == 200

    response = api.get("/api/v1/slots/", {"route": "1119-1120", "direction": "export", "date": str(tomorrow)})

    assert response.status_code == 200
    body = response.json()
    assert len(body) == 24
    assert [local_date(datetime.fromisoformat(slot["starts_at"])) for slot in body] == [tomorrow] * 24
    ten = body[10]
    assert datetime.fromisoformat(ten["starts_at"]) == booked_hour
    assert (ten["capacity"], ten["booked"], ten["free"]) == (75, 1, 74)
    assert all(slot["free"] == slot["capacity"] - slot["booked"] for slot in body)
    day_hours = [slot for index, slot in enumerate(body) if 7 <= index < 22 and index != 10]
    assert all(slot["free"] == 75 for slot in day_hours)
    assert all(slot["capacity"] == 50 for index, slot in enumerate(body) if index < 7 or index >= 22)


def test_listing_another_direction_shows_that_directions_capacity(api, slots):
    tomorrow = local_date(timezone.now() + timedelta(days=1))

    body = api.get("/api/v1/slots/", {"route": "1119-1120", "direction": "import", "date": str(tomorrow)}).json()

    assert len(body) == 24
    assert {slot["capacity"] for slot in body} == {50}


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"route": "9999-0000", "direction": "export"}, "route", "unknown_route"),
        ({"route": "1119-1120", "direction": "sideways"}, "direction", "invalid_choice"),
        ({"route": "1119-1120"}, "direction", "required"),
    ],
)
def test_listing_with_a_bad_route_or_direction_is_400_with_field_errors(api, slots, query, field, code):
    response = api.get("/api/v1/slots/", query)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(error["field"], error["code"]) for error in errors] == [(field, code)]
    assert errors[0]["message"]


def test_listing_slots_needs_an_api_key(slots):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/slots/", {"route": "1119-1120", "direction": "export"}).status_code == 401


# --- Booking, moving, releasing -----------------------------------------------------------------


def test_booking_a_slot_shows_on_the_declaration_and_takes_a_place(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)

    response = book(api, declaration_id, hour)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert datetime.fromisoformat(body["slot_starts_at"]) == hour
    assert body["slot_starts_at"].endswith("Z")
    assert body["slot_moves"] == 0
    assert api.get(f"/api/v1/declarations/{declaration_id}/").json()["slot_starts_at"] == body["slot_starts_at"]
    slot = slot_at(hour)
    assert slot.capacity > 0  # 1119-1120 export has round-the-clock lanes
    assert (slot.booked, slot.free) == (1, slot.capacity - 1)
    assert DeclarationEvent.objects.filter(declaration_id=declaration_id, event="slot_booked").count() == 1


def test_booking_the_same_slot_again_changes_nothing(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)
    book(api, declaration_id, hour)

    again = book(api, declaration_id, hour)

    assert again.status_code == 200
    assert again.json()["slot_moves"] == 0
    assert slot_at(hour).booked == 1


def test_booking_with_another_offset_names_the_same_slot(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)

    response = book(api, declaration_id, hour.astimezone(timezone.get_fixed_timezone(7 * 60)).isoformat())

    assert response.status_code == 200, response.json()
    assert slot_at(hour).booked == 1


def test_booking_another_slot_moves_the_booking_and_frees_the_old_place(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    first, second = hour_from_now(5), hour_from_now(8)
    book(api, declaration_id, first)

    response = book(api, declaration_id, second)

    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body["slot_starts_at"]) == second
    assert body["slot_moves"] == 1
    assert slot_at(first).booked == 0
    assert slot_at(second).booked == 1
    assert DeclarationEvent.objects.filter(declaration_id=declaration_id, event="slot_moved").count() == 1


def test_moving_more_than_allowed_is_refused_and_keeps_the_booking(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    max_moves = django_settings.SMARTGATE_SLOT_MAX_MOVES
    hours = [hour_from_now(4 + index) for index in range(max_moves + 2)]
    assert book(api, declaration_id, hours[0]).status_code == 200
    for hour in hours[1:-1]:
        assert book(api, declaration_id, hour).status_code == 200

    refused = book(api, declaration_id, hours[-1])

    assert refused.status_code == 409
    assert refused.json()["code"] == "slot_move_limit"
    body = api.get(f"/api/v1/declarations/{declaration_id}/").json()
    assert body["slot_moves"] == max_moves
    assert datetime.fromisoformat(body["slot_starts_at"]) == hours[-2]
    assert slot_at(hours[-2]).booked == 1
    assert slot_at(hours[-1]).booked == 0
    assert sum(ArrivalSlot.objects.values_list("booked", flat=True)) == 1


def test_a_full_slot_is_refused(api, slots):
    hour = hour_from_now(5)
    ArrivalSlot.objects.filter(id=slot_at(hour).id).update(capacity=1)
    assert book(api, DeclarationFactory(n=0, stage=CHECKING).id, hour).status_code == 200

    refused = book(api, DeclarationFactory(n=1, stage=CHECKING).id, hour)

    assert refused.status_code == 409
    assert refused.json()["code"] == "slot_full"
    assert slot_at(hour).booked == 1


def test_moving_to_a_full_slot_keeps_the_current_booking(api, slots):
    full, current = hour_from_now(5), hour_from_now(6)
    ArrivalSlot.objects.filter(id=slot_at(full).id).update(capacity=1)
    assert book(api, DeclarationFactory(n=0, stage=CHECKING).id, full).status_code == 200
    mover = DeclarationFactory(n=1, stage=CHECKING).id
    assert book(api, mover, current).status_code == 200

    refused = book(api, mover, full)

    assert refused.status_code == 409
    assert refused.json()["code"] == "slot_full"
    body = api.get(f"/api/v1/declarations/{mover}/").json()
    assert datetime.fromisoformat(body["slot_starts_at"]) == current
    assert body["slot_moves"] == 0
    assert (slot_at(full).booked, slot_at(current).booked) == (1, 1)


@pytest.mark.parametrize(
    "when",
    [
        lambda: hour_from_now(5) + timedelta(minutes=30),  # not the start of an hour
        lambda: hour_from_now(24 * 10),  # beyond the generated days
        lambda: hour_from_now(-2),  # in the past
    ],
)
def test_booking_a_time_that_is_no_slot_is_400_unknown_slot(api, slots, when):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id

    response = book(api, declaration_id, when())

    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [("starts_at", "unknown_slot")]
    assert Declaration.objects.get(id=declaration_id).slot_id is None


def test_an_import_declaration_books_an_import_slot(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING, direction="import").id

    response = book(api, declaration_id, hour_from_now(5))

    assert response.status_code == 200
    assert slot_at(hour_from_now(5), direction="import").booked == 1
    assert slot_at(hour_from_now(5), direction="export").booked == 0


def test_releasing_frees_the_place(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)
    book(api, declaration_id, hour)

    response = api.delete(f"/api/v1/declarations/{declaration_id}/slot/")

    assert response.status_code == 200
    assert response.json()["slot_starts_at"] is None
    assert slot_at(hour).booked == 0
    assert DeclarationEvent.objects.filter(declaration_id=declaration_id, event="slot_released").count() == 1


def test_releasing_without_a_slot_is_a_conflict(api, slots):
    response = api.delete(f"/api/v1/declarations/{DeclarationFactory(n=0, stage=CHECKING).id}/slot/")

    assert response.status_code == 409
    assert response.json()["code"] == "no_slot"


def test_another_companys_declaration_is_not_found(api, other_api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)

    assert book(other_api, declaration_id, hour).status_code == 404
    assert slot_at(hour).booked == 0

    book(api, declaration_id, hour)
    assert other_api.delete(f"/api/v1/declarations/{declaration_id}/slot/").status_code == 404
    assert slot_at(hour).booked == 1


def test_a_vehicle_already_in_the_yard_cannot_book(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    yard_arrival_record(
        plate_read=truck_plate_read(0),
        yard=Yard.objects.get(code="1119-export-yard"),
        occurred_at=timezone.now(),
        source="camera",
        actor=CAMERA,
    )

    response = book(api, declaration_id, hour_from_now(5))

    assert response.status_code == 409
    assert response.json()["code"] == "slot_not_bookable"
    assert slot_at(hour_from_now(5)).booked == 0


def test_cancelling_a_declaration_gives_its_place_back(api, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)
    book(api, declaration_id, hour)

    cancelled = api.post(f"/api/v1/declarations/{declaration_id}/cancel/", {"reason": "Trip postponed"}, format="json")

    assert cancelled.status_code == 200
    assert slot_at(hour).booked == 0


def test_a_cancelled_crossing_is_no_no_show(api, company, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)
    book(api, declaration_id, hour)
    api.post(f"/api/v1/declarations/{declaration_id}/cancel/", {"reason": "Trip postponed"}, format="json")

    slots_sweep_no_shows(now=hour + timedelta(hours=3))

    assert Company.objects.get(id=company.id).no_shows == 0


# --- The last place, taken twice at once ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_bookings_of_the_last_place_at_once_give_one(company, reference):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    slots_generate(days=1)
    hour = hour_from_now(5)
    ArrivalSlot.objects.filter(id=slot_at(hour).id).update(capacity=1)
    # The checks run as each declaration commits (a transactional test runs post-commit work at once).
    ids = [DeclarationFactory(n=n).id for n in range(2)]
    barrier = threading.Barrier(2)
    answers = []

    def send(declaration_id):
        client = client_for(company)
        barrier.wait()
        try:
            response = book(client, declaration_id, hour)
            answers.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(declaration_id,)) for declaration_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers, key=str) == [(200, None), (409, "slot_full")]
    assert slot_at(hour).booked == 1
    assert Declaration.objects.filter(id__in=ids, slot__isnull=False).count() == 1


# --- On time, and no-shows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes_after_start", "on_time"),
    [
        (-30, True),  # the tolerance before the hour
        (0, True),
        (59, True),
        (90, True),  # the end of the hour plus the tolerance
        (-31, False),
        (91, False),
        (240, False),
    ],
)
def test_arriving_within_the_tolerance_of_the_slot_counts_as_on_time(api, slots, minutes_after_start, on_time):
    assert django_settings.SMARTGATE_SLOT_TOLERANCE_MINUTES == 30
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)
    book(api, declaration_id, hour)

    declaration = yard_arrival_record(
        plate_read=truck_plate_read(0),
        yard=Yard.objects.get(code="1119-export-yard"),
        occurred_at=hour + timedelta(minutes=minutes_after_start),
        source="camera",
        actor=CAMERA,
    ).declaration

    # Non-perishable goods of a normal company: class 6 on time, 7 otherwise (the lowest bit is lateness).
    assert declaration.queue_class & 1 == (0 if on_time else 1)
    assert declaration.queue_class == (6 if on_time else 7)


def test_arriving_without_a_slot_is_never_on_time(api, slots):
    DeclarationFactory(n=0, stage=CHECKING)

    declaration = yard_arrival_record(
        plate_read=truck_plate_read(0),
        yard=Yard.objects.get(code="1119-export-yard"),
        occurred_at=timezone.now(),
        source="camera",
        actor=CAMERA,
    ).declaration

    assert declaration.queue_class == 7


def test_no_show_sweep_releases_the_slot_and_counts_against_the_company(api, company, slots):
    no_show, arrived = DeclarationFactory(n=0, stage=CHECKING).id, DeclarationFactory(n=1, stage=CHECKING).id
    hour = hour_from_now(5)
    book(api, no_show, hour)
    book(api, arrived, hour)
    yard_arrival_record(
        plate_read=truck_plate_read(1),
        yard=Yard.objects.get(code="1119-export-yard"),
        occurred_at=hour + timedelta(minutes=10),
        source="camera",
        actor=CAMERA,
    )
    tolerance = timedelta(minutes=django_settings.SMARTGATE_SLOT_TOLERANCE_MINUTES)

    # Until the end of the hour plus the tolerance the slot is still honoured.
    assert slots_sweep_no_shows(now=hour + timedelta(hours=1) + tolerance) == 0
    assert Declaration.objects.get(id=no_show).slot_id is not None

    swept = slots_sweep_no_shows(now=hour + timedelta(hours=1) + tolerance + timedelta(minutes=1))

    assert swept == 1
    body = api.get(f"/api/v1/declarations/{no_show}/").json()
    assert body["slot_starts_at"] is None
    company.refresh_from_db()
    assert company.no_shows == 1
    arrived_declaration = Declaration.objects.get(id=arrived)
    assert arrived_declaration.slot.starts_at == hour
    assert slot_at(hour).booked == 1
    event = DeclarationEvent.objects.get(declaration_id=no_show, event="slot_no_show")
    assert event.reason and event.actor_kind == "system"


def test_no_show_sweep_twice_counts_once(api, company, slots):
    declaration_id = DeclarationFactory(n=0, stage=CHECKING).id
    hour = hour_from_now(5)
    book(api, declaration_id, hour)
    later = hour + timedelta(hours=3)

    assert slots_sweep_no_shows(now=later) == 1
    assert slots_sweep_no_shows(now=later) == 0

    assert Company.objects.get(id=company.id).no_shows == 1
    assert slot_at(hour).booked == 0


def test_no_show_sweep_leaves_other_companies_alone(api, other_api, company, other_company, slots):
    hour = hour_from_now(5)
    book(api, DeclarationFactory(n=0, stage=CHECKING).id, hour)
    book(other_api, DeclarationFactory(n=1, stage=CHECKING, company=other_company).id, hour_from_now(9))

    slots_sweep_no_shows(now=hour + timedelta(hours=2))

    assert Company.objects.get(id=company.id).no_shows == 1
    assert Company.objects.get(id=other_company.id).no_shows == 0
    assert slot_at(hour_from_now(9)).booked == 1
