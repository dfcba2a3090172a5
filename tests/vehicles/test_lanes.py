from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from vehicles.models import Lane

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = ZoneInfo("UTC")


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 22, hour, minute, tzinfo=HANOI)


def lane(**overrides) -> Lane:
    fields = {
        "code": "T-1",
        "direction": "export",
        "current_direction": "export",
        "capacity_per_hour": 20,
        "max_vehicles_in_lane": 3,
        "opens_at": time(7, 0),
        "closes_at": time(22, 0),
    }
    return Lane(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("at", "within"),
    [(local(6, 59), False), (local(7, 0), True), (local(12), True), (local(21, 59), True), (local(22, 0), False)],
)
def test_day_lane_hours(at, within):
    assert lane().is_within_hours(at) is within


@pytest.mark.parametrize(
    ("at", "within"),
    [
        (local(21, 59), False),
        (local(22, 0), True),
        (local(23, 30), True),
        (local(0, 0), True),
        (local(5, 59), True),
        (local(6, 0), False),
        (local(12), False),
    ],
)
def test_night_lane_hours_cross_midnight(at, within):
    night = lane(opens_at=time(22, 0), closes_at=time(6, 0))

    assert night.is_within_hours(at) is within


def test_hours_are_read_in_gate_local_time_whatever_the_clock_zone():
    # 00:30 UTC is 07:30 in Lạng Sơn: the day lane is open.
    assert lane().is_within_hours(datetime(2026, 11, 22, 0, 30, tzinfo=UTC)) is True
    # 15:30 UTC is 22:30 local: closed.
    assert lane().is_within_hours(datetime(2026, 11, 22, 15, 30, tzinfo=UTC)) is False


def test_lane_without_hours_runs_round_the_clock():
    always = lane(opens_at=None, closes_at=None)

    assert all(always.is_within_hours(local(hour)) for hour in range(24))


def test_closed_lane_accepts_no_traffic_even_within_hours():
    assert lane(is_open=True).accepts_traffic(local(12)) is True
    assert lane(is_open=False).accepts_traffic(local(12)) is False
    assert lane(is_open=True).accepts_traffic(local(23)) is False


def test_one_way_lane_cannot_point_the_other_way(reference):
    wrong = Lane.objects.get(code="1119-EX1")
    wrong.current_direction = "import"

    with pytest.raises(ValidationError):
        wrong.full_clean()
    with pytest.raises(IntegrityError):
        wrong.save()


def test_reversible_lane_switches_direction(reference):
    reversible = Lane.objects.get(code="1119-REV1")
    reversible.current_direction = "import"
    reversible.full_clean()
    reversible.save()

    assert Lane.objects.get(code="1119-REV1").current_direction == "import"


def test_equal_opening_and_closing_is_refused():
    with pytest.raises(ValidationError, match="leave both empty"):
        lane(opens_at=time(8, 0), closes_at=time(8, 0)).clean()
