import pytest
from hypothesis import given
from hypothesis import strategies as st

from vehicles.plates import InvalidPlate, normalize_plate, parse_plate


@pytest.mark.parametrize("written", ["12C-123.45", "12c12345", "12C-12345", "12C 123.45", " 12c-123.45 "])
def test_vietnamese_plate_written_any_way_is_one_plate(written):
    plate = parse_plate(written, country="VN")

    assert plate.normalized == "12C12345"
    assert plate.display == "12C-123.45"


@pytest.mark.parametrize(
    ("written", "normalized", "display"),
    [
        ("12C-1234", "12C1234", "12C-1234"),
        ("29LD-123.45", "29LD12345", "29LD-123.45"),
        ("51C1-2345", "51C12345", "51C-123.45"),  # an optional series digit reads as part of the number
    ],
)
def test_vietnamese_plate_forms(written, normalized, display):
    plate = parse_plate(written, country="VN")

    assert (plate.normalized, plate.display) == (normalized, display)


@pytest.mark.parametrize(
    "written",
    ["", "12-12345", "C12345", "1C-12345", "12C-123", "12C-1234567", "12C-12A45", "02C-12345", "12C_12345", "桂A12345"],
)
def test_malformed_vietnamese_plate_is_rejected_with_accepted_forms(written):
    with pytest.raises(InvalidPlate) as error:
        parse_plate(written, country="VN")

    assert error.value.code == "invalid_plate"
    assert "12C-123.45" in error.value.messages[0]


@pytest.mark.parametrize("written", ["桂A12345", "桂A·12345", "桂a 12345", "粤BD12345"])
def test_chinese_plate_forms(written):
    plate = parse_plate(written, country="CN")

    assert plate.normalized == normalize_plate(written)
    assert plate.normalized.startswith(("桂A", "粤B"))


@pytest.mark.parametrize("written", ["A12345", "桂12345", "桂A1234", "桂A1234567", "X A12345", "12C-123.45"])
def test_malformed_chinese_plate_is_rejected_with_accepted_forms(written):
    with pytest.raises(InvalidPlate) as error:
        parse_plate(written, country="CN")

    assert "桂A12345" in error.value.messages[0]


def test_trailer_plates_follow_their_own_forms():
    assert parse_plate("12R-012.34", country="VN", trailer=True).normalized == "12R01234"
    assert parse_plate("桂A1234挂", country="CN", trailer=True).normalized == "桂A1234挂"
    with pytest.raises(InvalidPlate, match="series R"):
        parse_plate("12C-123.45", country="VN", trailer=True)
    with pytest.raises(InvalidPlate, match="挂"):
        parse_plate("桂A12345", country="CN", trailer=True)


def test_plate_of_another_country_is_refused():
    with pytest.raises(InvalidPlate) as error:
        parse_plate("ABC123", country="LA")

    assert error.value.code == "unsupported_country"


@given(st.from_regex(r"[1-9][0-9][A-Z][0-9]{5}", fullmatch=True), st.sampled_from(["{p}{s}-{a}.{b}", "{p}{s}{a}{b}"]))
def test_display_form_parses_back_to_the_same_plate(text, layout):
    written = layout.format(p=text[:2], s=text[2], a=text[3:6], b=text[6:])
    plate = parse_plate(written, country="VN")

    assert parse_plate(plate.display, country="VN") == plate
