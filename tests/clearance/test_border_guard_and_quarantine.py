"""The border guard's and quarantine's checks: what each force answers for a declared crossing.

Declarations are made through the API; the force's check is then run the way a worker runs it
(``check_run``), and the test reads the outcome and the reasons the officer sees.
"""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from clearance.models import Check, Declaration, RevokedCertificate, WatchlistEntry
from clearance.services.checks import check_run
from vehicles.models import Driver, Vehicle

ARRIVAL = timedelta(hours=24)


def arrival_day() -> date:
    """The local day of the crossing the ``submitted`` fixture declares."""
    return timezone.localdate(timezone.now() + ARRIVAL)


@pytest.fixture
def submitted(declare):
    """Declare through the API (checks left pending) and return the declaration's id. The crossing is
    tomorrow and its quarantine certificate valid on that day, unless overridden."""

    def submit(**overrides) -> int:
        arrival = timezone.now() + ARRIVAL
        day = timezone.localdate(arrival)
        body = {
            "expected_arrival": arrival.isoformat(),
            "quarantine_certificates": [
                {
                    "number": "KD-2026-001234",
                    "issued_on": str(day - timedelta(days=3)),
                    "expires_on": str(day + timedelta(days=27)),
                }
            ],
        }
        response = declare(**{**body, **overrides})
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    return submit


def run(declaration_id: int, kind: str) -> Check:
    check = Check.objects.get(declaration_id=declaration_id, kind=kind)
    check_run(check_id=check.id)
    return Check.objects.get(id=check.id)


def border_guard(declaration_id: int) -> Check:
    return run(declaration_id, Check.Kind.BORDER_GUARD)


def quarantine(declaration_id: int) -> Check:
    return run(declaration_id, Check.Kind.QUARANTINE)


def codes(check: Check) -> list[str]:
    return [reason["code"] for reason in check.reasons]


def message(check: Check, code: str) -> str:
    return next(reason["message"] for reason in check.reasons if reason["code"] == code)


def driver(**overrides) -> dict:
    return {
        "full_name": "Nguyễn Văn An",
        "nationality": "VN",
        "document_type": "passport",
        "document_number": "C1234567",
        "document_expires": "2030-01-01",
        **overrides,
    }


def vehicle(**overrides) -> dict:
    return {
        "plate": "12C-123.45",
        "country": "VN",
        "max_gross_weight_kg": 40000,
        "permit_number": "VN-CN-2026-00123",
        "permit_expires": str(arrival_day() + timedelta(days=200)),
        **overrides,
    }


# --- Border guard: documents --------------------------------------------------------------------


def test_valid_documents_pass(submitted):
    check = border_guard(submitted())

    assert (check.status, check.outcome) == ("done", "pass")
    assert codes(check) == ["clear"]


def test_document_expiring_within_the_margin_is_flagged(submitted, settings):
    settings.SMARTGATE_DOCUMENT_MARGIN_DAYS = 7
    expires = arrival_day() + timedelta(days=3)

    check = border_guard(submitted(driver=driver(document_expires=str(expires))))

    assert check.outcome == "flag"
    assert codes(check) == ["document_expires_soon"]
    assert str(expires) in message(check, "document_expires_soon")
    assert "7 days" in message(check, "document_expires_soon")


def test_document_expiring_just_after_the_margin_passes(submitted, settings):
    settings.SMARTGATE_DOCUMENT_MARGIN_DAYS = 7

    check = border_guard(submitted(driver=driver(document_expires=str(arrival_day() + timedelta(days=7)))))

    assert check.outcome == "pass"


def test_margin_is_read_from_settings(submitted, settings):
    settings.SMARTGATE_DOCUMENT_MARGIN_DAYS = 30

    check = border_guard(submitted(driver=driver(document_expires=str(arrival_day() + timedelta(days=20)))))

    assert check.outcome == "flag"
    assert "within 30 days" in message(check, "document_expires_soon")


def set_declared(declaration_id: int, party: str, **values) -> None:
    declaration = Declaration.objects.get(id=declaration_id)
    declaration.declared[party].update(values)
    Declaration.objects.filter(id=declaration_id).update(declared=declaration.declared)


def test_a_later_value_in_the_shared_registry_does_not_change_the_check(submitted):
    """Another company declaring the same document with a shorter validity changes the registry, not this
    crossing: its check reads what was declared for it."""
    declaration_id = submitted()
    Driver.objects.filter(declarations__id=declaration_id).update(document_expires=arrival_day() - timedelta(days=1))
    Vehicle.objects.filter(declarations__id=declaration_id).update(permit_expires=arrival_day() - timedelta(days=1))

    check = border_guard(declaration_id)

    assert check.outcome == "pass"


