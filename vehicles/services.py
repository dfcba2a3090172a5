"""State changes of the physical world. Each function is one domain action in one transaction."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vehicles.models import Driver, DriverName, Lane, Movement, RegistryFact, Trailer, Vehicle, Yard
from vehicles.plates import Plate, normalize_plate


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
    # The fields are checked here in memory; the yard and lane are rows the caller holds, and the table's
    # constraints are PostgreSQL's to enforce (checking them from Python costs a query and a savepoint
    # each on a device's hot path), except the weight's, which is answered with its message.
    if (kind == Movement.Kind.WEIGHBRIDGE) != (gross_weight_kg is not None):
        raise ValidationError(_("A weighbridge movement carries a gross weight, and only a weighbridge one does."))
    movement.full_clean(exclude={"yard", "lane"}, validate_constraints=False)
    movement.save(force_insert=True)
    return movement


def _record_changes(row, *, subject: str, fields: dict, source: str) -> None:
    """Apply ``fields`` to a registry row, keeping a fact of what changed and who said so."""
    changes = {}
    for name, value in fields.items():
        before = getattr(row, name)
        if before != value:
            changes[name] = [_plain(before), _plain(value)]
            setattr(row, name, value)
    if changes and row.pk is not None:
        RegistryFact.objects.create(subject=subject, subject_id=row.pk, changes=changes, source=source)


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def vehicle_register(
    *,
    plate: Plate,
    max_gross_weight_kg: int,
    permit_number: str = "",
    permit_expires: date | None = None,
    vehicle_class: str | None = None,
    is_autonomous: bool | None = None,
    source: str = "",
) -> Vehicle:
    """Find the vehicle by country and normalized plate, locked, and bring its registration up to date
    (each change kept as a RegistryFact with its source); create it when new. The lock serializes two
    declarations of one vehicle. Declarations keep their own copy of what they declared."""
    # get_or_create settles a race between two first registrations; the row lock then serializes writers.
    vehicle, _created = Vehicle.objects.get_or_create(
        country=plate.country,
        normalized_plate=plate.normalized,
        defaults={"plate": plate.display, "max_gross_weight_kg": max_gross_weight_kg},
    )
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    fields = {
        "plate": plate.display,
        "max_gross_weight_kg": max_gross_weight_kg,
        "permit_number": permit_number,
        "permit_expires": permit_expires,
    }
    if vehicle_class is not None:
        fields["vehicle_class"] = vehicle_class
    if is_autonomous is not None:
        fields["is_autonomous"] = is_autonomous
    _record_changes(vehicle, subject=RegistryFact.Subject.VEHICLE, fields=fields, source=source)
    vehicle.save()
    return vehicle


def trailer_register(*, plate: Plate, source: str = "") -> Trailer:
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
    source: str = "",
) -> Driver:
    """Find the driver by identity document, locked, and keep the name and expiry as last declared (each
    change kept as a RegistryFact with its source), and every name the document was declared with."""
    driver, _created = Driver.objects.get_or_create(
        document_country=document_country or nationality,
        document_type=document_type,
        document_number=document_number,
        defaults={"full_name": full_name, "nationality": nationality, "document_expires": document_expires},
    )
    driver = Driver.objects.select_for_update().get(pk=driver.pk)
    _record_changes(
        driver,
        subject=RegistryFact.Subject.DRIVER,
        fields={"full_name": full_name, "nationality": nationality, "document_expires": document_expires},
        source=source,
    )
    driver.clean()  # the matching key follows the name now declared
    driver.save()
    DriverName.objects.get_or_create(driver=driver, name_key=driver.name_key, defaults={"full_name": driver.full_name})
    return driver
