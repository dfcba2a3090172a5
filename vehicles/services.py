"""State changes of the physical world. Each function is one domain action in one transaction."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction

from vehicles.models import Driver, Lane, Movement, Trailer, Vehicle, Yard
from vehicles.plates import Plate, normalize_plate


@transaction.atomic
def movement_record(
    *,
    plate_read: str,
    kind: str,
    occurred_at: datetime,
    source: str,
    yard: Yard | None = None,
    lane: Lane | None = None,
    gross_weight_kg: int | None = None,
) -> Movement:
    """Record a vehicle seen somewhere. Movements are append-only facts, kept even when no
    declaration matches the plate, so nothing a device reports is dropped."""
    movement = Movement(
        plate_read=plate_read,
        normalized_plate=normalize_plate(plate_read),
        kind=kind,
        occurred_at=occurred_at,
        source=source,
        yard=yard,
        lane=lane,
        gross_weight_kg=gross_weight_kg,
    )
    movement.full_clean()
    movement.save()
    return movement


def vehicle_register(
    *,
    plate: Plate,
    max_gross_weight_kg: int,
    permit_number: str = "",
    permit_expires: date | None = None,
    vehicle_class: str | None = None,
    is_autonomous: bool | None = None,
) -> Vehicle:
    """Find the vehicle by country and normalized plate, locked, and bring its registration up to date;
    create it when new. The lock serializes two declarations of one vehicle."""
    # get_or_create settles a race between two first registrations; the row lock then serializes writers.
    vehicle, _created = Vehicle.objects.get_or_create(
        country=plate.country,
        normalized_plate=plate.normalized,
        defaults={"plate": plate.display, "max_gross_weight_kg": max_gross_weight_kg},
    )
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    vehicle.plate = plate.display
    vehicle.max_gross_weight_kg = max_gross_weight_kg
    vehicle.permit_number = permit_number
    vehicle.permit_expires = permit_expires
    if vehicle_class is not None:
        vehicle.vehicle_class = vehicle_class
    if is_autonomous is not None:
        vehicle.is_autonomous = is_autonomous
    vehicle.save()
    return vehicle


def trailer_register(*, plate: Plate) -> Trailer:
    trailer, _created = Trailer.objects.get_or_create(
        country=plate.country,
        normalized_plate=plate.normalized,
        defaults={"plate": plate.display},
    )
    return trailer


def driver_register(
    *,
    full_name: str,
    nationality: str,
    document_type: str,
    document_number: str,
    document_expires: date,
    document_country: str | None = None,
) -> Driver:
    """Find the driver by identity document and keep the name and expiry as last declared."""
    driver, _created = Driver.objects.update_or_create(
        document_country=document_country or nationality,
        document_type=document_type,
        document_number=document_number,
        defaults={"full_name": full_name, "nationality": nationality, "document_expires": document_expires},
    )
    return driver