def test_document_expired_before_the_crossing_is_denied(submitted):
    declaration_id = submitted()
    # The crossing's record holds a validity that ends before the crossing (the submission refuses one,
    # so it is written here as if the record had been so from the start).
    expired = arrival_day() - timedelta(days=1)
    set_declared(declaration_id, "driver", document_expires=expired.isoformat())

    check = border_guard(declaration_id)

    assert check.outcome == "deny"
    assert codes(check) == ["document_expired"]
    assert str(expired) in message(check, "document_expired")


# --- Border guard: watchlist --------------------------------------------------------------------


def test_person_on_the_watchlist_matches_without_diacritics_case_or_extra_spaces(submitted):
    entry = WatchlistEntry.objects.create(
        kind="person", full_name="NGUYEN  VAN AN", action="flag", reason="Seen with smuggled goods in 2025"
    )

    check = border_guard(submitted())

    assert check.outcome == "flag"
    assert codes(check) == ["driver_watchlisted"]
    text = message(check, "driver_watchlisted")
    assert "Nguyễn Văn An" in text and str(entry.pk) in text and "Seen with smuggled goods in 2025" in text


def test_person_on_the_watchlist_with_deny_is_denied(submitted):
    WatchlistEntry.objects.create(kind="person", full_name="  nguyễn văn   an ", action="deny", reason="Entry ban")

    check = border_guard(submitted())

    assert check.outcome == "deny"
    assert codes(check) == ["driver_watchlisted"]


def test_person_on_the_watchlist_matches_by_document_number(submitted):
    WatchlistEntry.objects.create(
        kind="person", document_number="C1234567", action="deny", reason="Passport reported stolen"
    )

    check = border_guard(submitted())

    assert check.outcome == "deny"
    assert "Passport reported stolen" in message(check, "driver_watchlisted")


def test_another_document_number_or_name_does_not_match(submitted):
    WatchlistEntry.objects.create(kind="person", document_number="C1234568", action="deny", reason="Other")
    WatchlistEntry.objects.create(kind="person", full_name="Nguyễn Văn Anh", action="deny", reason="Other")

    check = border_guard(submitted())

    assert check.outcome == "pass"


