"""Number plates of Vietnam and China: validation, the normalized form used for matching, display.

A camera reads ``12C12345``, a forwarder types ``12C-123.45``, an officer ``12c 123.45``: all three are
one plate. The normalized form (upper case, no separators) is what is stored, indexed and compared;
the display form is the canonical written one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Separators people and cameras put inside plates: hyphen, dot, space, the Chinese middle dot.
_SEPARATORS = re.compile(r"[\s\-.·•]+")

# Province abbreviations on Chinese plates (31 mainland provincial-level divisions).
CN_PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"

# Vietnam: 2-digit province code, a series letter with an optional letter or digit, then 4–5 digits.
# The optional second series character is lazy: 12C12345 reads as series C and number 123.45.
_VN_PLATE = re.compile(r"^(?P<province>[1-9][0-9])(?P<series>[A-Z][A-Z0-9]??)(?P<number>[0-9]{4,5})$")
# China: province character, issuing-office letter, 5 letters/digits (6 for new-energy plates);
# trailer plates: province, letter, 4 letters/digits and 挂.
_CN_PLATE = re.compile(rf"^(?P<province>[{CN_PROVINCES}])(?P<office>[A-Z])(?P<number>[A-Z0-9]{{5,6}})$")
_CN_TRAILER = re.compile(rf"^(?P<province>[{CN_PROVINCES}])(?P<office>[A-Z])(?P<number>[A-Z0-9]{{4}})挂$")

ACCEPTED_FORMS = {
    ("VN", False): "a Vietnamese plate: 2-digit province code, series letter(s), 4–5 digits, "
    "e.g. 12C-123.45, 12C-1234 or 12C12345",
    ("VN", True): "a Vietnamese trailer plate: 2-digit province code, series R, 4–5 digits, e.g. 12R-012.34",
    ("CN", False): "a Chinese plate: province character, a letter, 5 letters/digits, e.g. 桂A12345 or 桂A·12345",
    ("CN", True): "a Chinese trailer plate: province character, a letter, 4 letters/digits and 挂, e.g. 桂A1234挂",
}


class Country:
    VN = "VN"
    CN = "CN"
    CHOICES = [(VN, _("Vietnam")), (CN, _("China"))]


@dataclass(frozen=True)
class Plate:
    country: str
    normalized: str
    display: str


class InvalidPlate(ValidationError):
    """A plate that is not of an accepted form; ``code`` is stable and machine-readable."""


def normalize_plate(text: str) -> str:
    """The matching form of any written or camera-read plate: compatibility forms folded (fullwidth
    １２Ｃ reads as 12C), separators removed, upper case. A letter whose capital is longer (ß → SS) is
    kept as it is, so a plate never grows and a foreign letter never passes for a plate letter."""
    folded = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    return "".join(char.upper() if len(char.upper()) == 1 else char for char in folded)


def parse_plate(text: str, *, country: str, trailer: bool = False) -> Plate:
    """Validate a plate of ``country`` and return its normalized and display forms.

    Raises InvalidPlate (code ``invalid_plate``, or ``unsupported_country``) with a message that says
    which forms are accepted.
    """
    if country not in (Country.VN, Country.CN):
        raise InvalidPlate(
            _("Plates are accepted for countries VN and CN, not %(country)s.") % {"country": country},
            code="unsupported_country",
        )
    normalized = normalize_plate(text)
    pattern = {
        (Country.VN, False): _VN_PLATE,
        (Country.VN, True): _VN_PLATE,
        (Country.CN, False): _CN_PLATE,
        (Country.CN, True): _CN_TRAILER,
    }[(country, trailer)]
    match = pattern.fullmatch(normalized)
    if match and country == Country.VN and trailer and not match["series"].startswith("R"):
        match = None
    if not match or len(text) > 20:
        raise InvalidPlate(
            _("%(text)r is not a valid plate; expected %(forms)s.")
            % {"text": text, "forms": ACCEPTED_FORMS[(country, trailer)]},
            code="invalid_plate",
        )
    return Plate(country=country, normalized=normalized, display=_display(country, match))


def _display(country: str, match: re.Match) -> str:
    if country == Country.CN:
        return match.group(0)
    number = match["number"]
    if len(number) == 5:
        number = f"{number[:3]}.{number[3:]}"
    return f"{match['province']}{match['series']}-{number}"
