"""Border guard: may this driver and this vehicle cross? pass / flag for a manual check / deny."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from clearance.engines import Reason, Verdict
from clearance.models import ACTIVE_DECLARATION, Check, Declaration, WatchlistEntry
from vehicles.models import local_date


def border_guard_assess(declaration: Declaration) -> Verdict:
    arrival_day = local_date(declaration.expected_arrival)
    margin = timedelta(days=settings.SMARTGATE_DOCUMENT_MARGIN_DAYS)
    driver, vehicle, trailer = declaration.driver, declaration.vehicle, declaration.trailer
    denies: list[Reason] = []
    flags: list[Reason] = []

    if driver.document_expires < arrival_day:
        denies.append(
            Reason(
                "document_expired",
                f"The driver's document expires on {driver.document_expires}, before the crossing on {arrival_day}.",
            )
        )
    elif driver.document_expires < arrival_day + margin:
        flags.append(
            Reason(
                "document_expires_soon",
                f"The driver's document expires on {driver.document_expires}, "
                f"within {margin.days} days of the crossing.",
            )
        )

    people = (
        WatchlistEntry.objects.in_force()
        .filter(kind=WatchlistEntry.Kind.PERSON)
        .filter(
            Q(name_key=driver.name_key, name_key__gt="")
            | Q(document_number=driver.document_number, document_number__gt="")
        )
    )
    for entry in people:
        (denies if entry.action == WatchlistEntry.Action.DENY else flags).append(
            Reason(
                "driver_watchlisted", f"Driver {driver.full_name} matches watchlist entry {entry.pk}: {entry.reason}"
            )
        )

    plates = [vehicle.normalized_plate] + ([trailer.normalized_plate] if trailer else [])
    for entry in WatchlistEntry.objects.in_force().filter(
        kind=WatchlistEntry.Kind.VEHICLE, normalized_plate__in=plates
    ):
        (denies if entry.action == WatchlistEntry.Action.DENY else flags).append(
            Reason("vehicle_watchlisted", f"Plate {entry.plate} is on the watchlist (entry {entry.pk}): {entry.reason}")
        )

    if not vehicle.permit_number or vehicle.permit_expires is None:
        flags.append(Reason("permit_missing", "No cross-border permit is recorded for the vehicle."))
    elif vehicle.permit_expires < arrival_day:
        denies.append(Reason("permit_expired", f"The cross-border permit expired on {vehicle.permit_expires}."))

    other = Declaration.objects.filter(ACTIVE_DECLARATION, vehicle=vehicle).exclude(id=declaration.id).first()
    if other is not None:
        denies.append(Reason("vehicle_has_active_crossing", f"The vehicle is on another active crossing, {other}."))

    if denies:
        return Verdict(Check.Outcome.DENY, denies + flags)
    if flags:
        return Verdict(Check.Outcome.FLAG, flags)
    return Verdict(Check.Outcome.PASS, [Reason("clear", "Documents valid, no watchlist match, permit valid.")])
