"""Border guard: may this driver and this vehicle cross? pass / flag for a manual check / deny."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery

from clearance.engines import Reason, Verdict, reference
from clearance.models import ACTIVE_DECLARATION, Check, Declaration, WatchlistEntry
from vehicles.models import DriverName, local_date


def border_guard_prepare(declarations: QuerySet[Declaration]) -> QuerySet[Declaration]:
    """Load with the declaration the id of another active crossing of its vehicle, if any."""
    others = (
        Declaration.objects.filter(ACTIVE_DECLARATION, vehicle_id=OuterRef("vehicle_id"))
        .exclude(id=OuterRef("id"))
        .order_by()
        .values("id")[:1]
    )
    return declarations.annotate(other_active_crossing=Subquery(others))


def border_guard_assess(declaration: Declaration) -> Verdict:
    arrival_day = local_date(declaration.expected_arrival)
    margin = timedelta(days=settings.SMARTGATE_DOCUMENT_MARGIN_DAYS)
    # What this crossing declared, not what the shared registry holds now (another company may have
    # declared the same plate or document since).
    driver, vehicle, trailer = declaration.declared_driver, declaration.declared_vehicle, declaration.declared_trailer
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

    watchlist = reference.watchlist()
    for entry in _watchlisted_people(declaration, driver, watchlist.people_in_force()):
        (denies if entry.action == WatchlistEntry.Action.DENY else flags).append(
            Reason(
                "driver_watchlisted", f"Driver {driver.full_name} matches watchlist entry {entry.pk}: {entry.reason}"
            )
        )

    plates = [vehicle.normalized_plate] + ([trailer.normalized_plate] if trailer else [])
    for entry in watchlist.vehicles_in_force(plates):
        (denies if entry.action == WatchlistEntry.Action.DENY else flags).append(
            Reason("vehicle_watchlisted", f"Plate {entry.plate} is on the watchlist (entry {entry.pk}): {entry.reason}")
        )

    if not vehicle.permit_number or vehicle.permit_expires is None:
        flags.append(Reason("permit_missing", "No cross-border permit is recorded for the vehicle."))
    elif vehicle.permit_expires < arrival_day:
        denies.append(Reason("permit_expired", f"The cross-border permit expired on {vehicle.permit_expires}."))

    other = _other_active_crossing(declaration)
    if other is not None:
        # Another company's crossing is not named to this one's forwarder.
        named = other.reference if other.company_id == declaration.company_id else "declared by another company"
        denies.append(Reason("vehicle_has_active_crossing", f"The vehicle is on another active crossing, {named}."))

    if denies:
        return Verdict(Check.Outcome.DENY, denies + flags)
    if flags:
        return Verdict(Check.Outcome.FLAG, flags)
    return Verdict(Check.Outcome.PASS, [Reason("clear", "Documents valid, no watchlist match, permit valid.")])


def _other_active_crossing(declaration: Declaration) -> Declaration | None:
    loaded = hasattr(declaration, "other_active_crossing")  # by border_guard_prepare
    if loaded and declaration.other_active_crossing is None:
        return None  # the usual answer, known without building a query
    others = Declaration.objects.filter(ACTIVE_DECLARATION, vehicle_id=declaration.vehicle_id).exclude(
        id=declaration.id
    )
    if loaded:
        others = others.filter(id=declaration.other_active_crossing)
    return others.only("reference", "company_id").first()


def _order_free(name_key: str) -> str:
    """A folded name whatever the order of its parts ("Nguyen Van An" = "Van An Nguyen")."""
    return " ".join(sorted(name_key.split()))


def _watchlisted_people(declaration: Declaration, driver, entries: list[WatchlistEntry]) -> list[WatchlistEntry]:
    """Entries matching the document number, or any name the document has been declared with (by anyone,
    ever), folded: without diacritics or case, in any order."""

    def by_document(entry: WatchlistEntry) -> bool:
        return bool(entry.document_number) and entry.document_number == driver.document_number

    keys: set[str] = set()
    if any(entry.name_key and not by_document(entry) for entry in entries):
        # The names the document was declared with are read only when the watchlist names someone.
        names = set(DriverName.objects.filter(driver_id=declaration.driver_id).values_list("name_key", flat=True))
        keys = {_order_free(key) for key in names | {driver.name_key} if key}
    return [
        entry for entry in entries if by_document(entry) or (entry.name_key and _order_free(entry.name_key) in keys)
    ]
