"""The public gate load: how busy each smart-gate route is, for drivers and forwarders deciding when to go."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.audit import Actor
from clearance.models import Declaration
from clearance.services.dispatch import dispatch_run
from clearance.services.lanes import lane_set_open
from clearance.services.yard import yard_arrival_record
from tests.factories import DeclarationFactory, notice_has_run, truck_plate_read
from vehicles.models import LOCAL_TZ, Lane, Yard, local_date

CAMERA = Actor(kind="device", name="camera-1119-export-gate")
OPERATOR = Actor.system("gate-operator")
FIELDS = {
    "route",
    "direction",
    "waiting",
    "called",
    "in_lane",
    "crossed_today",
    "calls_per_hour",
    "estimated_wait_minutes",
}


def local(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def day():
    return local_date(timezone.now())


@pytest.fixture
def at_ten(day):
    """10:00 at the gate: every lane's operating hours are on."""
    with time_machine.travel(local(day, 10, 0), tick=False) as traveller:
        yield traveller


def arrive(n: int, yard: str = "1119-export-yard"):
    notice_has_run()
    return yard_arrival_record(
        plate_read=truck_plate_read(n),
        yard=Yard.objects.get(code=yard),
        occurred_at=timezone.now() - timedelta(minutes=30 - n),
        source="camera-1",
        actor=CAMERA,
    )


def load(client=None) -> dict[tuple[str, str], dict]:
    response = (client or APIClient()).get("/api/v1/gates/load/")
    assert response.status_code == 200, response.content
    return {(row["route"], row["direction"]): row for row in response.json()}


def test_load_is_public_with_a_row_per_smart_route_and_direction(reference, at_ten):
    response = APIClient().get("/api/v1/gates/load/")

    assert response.status_code == 200
    rows = response.json()
    assert [(row["route"], row["direction"]) for row in rows] == [
        ("1088/2-1089", "export"),
        ("1088/2-1089", "import"),
        ("1119-1120", "export"),
        ("1119-1120", "import"),
    ]
    assert all(set(row) == FIELDS for row in rows)
    assert all((row["waiting"], row["called"], row["in_lane"], row["crossed_today"]) == (0, 0, 0, 0) for row in rows)
    assert all(row["estimated_wait_minutes"] == 0 for row in rows)


def test_load_counts_vehicles_in_each_stage_and_today_crossings(reference, day, at_ten):
    ids = [DeclarationFactory(n=n).id for n in range(10)]
    imported = DeclarationFactory(n=10, direction="import").id
    not_arrived = DeclarationFactory(n=11).id
    for n in range(10):
        arrive(n)
    arrive(10, yard="1119-import-yard")
    Lane.objects.exclude(code__in=["1119-EX1", "1119-EX2"]).update(is_open=False)
    called = [declaration.id for declaration in dispatch_run()]
    assert len(called) == 7  # EX1 takes 4, EX2 3
    Declaration.objects.filter(id=called[0]).update(stage="in_lane", in_lane_at=timezone.now())
    Declaration.objects.filter(id__in=called[1:3]).update(stage="crossed", crossed_at=local(day, 0, 1))
    Declaration.objects.filter(id=called[3]).update(stage="crossed", crossed_at=local(day, 0, 0) - timedelta(minutes=1))
    Lane.objects.update(is_open=True)

    rows = load()

    assert {
        key: (row["waiting"], row["called"], row["in_lane"], row["crossed_today"]) for key, row in rows.items()
    } == {
        ("1119-1120", "export"): (3, 3, 1, 2),  # the crossing before local midnight was yesterday's
        ("1119-1120", "import"): (1, 0, 0, 0),
        ("1088/2-1089", "export"): (0, 0, 0, 0),
        ("1088/2-1089", "import"): (0, 0, 0, 0),
    }
    assert Declaration.objects.get(id=not_arrived).stage == "expected"
    assert Declaration.objects.get(id=imported).stage == "in_yard"
    assert len(ids) == 10


