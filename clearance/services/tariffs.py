"""The infrastructure-use fee a crossing owes under the tariff in force (Resolution 09/2025/NQ-HĐND).

Computation and the fee row only; the lifecycle issues the fee with the clearance and records it in the
audit trail (clearance.services.lifecycle), and clearance.services.fees takes payments.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from clearance.engines import reference
from clearance.errors import DomainError
from clearance.models import Declaration, Fee, Tariff, TariffCoefficient, TariffRate
from vehicles.compiled import CompiledQuery, lines_prefetch
from vehicles.models import Direction, Yard, local_date

logger = logging.getLogger(__name__)


class TariffMissing(DomainError):
    status = 409
    code = "no_tariff"
    title = "No tariff in force"


def tariff_in_force(on: date) -> Tariff:
    """The tariff in force on ``on``, with its rates and coefficients (from a check's cached reference
    data, clearance.engines.reference, when a clearance issues the fee; read afresh otherwise)."""
    tariff = next(
        (t for t in reference.tariffs() if t.valid_from <= on and (t.valid_to is None or t.valid_to >= on)), None
    )
    if tariff is None:
        raise TariffMissing(f"No infrastructure-use tariff is in force on {on}.")
    return tariff


# What a fee is computed from: read after every declaration's last check, so compiled once (vehicles.compiled).
_FEE_OF = CompiledQuery(lambda declaration_id: Fee.objects.filter(declaration_id=declaration_id), declaration_id=int)


def _lines(declaration: Declaration, name: str) -> list:
    """``declaration.<name>.all()``: what a prefetch (or the check's load) holds, else read by a compiled
    query and held as a prefetch (vehicles.compiled.lines_prefetch)."""
    if name not in declaration.__dict__.get("_prefetched_objects_cache", {}):
        lines_prefetch(declaration, name)
    return list(getattr(declaration, name).all())


def journey_of(declaration: Declaration) -> str:
    """The journey the fee coefficient depends on: an empty truck returning; goods only transferred at the
    wharf (the crossing's legs hand its containers over at a wharf); else from the direction and the customs
    declaration types."""
    if declaration.is_empty_return:
        return Fee.Journey.EMPTY_RETURN
    if (
        declaration.handover_status != Declaration.HandoverStatus.NONE
        and declaration.legs.filter(transfer_point__kind=Yard.Kind.WHARF).exists()
    ):
        return Fee.Journey.WHARF_TRANSFER
    if declaration.direction == Direction.EXPORT:
        return Fee.Journey.EXPORT
    types = {line.type for line in _lines(declaration, "customs_declarations")}
    return Fee.Journey.TEMPORARY_IMPORT_REEXPORT if "G12" in types else Fee.Journey.IMPORT_INLAND


def fee_calculate(*, declaration: Declaration, tariff: Tariff, journey: str) -> tuple[int, dict]:
    """Base rate (the largest container's size, else the vehicle's weight class) × the highest goods-type
    coefficient among the goods lines × the journey coefficient, rounded to 1,000 VND."""
    rates = {(rate.basis, rate.key): rate.amount_vnd for rate in tariff.rates.all()}
    sizes = [container.size for container in _lines(declaration, "containers")]
    if sizes:
        basis = ("container", max(sizes, key=int))
    else:
        # An empty truck pays the empty-vehicle class of its weight; a loaded one without containers its
        # weight class.
        classes = TariffRate.Basis.EMPTY_VEHICLE if declaration.is_empty_return else TariffRate.Basis.WEIGHT_CLASS
        weight = declaration.declared_vehicle.max_gross_weight_kg
        bounds = sorted(int(key) for kind, key in rates if kind == classes and key != "max")
        basis = (classes.value, next((str(bound) for bound in bounds if weight < bound), "max"))
    base = rates[basis]
    coefficients = list(tariff.coefficients.all())
    # A goods type's coefficient may be for one direction only (ore is charged five times on export).
    goods = [
        c for c in coefficients if c.kind == TariffCoefficient.Kind.GOODS and c.direction in ("", declaration.direction)
    ]
    general = next((c for c in goods if not c.hs_chapters), None)
    applicable = []
    for line in _lines(declaration, "goods"):
        chapter = int(line.hs_code[:2])
        match = next((c for c in goods if chapter in c.hs_chapters), general)
        if match is not None:
            applicable.append(match)
    goods_coefficient = max(applicable, key=lambda c: c.coefficient) if applicable else None
    journey_coefficient = next(c for c in coefficients if c.kind == "journey" and c.code == journey)
    amount = (
        Decimal(base) * (goods_coefficient.coefficient if goods_coefficient else 1) * journey_coefficient.coefficient
    )
    amount = int((amount / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP) * 1000)
    computed = amount
    if tariff.max_fee_vnd is not None:
        amount = min(amount, tariff.max_fee_vnd)
    breakdown = {
        "basis": basis[0],
        "class": basis[1],
        "base_vnd": base,
        "goods_type": goods_coefficient.code if goods_coefficient else None,
        "goods_coefficient": str(goods_coefficient.coefficient) if goods_coefficient else "1",
        "goods_description": goods_coefficient.description if goods_coefficient else None,
        "journey": journey,
        "journey_coefficient": str(journey_coefficient.coefficient),
        "journey_description": journey_coefficient.description,
        **({"computed_vnd": computed, "max_fee_vnd": tariff.max_fee_vnd} if amount < computed else {}),
    }
    return amount, breakdown


def fee_create(*, declaration: Declaration, journey: str | None = None, write: bool = True) -> tuple[Fee, bool]:
    """The crossing's fee under the tariff in force today, created if it does not exist yet; returns
    ``(fee, created)``. An issued fee keeps its tariff. Raises TariffMissing. Call with the declaration
    locked. ``write=False``: a new fee is returned unsaved, for the caller to write with its other rows."""
    existing = _FEE_OF.first(declaration_id=declaration.id)
    if existing is not None:
        return existing, False
    tariff = tariff_in_force(local_date(timezone.now()))
    journey = journey or journey_of(declaration)
    amount, breakdown = fee_calculate(declaration=declaration, tariff=tariff, journey=journey)
    fee = Fee(declaration=declaration, tariff=tariff, journey=journey, amount_vnd=amount, breakdown=breakdown)
    if write:
        fee.save(force_insert=True)
    return fee, True


def fee_create_with_clearance(*, declaration: Declaration) -> Fee | None:
    """The fee issued with a clearance. Without a usable tariff (none in force, or one missing a rate or
    coefficient) the clearance stands and the fee waits for an officer: a tariff slip must not stop the
    gate. Returns the new fee, unsaved (the lifecycle writes it with the clearance), or None."""
    # Every failure below is raised before anything is written, so no savepoint is needed to undo it.
    try:
        fee, created = fee_create(declaration=declaration, write=False)
    except TariffMissing:
        logger.warning("fee.no_tariff", extra={"declaration": declaration.id})
        return None
    except (KeyError, StopIteration):
        logger.exception("fee.tariff_incomplete", extra={"declaration": declaration.id})
        return None
    return fee if created else None
