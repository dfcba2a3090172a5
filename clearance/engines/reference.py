"""Reference data the checks and the clearance's fee read on every run, cached in each worker process.

The copy is tied to the reference data's *generation* (clearance.models.reference: the newest id of the
change log that a database trigger appends to on every write of a reference table). A check reads the
generation with its claim, at no extra query, and runs inside ``as_of(generation)``: each getter below
serves its copy if it was loaded at that generation, and loads it afresh otherwise. Outside a check run
(a web request, an officer's action, a test calling an engine directly), or when the generation is
unknown (SQLite has no trigger; an emptied log), the getters read the database every time, as before.
So an officer's change to a rule, a threshold, the watchlist or the tariff applies from the next check
that starts after it commits, in every process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from django.db.models import Prefetch
from django.utils import timezone

from clearance.models import (
    HsRiskRule,
    ReferencePrice,
    RiskSettings,
    Tariff,
    TariffCoefficient,
    TariffRate,
    WatchlistEntry,
)

T = TypeVar("T")

# The generation the running check read with its claim; None outside a check run.
_generation: ContextVar[int | None] = ContextVar("reference_generation", default=None)


@contextmanager
def as_of(generation: int | None) -> Iterator[None]:
    """Serve cached reference data loaded at ``generation`` (None: read the database every time)."""
    token = _generation.set(generation)
    try:
        yield
    finally:
        _generation.reset(token)


class Cached(Generic[T]):
    """One piece of reference data, loaded by ``load`` and kept for as long as its generation stands."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._value: T | None = None
        self._loaded_at: int | None = None

    def __call__(self) -> T:
        generation = _generation.get()
        if generation is None:
            return self._load()
        if self._loaded_at != generation:
            self._value, self._loaded_at = self._load(), generation
        return self._value


@dataclass(frozen=True)
class Watchlist:
    people: list[WatchlistEntry]
    vehicles: dict[str, list[WatchlistEntry]]

    def people_in_force(self) -> list[WatchlistEntry]:
        return [entry for entry in self.people if _in_force(entry)]

    def vehicles_in_force(self, plates: list[str]) -> list[WatchlistEntry]:
        return [entry for plate in plates for entry in self.vehicles.get(plate, []) if _in_force(entry)]


def _in_force(entry: WatchlistEntry) -> bool:
    return entry.expires_at is None or entry.expires_at > timezone.now()


def _watchlist() -> Watchlist:
    # The entries in force when loaded; each use checks their expiry again (``watchlist_in_force``), since
    # an entry ending by its date changes no row.
    entries = list(WatchlistEntry.objects.in_force())
    vehicles: dict[str, list[WatchlistEntry]] = {}
    for entry in entries:
        if entry.kind == WatchlistEntry.Kind.VEHICLE and entry.normalized_plate:
            vehicles.setdefault(entry.normalized_plate, []).append(entry)
    return Watchlist(people=[e for e in entries if e.kind == WatchlistEntry.Kind.PERSON], vehicles=vehicles)


def _prices() -> dict[tuple[str, str], Decimal]:
    return {(price.hs_heading, price.currency): price.price_per_kg for price in ReferencePrice.objects.all()}


def _tariffs() -> list[Tariff]:
    return list(
        Tariff.objects.order_by("-valid_from").prefetch_related(
            Prefetch("rates", queryset=TariffRate.objects.all()),
            Prefetch("coefficients", queryset=TariffCoefficient.objects.all()),
        )
    )


risk_settings: Cached[RiskSettings] = Cached(RiskSettings.current)
hs_risk_rules: Cached[list[HsRiskRule]] = Cached(lambda: list(HsRiskRule.objects.filter(is_active=True)))
reference_prices: Cached[dict[tuple[str, str], Decimal]] = Cached(_prices)
watchlist: Cached[Watchlist] = Cached(_watchlist)
tariffs: Cached[list[Tariff]] = Cached(_tariffs)
