"""State changes of the physical world. Each function is one domain action in one transaction."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from vehicles.models import Lane, Movement, Yard
from vehicles.plates import normalize_plate


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
