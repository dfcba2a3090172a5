"""Identifiers of the legal world, validated with the libraries that keep their rules.

Each validator returns the cleaned value or raises ValidationError with a stable ``code`` and a message
saying what is accepted. Check digits come from python-stdnum; country and currency codes from pycountry.
"""

from __future__ import annotations

import re

import pycountry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import iso6346
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

from vehicles.models import Direction

# VNACCS declaration types used at this gate (DOMAIN.md).
CUSTOMS_DECLARATION_TYPES = {
    "B11": "Export for trade",
    "A11": "Import for domestic consumption",
    "A12": "Import for trade",
    "G12": "Temporary import",
    "G22": "Temporary export",
    "C11": "Goods into a bonded area",
    "C21": "Goods out of a bonded area",
}
# The direction each type declares (DOMAIN.md): import types A…, C11, G11–G14; export types B…, C21, G21–G24.
CUSTOMS_DECLARATION_DIRECTIONS = {
    "B11": Direction.EXPORT,
    "A11": Direction.IMPORT,
    "A12": Direction.IMPORT,
    "G12": Direction.IMPORT,
    "G22": Direction.EXPORT,
    "C11": Direction.IMPORT,
    "C21": Direction.EXPORT,
}
CONTAINER_SIZES = ("20", "40", "45")
# HS chapters 01–97; chapter 77 is reserved for future use and holds no goods.
HS_CHAPTERS = {f"{chapter:02d}" for chapter in range(1, 98)} - {"77"}

_DIGITS = re.compile(r"[0-9]+")


_CONTAINER_SHAPE = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")


def container_number(value: str) -> str:
    compact = iso6346.compact(value or "")
    try:
        if not _CONTAINER_SHAPE.fullmatch(compact):  # stdnum's owner code would also take digits
            raise StdnumError()
        return iso6346.validate(compact)
    except InvalidChecksum:
        raise ValidationError(
            _("%(value)s has a wrong check digit (ISO 6346); check the last digit of the container number.")
            % {"value": value},
            code="invalid_check_digit",
        ) from None
    except StdnumError:
        raise ValidationError(
            _(
                "%(value)r is not an ISO 6346 container number: 3-letter owner code, category U, J or Z, "
                "6 digits and a check digit, e.g. CSQU3054383."
            )
            % {"value": value},
            code="invalid_container_number",
        ) from None


def customs_declaration_number(value: str) -> str:
    if not (len(value) == 12 and _DIGITS.fullmatch(value)):
        raise ValidationError(
            _("%(value)r is not a VNACCS declaration number: exactly 12 digits, e.g. 305123456789.") % {"value": value},
            code="invalid_declaration_number",
        )
    return value


def customs_declaration_type(value: str) -> str:
    if value not in CUSTOMS_DECLARATION_TYPES:
        raise ValidationError(
            _("%(value)r is not a declaration type used at this gate; accepted: %(types)s.")
            % {"value": value, "types": ", ".join(CUSTOMS_DECLARATION_TYPES)},
            code="unknown_declaration_type",
        )
    return value


def hs_code(value: str) -> str:
    """A goods line's HS code: the 8 digits of Vietnam's tariff (the ASEAN nomenclature)."""
    if not (len(value) == 8 and _DIGITS.fullmatch(value)):
        raise ValidationError(
            _("%(value)r is not an HS code of Vietnam's tariff: 8 digits (the ASEAN nomenclature), e.g. 08106000.")
            % {"value": value},
            code="invalid_hs_code",
        )
    if value[:2] not in HS_CHAPTERS:
        raise ValidationError(
            _("HS chapter %(chapter)s does not exist; chapters are 01–97 except 77.") % {"chapter": value[:2]},
            code="unknown_hs_chapter",
        )
    return value


def country_code(value: str) -> str:
    if not (len(value) == 2 and pycountry.countries.get(alpha_2=value.upper())):
        raise ValidationError(
            _("%(value)r is not an ISO 3166-1 alpha-2 country code, e.g. VN or CN.") % {"value": value},
            code="invalid_country",
        )
    return value.upper()


def currency_code(value: str) -> str:
    if not (len(value) == 3 and pycountry.currencies.get(alpha_3=value.upper())):
        raise ValidationError(
            _("%(value)r is not an ISO 4217 currency code, e.g. USD, VND or CNY.") % {"value": value},
            code="invalid_currency",
        )
    return value.upper()


def tax_code(value: str, *, country: str) -> str:
    """A Vietnamese MST (10 digits, or 10-3 for a branch) or a Chinese unified social credit code."""
    try:
        if country == "VN":
            return mst.format(mst.validate(value))
        if country == "CN":
            return uscc.validate(value)
    except StdnumError:
        pass
    accepted = {
        "VN": _("a Vietnamese tax code (MST): 10 digits, or 10-3 for a branch, e.g. 0101234565 or 0101234565-001"),
        "CN": _("a Chinese unified social credit code: 18 characters, e.g. 91110000600037341L"),
    }.get(country, _("a tax code of a company of VN or CN"))
    raise ValidationError(
        _("%(value)r is not %(accepted)s.") % {"value": value, "accepted": accepted}, code="invalid_tax_code"
    )
