from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from vehicles.models import Movement, Vehicle, Yard
from vehicles.services import movement_record

NOON = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)


def test_camera_read_matches_a_registered_plate_written_otherwise(reference):
    Vehicle.objects.create(country="VN", plate="12C-123.45", normalized_plate="12C12345", max_gross_weight_kg=40000)
    yard = Yard.objects.get(code="1119-export-yard")

    movement = movement_record(
        plate_read="12c 123.45", kind="yard_in", occurred_at=NOON, source="camera:yard-1", yard=yard
    )

    assert movement.normalized_plate == "12C12345"
    assert Vehicle.objects.with_plate(movement.plate_read).get().plate == "12C-123.45"


def test_movements_are_append_only(reference):
    yard = Yard.objects.get(code="1119-export-yard")
    movement = movement_record(plate_read="12C12345", kind="yard_in", occurred_at=NOON, source="officer:an", yard=yard)

    movement.source = "tampered"
    with pytest.raises(ValidationError):
        movement.save()
    with pytest.raises(ValidationError):
        movement.delete()
    assert Movement.objects.get().source == "officer:an"


def test_weighbridge_movement_needs_a_weight(reference):
    yard = Yard.objects.get(code="1119-export-yard")

    with pytest.raises(ValidationError):
        movement_record(plate_read="12C12345", kind="weighbridge", occurred_at=NOON, source="wb-1", yard=yard)
    weighed = movement_record(
        plate_read="12C12345",
        kind="weighbridge",
        occurred_at=NOON,
        source="wb-1",
        yard=yard,
        gross_weight_kg=31500,
    )
    assert weighed.gross_weight_kg == 31500


def test_vehicle_plate_is_unique_per_country(reference):
    vehicle = Vehicle(country="VN", plate="12c12345", max_gross_weight_kg=40000)
    vehicle.full_clean()
    vehicle.save()

    duplicate = Vehicle(country="VN", plate="12C-123.45", max_gross_weight_kg=30000)
    with pytest.raises(ValidationError):
        duplicate.full_clean()
    assert vehicle.plate == "12C-123.45"
