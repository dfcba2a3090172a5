"""Sample values of Lạng Sơn's infrastructure-use fee (Resolution 09/2025/NQ-HĐND, in force 8 May 2025).

They reproduce the published examples (DOMAIN.md) and are loaded once by ``manage.py load_tariff``;
the board edits the real schedule in the admin, and a fee keeps the tariff it was issued under.
"""

from datetime import date
from decimal import Decimal

from clearance.models import Fee, TariffCoefficient, TariffRate
from vehicles.models import Direction

TARIFF = {
    "code": "nq-09-2025",
    "name": "Nghị quyết 09/2025/NQ-HĐND (sample values)",
    "valid_from": date(2025, 5, 8),
    # "The highest rates reach about 5,000,000 VND a trip" (DOMAIN.md): no computed fee goes above it.
    "max_fee_vnd": 5_000_000,
}
# Goods-type coefficients charged in one direction only: ore five times on export, not on import.
COEFFICIENT_DIRECTIONS = {"ore": Direction.EXPORT}

# Base rate per trip: by the vehicle's maximum gross weight (upper bound in kg) or by container size.
RATES = [
    (TariffRate.Basis.WEIGHT_CLASS, "2000", 100_000),
    (TariffRate.Basis.WEIGHT_CLASS, "5000", 200_000),
    (TariffRate.Basis.WEIGHT_CLASS, "10000", 500_000),
    (TariffRate.Basis.WEIGHT_CLASS, "18000", 800_000),
    (TariffRate.Basis.WEIGHT_CLASS, "max", 1_000_000),
    (TariffRate.Basis.CONTAINER, "20", 2_000_000),
    (TariffRate.Basis.CONTAINER, "40", 4_000_000),
    (TariffRate.Basis.CONTAINER, "45", 5_000_000),
    # An empty truck returning (sample values: the resolution's schedule has an empty-vehicle class).
    (TariffRate.Basis.EMPTY_VEHICLE, "10000", 50_000),
    (TariffRate.Basis.EMPTY_VEHICLE, "max", 100_000),
]

# (kind, code, description, HS chapters, coefficient). One row a line, however long. Goods only transferred
# at the wharf are a crossing whose legs hand the containers over at a wharf (clearance.services.tariffs).
# fmt: off
COEFFICIENTS = [
    (TariffCoefficient.Kind.GOODS, "agricultural", "Agricultural, forestry and fishery goods, food", list(range(1, 25)), Decimal("1.00")),
    (TariffCoefficient.Kind.GOODS, "ore", "Ores and minerals", [25, 26], Decimal("5.00")),
    (TariffCoefficient.Kind.GOODS, "general", "Other goods", [], Decimal("1.00")),
    (TariffCoefficient.Kind.JOURNEY, Fee.Journey.EXPORT, "Export", [], Decimal("1.00")),
    (TariffCoefficient.Kind.JOURNEY, Fee.Journey.TEMPORARY_IMPORT_REEXPORT, "Temporary import for re-export", [], Decimal("1.00")),
    (TariffCoefficient.Kind.JOURNEY, Fee.Journey.IMPORT_INLAND, "Imported goods delivered inland", [], Decimal("1.30")),
    (TariffCoefficient.Kind.JOURNEY, Fee.Journey.EMPTY_RETURN, "Empty vehicle returning", [], Decimal("1.00")),
    (TariffCoefficient.Kind.JOURNEY, Fee.Journey.WHARF_TRANSFER, "Goods only transferred at the wharf, not carried inland", [], Decimal("0.30")),
]
# fmt: on
