"""Sample values of Lạng Sơn's infrastructure-use fee (Resolution 09/2025/NQ-HĐND, in force 8 May 2025).

They reproduce the published examples (DOMAIN.md) and are loaded once by ``manage.py load_tariff``;
the board edits the real schedule in the admin, and a fee keeps the tariff it was issued under.
"""

from datetime import date
from decimal import Decimal

TARIFF = {"code": "nq-09-2025", "name": "Nghị quyết 09/2025/NQ-HĐND (sample values)", "valid_from": date(2025, 5, 8)}

# Base rate per trip: by the vehicle's maximum gross weight (upper bound in kg) or by container size.
RATES = [
    ("weight_class", "2000", 100_000),
    ("weight_class", "5000", 200_000),
    ("weight_class", "10000", 500_000),
    ("weight_class", "18000", 800_000),
    ("weight_class", "max", 1_000_000),
    ("container", "20", 2_000_000),
    ("container", "40", 4_000_000),
    ("container", "45", 5_000_000),
]

# (kind, code, description, HS chapters, coefficient)
COEFFICIENTS = [
    ("goods", "agricultural", "Agricultural, forestry and fishery goods, food", list(range(1, 25)), Decimal("1.00")),
    ("goods", "ore", "Ores and minerals", [25, 26], Decimal("5.00")),
    ("goods", "general", "Other goods", [], Decimal("1.00")),
    ("journey", "export", "Export", [], Decimal("1.00")),
    ("journey", "temporary_import_reexport", "Temporary import for re-export", [], Decimal("1.00")),
    ("journey", "import_inland", "Imported goods delivered inland", [], Decimal("1.30")),
    ("journey", "wharf_transfer", "Goods only transferred at the wharf, not carried inland", [], Decimal("0.30")),
]
