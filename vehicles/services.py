"""State changes of the physical world. Each function is one domain action in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vehicles.models import Driver, DriverName, Lane, Movement, RegistryFact, Trailer, Vehicle, Yard
from vehicles.names import fold_name
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
    write: bool = True,
) -> Movement:
    """Record a vehicle seen somewhere. Movements are append-only facts, kept even when no
    declaration matches the plate, so nothing a device reports is dropped. ``write=False``: checked and
    returned unsaved, for the caller to write in its transaction with the change the movement makes."""
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
    if write:
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


# --- Many declarations at once ---------------------------------------------------------------------

_VEHICLE_DECLARED = ("plate", "max_gross_weight_kg", "permit_number", "permit_expires")
_VEHICLE_KEPT_UNLESS_GIVEN = ("vehicle_class", "is_autonomous")
_DRIVER_DECLARED = ("full_name", "nationality", "document_expires")


@dataclass
class Registrations:
    """What ``parties_register_many`` found and wrote: per declaration, its vehicle, trailer (or None) and
    driver as they stood after its own registration (unsaved copies carrying the registry row's id, for
    the declaration's own snapshot), and the rows still to insert in the caller's statement: the facts of
    what changed, and the names the documents were declared with."""

    vehicles: list[Vehicle]
    trailers: list[Trailer | None]
    drivers: list[Driver]
    rows_to_insert: list[tuple[list, bool]] = field(default_factory=list)


def _vehicle_key(values: dict) -> tuple[str, str]:
    return values["plate"].country, values["plate"].normalized


def _driver_key(values: dict) -> tuple[str, str, str]:
    return values.get("document_country") or values["nationality"], values["document_type"], values["document_number"]


def parties_register_many(
    *, vehicles: list[dict], trailers: list[dict | None], drivers: list[dict], sources: list[str]
) -> Registrations:
    """Bring the registry up to what many declarations declare, in a constant number of queries: the
    known rows read locked (vehicles, drivers), then one upsert per table. Declarations are taken in
    order, as if one after the other: each change is a fact naming its source (a row first registered
    here has none: there was nothing before it), the last declared values stay, and every name a document
    was declared with is kept (the watchlist matches them all). Call inside a transaction."""
    found_vehicles = {
        (row.country, row.normalized_plate): row
        for row in Vehicle.objects.select_for_update().filter(
            normalized_plate__in={values["plate"].normalized for values in vehicles}
        )
    }
    found_drivers = {
        (row.document_country, row.document_type, row.document_number): row
        for row in Driver.objects.select_for_update().filter(
            document_number__in={values["document_number"] for values in drivers}
        )
    }
    facts: list[tuple[str, tuple, dict, str]] = []
    vehicle_rows: dict[tuple, Vehicle] = {}
    declared_vehicles = []
    for values, source in zip(vehicles, sources, strict=True):
        key = _vehicle_key(values)
        row = vehicle_rows.get(key) or found_vehicles.get(key)
        given = {name: values.get(name) for name in _VEHICLE_DECLARED}
        given["plate"] = values["plate"].display
        given["permit_number"] = given["permit_number"] or ""
        given.update({name: values[name] for name in _VEHICLE_KEPT_UNLESS_GIVEN if values.get(name) is not None})
        if row is None:
            row = Vehicle(country=key[0], normalized_plate=key[1], **given)
        else:
            row = _changed_copy(row, given, facts=facts, subject=RegistryFact.Subject.VEHICLE, key=key, source=source)
        vehicle_rows[key] = row
        declared_vehicles.append(_copy(row))
    trailer_rows: dict[tuple, Trailer] = {}
    for values in trailers:
        if values is not None:
            plate = values["plate"]
            trailer_rows.setdefault(
                (plate.country, plate.normalized),
                Trailer(country=plate.country, normalized_plate=plate.normalized, plate=plate.display),
            )
    driver_rows: dict[tuple, Driver] = {}
    declared_drivers = []
    names = []
    for values, source in zip(drivers, sources, strict=True):
        key = _driver_key(values)
        row = driver_rows.get(key) or found_drivers.get(key)
        given = {name: values[name] for name in _DRIVER_DECLARED}
        if row is None:
            row = Driver(document_country=key[0], document_type=key[1], document_number=key[2], **given)
        else:
            row = _changed_copy(row, given, facts=facts, subject=RegistryFact.Subject.DRIVER, key=key, source=source)
        row.name_key = fold_name(row.full_name)[:150]
        driver_rows[key] = row
        declared_drivers.append(_copy(row))
        names.append((key, row.full_name, row.name_key))

    _upsert(
        Vehicle,
        vehicle_rows.values(),
        ["country", "normalized_plate"],
        [*_VEHICLE_DECLARED, *_VEHICLE_KEPT_UNLESS_GIVEN],
    )
    # A trailer's registration holds only its plate: the first written form stays.
    _upsert(Trailer, trailer_rows.values(), ["country", "normalized_plate"], ["country"])
    _upsert(
        Driver,
        driver_rows.values(),
        ["document_country", "document_type", "document_number"],
        [*_DRIVER_DECLARED, "name_key"],
    )

    for copy in declared_vehicles:
        copy.id = vehicle_rows[(copy.country, copy.normalized_plate)].id
    for copy in declared_drivers:
        copy.id = driver_rows[(copy.document_country, copy.document_type, copy.document_number)].id
    declared_trailers = [
        None if values is None else _copy(trailer_rows[(values["plate"].country, values["plate"].normalized)])
        for values in trailers
    ]
    rows = {RegistryFact.Subject.VEHICLE: vehicle_rows, RegistryFact.Subject.DRIVER: driver_rows}
    fact_rows = [
        RegistryFact(subject=subject, subject_id=rows[subject][key].id, changes=changes, source=source)
        for subject, key, changes, source in facts
    ]
    name_rows = [
        DriverName(driver_id=driver_rows[key].id, full_name=full_name, name_key=name_key)
        for key, full_name, name_key in dict.fromkeys(names)
    ]
    return Registrations(
        vehicles=declared_vehicles,
        trailers=declared_trailers,
        drivers=declared_drivers,
        rows_to_insert=[(fact_rows, False), (name_rows, True)],
    )


def _changed_copy(row, given: dict, *, facts: list, subject: str, key: tuple, source: str):
    """The row with ``given`` applied; what changed is noted as a fact of ``source``."""
    changes = {
        name: [_plain(getattr(row, name)), _plain(value)]
        for name, value in given.items()
        if getattr(row, name) != value
    }
    if not changes:
        return row
    facts.append((subject, key, changes, source))
    updated = _copy(row)
    updated.pk = row.pk
    for name, value in given.items():
        setattr(updated, name, value)
    return updated


def _copy(row):
    return type(row)(**{f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields})


def _upsert(model, rows, unique_fields: list[str], update_fields: list[str]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE for known and new rows alike (Django would split rows with and
    without a primary key into two statements); the ids come back from RETURNING."""
    rows = list(rows)
    for row in rows:
        row.pk = None
    if rows:
        model.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=unique_fields, update_fields=[*update_fields, "updated_at"]
        )