def test_load_gives_the_calls_per_hour_of_the_open_lanes_and_the_wait(reference, at_ten):
    Lane.objects.filter(code="1119-AV1").update(is_open=False)
    for n in range(5):
        DeclarationFactory(n=n)
        arrive(n)

    rows = load()

    # 1119 export: EX1 30 + EX2 20 + REV1 25 (the autonomous lane is closed).
    assert (
        rows[("1119-1120", "export")]["calls_per_hour"],
        rows[("1119-1120", "export")]["estimated_wait_minutes"],
    ) == (75, 4)  # 5 waiting at 75 an hour
    # 1119 import: IM1 30 + IM2 20; the empty-return lane takes no loaded trucks.
    assert rows[("1119-1120", "import")]["calls_per_hour"] == 50
    assert rows[("1088/2-1089", "export")]["calls_per_hour"] == 25
    assert rows[("1088/2-1089", "import")]["calls_per_hour"] == 45  # IM1 25 + REV1 (now import) 20

    lane_set_open(lane_id=Lane.objects.get(code="1119-EX1").id, is_open=False, actor=OPERATOR, reason="Fault")
    cache.clear()

    export = load()[("1119-1120", "export")]
    assert (export["calls_per_hour"], export["estimated_wait_minutes"]) == (45, 7)  # 5 at 45 an hour: 6.7 min


def test_a_switched_reversible_lane_counts_for_its_new_direction(reference, at_ten):
    from clearance.services.lanes import lane_switch_direction

    lane_switch_direction(
        lane_id=Lane.objects.get(code="1119-REV1").id, direction="import", actor=OPERATOR, reason="Import peak"
    )

    rows = load()

    # The autonomous lane serves only autonomous vehicles, so it is not in the pace of the queue.
    assert rows[("1119-1120", "export")]["calls_per_hour"] == 30 + 20
    assert rows[("1119-1120", "import")]["calls_per_hour"] == 30 + 20 + 25


def test_lanes_outside_their_hours_do_not_count_at_night(reference, day):
    with time_machine.travel(local(day, 23, 0), tick=False):
        rows = load()

    # At 23:00 the day lanes (07:00–22:00) call nobody: 1119 export has EX1 and EX2.
    assert rows[("1119-1120", "export")]["calls_per_hour"] == 30 + 20
    # Every lane of 1088/2–1089 is a day lane: nothing is called until morning, so no wait can be promised.
    assert rows[("1088/2-1089", "export")]["calls_per_hour"] == 0
    assert rows[("1088/2-1089", "export")]["estimated_wait_minutes"] is None


def test_load_answers_in_a_bounded_number_of_queries(reference, django_assert_max_num_queries, at_ten):
    DeclarationFactory(n=0)
    arrive(0)
    with CaptureQueriesContext(connection) as captured:
        load()
    few = len(captured.captured_queries)  # read now: every request resets the connection's query log
    for n in range(1, 21):
        DeclarationFactory(n=n, direction="import" if n % 2 else "export")
        arrive(n, yard="1119-import-yard" if n % 2 else "1119-export-yard")
    cache.clear()

    with django_assert_max_num_queries(few):
        rows = load()

    assert few <= 4
    assert len(rows) == 4


def test_load_is_cached_for_a_few_seconds(reference, django_assert_num_queries, at_ten):
    assert django_settings.SMARTGATE_LOAD_CACHE_SECONDS >= 1
    first = load()
    assert first[("1119-1120", "export")]["calls_per_hour"] == 75
    lane_set_open(lane_id=Lane.objects.get(code="1119-EX1").id, is_open=False, actor=OPERATOR, reason="Fault")

    with django_assert_num_queries(0):
        again = load()

    assert again == first  # within the cache seconds: the same answer, without the database
    if "LocMemCache" in django_settings.CACHES["default"]["BACKEND"]:
        at_ten.shift(timedelta(seconds=django_settings.SMARTGATE_LOAD_CACHE_SECONDS + 1))
        assert load()[("1119-1120", "export")]["calls_per_hour"] == 75 - 30