def test_expired_watchlist_entry_is_ignored(submitted):
    WatchlistEntry.objects.create(
        kind="person",
        full_name="Nguyễn Văn An",
        action="deny",
        reason="Old ban",
        expires_at=timezone.now() - timedelta(days=1),
    )
    WatchlistEntry.objects.create(
        kind="vehicle",
        plate="12C-123.45",
        action="deny",
        reason="Old ban",
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    check = border_guard(submitted())

    assert check.outcome == "pass"


def test_watchlist_entry_expiring_later_is_in_force(submitted):
    WatchlistEntry.objects.create(
        kind="person",
        full_name="Nguyễn Văn An",
        action="flag",
        reason="Until next month",
        expires_at=timezone.now() + timedelta(days=30),
    )

    check = border_guard(submitted())

    assert check.outcome == "flag"


def test_vehicle_plate_on_the_watchlist_written_differently_is_flagged(submitted):
    WatchlistEntry.objects.create(kind="vehicle", plate="12c 123.45", action="flag", reason="Hidden compartment 2024")

    check = border_guard(submitted())

    assert check.outcome == "flag"
    assert codes(check) == ["vehicle_watchlisted"]
    assert "Hidden compartment 2024" in message(check, "vehicle_watchlisted")


def test_trailer_plate_on_the_watchlist_written_differently_is_denied(submitted):
    WatchlistEntry.objects.create(kind="vehicle", plate="12r 012.34", action="deny", reason="Stolen trailer")

    check = border_guard(submitted())

    assert check.outcome == "deny"
    assert codes(check) == ["vehicle_watchlisted"]
    assert "Stolen trailer" in message(check, "vehicle_watchlisted")


def test_person_entry_does_not_match_a_plate_and_vehicle_entry_not_a_name(submitted):
    WatchlistEntry.objects.create(kind="person", plate="12C-123.45", action="deny", reason="Misfiled")
    WatchlistEntry.objects.create(kind="vehicle", full_name="Nguyễn Văn An", action="deny", reason="Misfiled")

    check = border_guard(submitted())

    assert check.outcome == "pass"


def test_deny_reasons_come_with_the_flags(submitted):
    WatchlistEntry.objects.create(kind="person", document_number="C1234567", action="deny", reason="Entry ban")
    WatchlistEntry.objects.create(kind="vehicle", plate="12C12345", action="flag", reason="Look inside")

    check = border_guard(submitted())

    assert check.outcome == "deny"
    assert sorted(codes(check)) == ["driver_watchlisted", "vehicle_watchlisted"]


# --- Border guard: permit -----------------------------------------------------------------------


def test_vehicle_without_permit_is_flagged(submitted):
    check = border_guard(submitted(vehicle={"plate": "12C-123.45", "country": "VN", "max_gross_weight_kg": 40000}))

    assert check.outcome == "flag"
    assert codes(check) == ["permit_missing"]


def test_permit_number_without_expiry_is_flagged(submitted):
    check = border_guard(submitted(vehicle=vehicle(permit_expires=None)))

    assert check.outcome == "flag"
    assert codes(check) == ["permit_missing"]


def test_permit_expired_before_the_crossing_is_denied(submitted):
    declaration_id = submitted()
    # The crossing's record holds a permit that ends before the crossing (as above).
    expired = arrival_day() - timedelta(days=1)
    set_declared(declaration_id, "vehicle", permit_expires=expired.isoformat())

    check = border_guard(declaration_id)

    assert check.outcome == "deny"
    assert codes(check) == ["permit_expired"]
    assert str(expired) in message(check, "permit_expired")


def test_permit_expiring_on_the_crossing_day_passes(submitted):
    check = border_guard(submitted(vehicle=vehicle(permit_expires=str(arrival_day()))))

    assert check.outcome == "pass"


# --- Quarantine ---------------------------------------------------------------------------------


def test_agri_food_with_a_valid_certificate_passes(submitted):
    check = quarantine(submitted())

    assert (check.status, check.outcome) == ("done", "pass")
    assert codes(check) == ["certificate_valid"]
    assert "KD-2026-001234" in message(check, "certificate_valid")


def test_agri_food_without_certificate_needs_inspection(submitted):
    check = quarantine(submitted(quarantine_certificates=[]))

    assert check.outcome == "inspection"
    assert codes(check) == ["certificate_missing"]


def test_certificate_expired_on_the_crossing_day_needs_inspection(submitted):
    day = arrival_day()
    certificate = {
        "number": "KD-2026-001234",
        "issued_on": str(day - timedelta(days=30)),
        "expires_on": str(day - timedelta(days=1)),
    }

    check = quarantine(submitted(quarantine_certificates=[certificate]))

    assert check.outcome == "inspection"
    assert codes(check) == ["certificate_expired"]
    assert str(day) in message(check, "certificate_expired")


def test_certificate_expiring_on_the_crossing_day_is_valid(submitted):
    day = arrival_day()
    certificate = {"number": "KD-2026-001234", "issued_on": str(day - timedelta(days=30)), "expires_on": str(day)}

    check = quarantine(submitted(quarantine_certificates=[certificate]))

    assert check.outcome == "pass"


def test_certificate_issued_after_the_crossing_day_is_not_valid_on_it(submitted):
    day = arrival_day()
    certificate = {
        "number": "KD-2026-001234",
        "issued_on": str(day + timedelta(days=1)),
        "expires_on": str(day + timedelta(days=30)),
    }

    check = quarantine(submitted(quarantine_certificates=[certificate]))

    assert check.outcome == "inspection"
    assert codes(check) == ["certificate_expired"]


def test_one_valid_certificate_among_expired_ones_passes(submitted):
    day = arrival_day()
    certificates = [
        {
            "number": "KD-2026-000001",
            "issued_on": str(day - timedelta(days=60)),
            "expires_on": str(day - timedelta(days=30)),
        },
        {
            "number": "KD-2026-001234",
            "issued_on": str(day - timedelta(days=3)),
            "expires_on": str(day + timedelta(days=27)),
        },
    ]

    check = quarantine(submitted(quarantine_certificates=certificates))

    assert check.outcome == "pass"
    assert "KD-2026-001234" in message(check, "certificate_valid")


def test_revoked_certificate_is_denied(submitted):
    RevokedCertificate.objects.create(number="KD-2026-001234", reason="Issued on forged lab results")

    check = quarantine(submitted())

    assert check.outcome == "deny"
    assert codes(check) == ["certificate_revoked"]
    assert "KD-2026-001234" in message(check, "certificate_revoked")


def test_goods_outside_chapters_01_to_24_pass_without_certificate(submitted):
    declaration_id = submitted(
        goods=[
            {
                "hs_code": "85171300",
                "description": "Mobile phones",
                "quantity": "1000",
                "unit": "PCE",
                "gross_weight_kg": "500",
                "value": "200000.00",
                "currency": "USD",
                "origin_country": "VN",
            }
        ],
        quarantine_certificates=[],
    )

    check = quarantine(declaration_id)

    assert Declaration.objects.get(id=declaration_id).needs_quarantine is False
    assert check.outcome == "pass"
    assert codes(check) == ["not_required"]


@pytest.mark.parametrize(
    ("hs_code", "outcome"), [("01022100", "inspection"), ("24012000", "inspection"), ("25010010", "pass")]
)
def test_chapters_01_and_24_are_the_bounds(submitted, hs_code, outcome):
    goods = [
        {
            "hs_code": hs_code,
            "description": "Goods",
            "quantity": "10",
            "unit": "KGM",
            "gross_weight_kg": "1000",
            "value": "5000.00",
            "currency": "USD",
            "origin_country": "VN",
        }
    ]

    check = quarantine(submitted(goods=goods, quarantine_certificates=[]))

    assert check.outcome == outcome
