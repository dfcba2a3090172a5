"""The customs risk engine: each rule officers edit, the thresholds, the random selection, the gateway.

Declarations are made through the API; the customs check is then run the way a worker runs it
(``check_run``), and the test reads what the customs officer sees: the channel and the reasons.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from clearance.engines import Reason, Verdict
from clearance.engines.customs import CustomsGatewayUnavailable, random_draw
from clearance.models import (
    Check,
    Company,
    CompanyViolation,
    Declaration,
    HsRiskRule,
    Inspection,
    ReferencePrice,
    RiskSettings,
)
from clearance.services.checks import check_run
from tests.factories import arrival_in, container
from vehicles.models import Vehicle

RULES_GATEWAY = "clearance.engines.customs.RulesCustomsGateway"


class UnavailableGateway:
    """A customs system that does not answer."""

    def assess(self, declaration):
        raise CustomsGatewayUnavailable("VNACCS did not answer within 10 s")


class RedChannelGateway:
    """A replacement customs system that sends everything to the red channel."""

    def assess(self, declaration):
        return Verdict("red", [Reason("vnaccs_red", f"VNACCS selected {declaration.reference} for the red channel.")])


def risk(**fields) -> None:
    RiskSettings.objects.update(**fields)


@pytest.fixture
def submitted(declare):
    """Declare through the API (checks left pending) and return the declaration's id."""

    def submit(**overrides) -> int:
        response = declare(**overrides)
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    return submit


def run_customs(declaration_id: int) -> Check:
    """Run the customs check of the declaration's current version, as a worker does."""
    version = Declaration.objects.get(id=declaration_id).version
    check = Check.objects.get(declaration_id=declaration_id, version=version, kind=Check.Kind.CUSTOMS)
    check_run(check_id=check.id)
    return Check.objects.get(id=check.id)


def codes(check: Check) -> list[str]:
    return [reason["code"] for reason in check.reasons]


def message(check: Check, code: str) -> str:
    return next(reason["message"] for reason in check.reasons if reason["code"] == code)


def set_rating(company, rating: str) -> None:
    Company.objects.filter(id=company.id).update(compliance_rating=rating)


def goods(**overrides) -> list[dict]:
    line = {
        "hs_code": "08106000",
        "description": "Fresh durian",
        "quantity": "18000",
        "unit": "KGM",
        "gross_weight_kg": "18000",
        "value": "45000.00",
        "currency": "USD",
        "origin_country": "VN",
    }
    return [{**line, **overrides}]


# --- No rule fires ------------------------------------------------------------------------------


def test_nothing_risky_is_green_with_score_zero(submitted):
    declaration_id = submitted()

    check = run_customs(declaration_id)

    assert (check.status, check.outcome) == ("done", "green")
    assert codes(check) == ["score"]
    assert "Risk score 0" in message(check, "score")
    assert Declaration.objects.get(id=declaration_id).channel == "green"


# --- HS risk rules ------------------------------------------------------------------------------


def test_hs_rule_matching_the_prefix_adds_its_weight(submitted):
    HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="Fruit smuggled as other fruit")
    declaration_id = submitted()

    check = run_customs(declaration_id)

    assert check.outcome == "yellow"
    assert codes(check) == ["hs_risk", "score"]
    text = message(check, "hs_risk")
    assert "08106000" in text and "0810" in text and "+35" in text and "Fruit smuggled" in text
    assert "Risk score 35" in message(check, "score")


def test_hs_rule_with_another_prefix_does_not_fire(submitted):
    HsRiskRule.objects.create(hs_prefix="0811", weight=70, description="Frozen fruit")
    HsRiskRule.objects.create(hs_prefix="85", weight=70, description="Electronics")

    check = run_customs(submitted())

    assert check.outcome == "green"
    assert "hs_risk" not in codes(check)


def test_inactive_hs_rule_is_ignored(submitted):
    HsRiskRule.objects.create(hs_prefix="0810", weight=70, description="Retired rule", is_active=False)

    check = run_customs(submitted())

    assert check.outcome == "green"
    assert "hs_risk" not in codes(check)


def test_several_matching_hs_rules_add_up(submitted):
    HsRiskRule.objects.create(hs_prefix="08", weight=20, description="Fruit")
    HsRiskRule.objects.create(hs_prefix="0810", weight=45, description="Durian")

    check = run_customs(submitted())

    assert check.outcome == "red"
    assert codes(check) == ["hs_risk", "hs_risk", "score"]
    assert "Risk score 65" in message(check, "score")


# --- Company ------------------------------------------------------------------------------------


def test_company_under_watch_goes_yellow(submitted, company):
    set_rating(company, "under_watch")

    check = run_customs(submitted())

    assert check.outcome == "yellow"
    assert codes(check) == ["company_under_watch", "score"]
    assert company.name in message(check, "company_under_watch")
    assert "Risk score 40" in message(check, "score")


def test_priority_company_lowers_the_score(submitted, company):
    set_rating(company, "priority")
    HsRiskRule.objects.create(hs_prefix="0810", weight=35, description="Durian")

    check = run_customs(submitted())

    assert check.outcome == "green"  # 35 - 20 = 15, under yellow
    assert codes(check) == ["hs_risk", "company_priority", "score"]
    assert "Risk score 15" in message(check, "score")


def test_recent_violations_count_each(submitted, company):
    today = timezone.localdate()
    CompanyViolation.objects.create(company=company, occurred_on=today - timedelta(days=30), description="Misdeclared")
    CompanyViolation.objects.create(
        company=company, occurred_on=today - timedelta(days=365), description="Late re-export"
    )

    check = run_customs(submitted())

    assert check.outcome == "yellow"  # 2 × 15 = 30
    assert codes(check) == ["company_violations", "score"]
    assert "2 violation(s) in the last 365 days" in message(check, "company_violations")


def test_violations_outside_the_window_do_not_count(submitted, company):
    today = timezone.localdate()
    CompanyViolation.objects.create(company=company, occurred_on=today - timedelta(days=366), description="Old")
    risk(violation_window_days=90)
    CompanyViolation.objects.create(company=company, occurred_on=today - timedelta(days=120), description="Older")

    check = run_customs(submitted())

    assert check.outcome == "green"
    assert "company_violations" not in codes(check)


def test_violations_of_another_company_do_not_count(submitted, other_company):
    CompanyViolation.objects.create(company=other_company, occurred_on=timezone.localdate(), description="Not ours")
    CompanyViolation.objects.create(company=other_company, occurred_on=timezone.localdate(), description="Not ours")

    check = run_customs(submitted())

    assert "company_violations" not in codes(check)


# --- Valuation ----------------------------------------------------------------------------------


def test_value_below_the_reference_share_is_undervaluation(submitted):
    # 45 000 USD for 18 000 kg is 2.50 USD/kg; half of the 6 USD/kg reference is 3.
    ReferencePrice.objects.create(hs_heading="0810", currency="USD", price_per_kg=Decimal("6"))

    check = run_customs(submitted())

    assert check.outcome == "yellow"
    assert codes(check) == ["undervaluation", "score"]
    text = message(check, "undervaluation")
    assert "08106000" in text and "2.50 USD/kg" in text and "50%" in text and "6" in text


def test_value_above_the_reference_share_is_not_undervaluation(submitted):
    ReferencePrice.objects.create(hs_heading="0810", currency="USD", price_per_kg=Decimal("4"))  # floor 2.00

    check = run_customs(submitted())

    assert check.outcome == "green"
    assert "undervaluation" not in codes(check)


def test_reference_price_of_another_heading_does_not_apply(submitted):
    ReferencePrice.objects.create(hs_heading="0811", currency="USD", price_per_kg=Decimal("100"))

    check = run_customs(submitted())

    assert "undervaluation" not in codes(check)


def test_reference_price_in_another_currency_does_not_apply(submitted):
    ReferencePrice.objects.create(hs_heading="0810", currency="CNY", price_per_kg=Decimal("100"))

    check = run_customs(submitted())

    assert check.outcome == "green"
    assert "undervaluation" not in codes(check)


def test_reference_price_in_the_lines_currency_applies(submitted):
    ReferencePrice.objects.create(hs_heading="0810", currency="USD", price_per_kg=Decimal("1"))
    ReferencePrice.objects.create(hs_heading="0810", currency="CNY", price_per_kg=Decimal("40"))

    check = run_customs(submitted(goods=goods(value="180000.00", currency="CNY")))  # 10 CNY/kg

    assert check.outcome == "yellow"
    assert "10.00 CNY/kg" in message(check, "undervaluation")


# --- Weight -------------------------------------------------------------------------------------


def test_goods_and_tare_above_the_vehicle_maximum_is_overweight(submitted):
    declaration_id = submitted()  # 18 000 kg of goods, maximum 40 000 kg
    Vehicle.objects.filter(declarations__id=declaration_id).update(tare_weight_kg=25000)

    check = run_customs(declaration_id)

    assert check.outcome == "yellow"
    assert codes(check) == ["overweight", "score"]
    text = message(check, "overweight")
    assert "18000" in text and "43000" in text and "40000" in text


def test_goods_and_tare_at_the_vehicle_maximum_is_not_overweight(submitted):
    declaration_id = submitted()
    Vehicle.objects.filter(declarations__id=declaration_id).update(tare_weight_kg=22000)

    check = run_customs(declaration_id)

    assert "overweight" not in codes(check)


def test_unknown_tare_counts_the_goods_only(submitted):
    declaration_id = submitted()

    check = run_customs(declaration_id)

    assert Vehicle.objects.get(declarations__id=declaration_id).tare_weight_kg is None
    assert "overweight" not in codes(check)


# --- Seals --------------------------------------------------------------------------------------


def test_container_without_seals_is_named(submitted):
    check = run_customs(
        submitted(
            containers=[
                {"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]},
                {"number": "MSKU1234565", "size": "20", "seals": []},
            ]
        )
    )

    assert check.outcome == "yellow"
    assert codes(check) == ["container_unsealed", "score"]
    assert "MSKU1234565" in message(check, "container_unsealed")
    assert "CSQU3054383" not in message(check, "container_unsealed")


# --- Thresholds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("weight", "channel"), [(29, "green"), (30, "yellow"), (59, "yellow"), (60, "red")])
def test_default_thresholds(submitted, weight, channel):
    HsRiskRule.objects.create(hs_prefix="0810", weight=weight, description="Durian")

    check = run_customs(submitted())

    assert check.outcome == channel


def test_thresholds_are_read_from_risk_settings(submitted):
    risk(yellow_threshold=10, red_threshold=20)
    HsRiskRule.objects.create(hs_prefix="0810", weight=20, description="Durian")

    check = run_customs(submitted())

    assert check.outcome == "red"
    assert "yellow from 10, red from 20" in message(check, "score")


# --- Random selection ---------------------------------------------------------------------------


def draw_for(declaration_id: int) -> Decimal:
    return random_draw(Declaration.objects.select_related("vehicle").get(id=declaration_id))


def test_random_draw_is_fixed_per_declaration(submitted):
    declaration_id = submitted()

    first, second = draw_for(declaration_id), draw_for(declaration_id)

    assert first == second
    assert Decimal(0) <= first < Decimal(100)


def test_cancelling_and_declaring_again_the_same_day_does_not_reroll_the_draw(api, submitted, declaration_body):
    declaration_id = submitted()
    draw = draw_for(declaration_id)
    api.post(f"/api/v1/declarations/{declaration_id}/cancel/", {"reason": "try again"}, format="json")

    again = api.post(
        "/api/v1/declarations/",
        declaration_body(customs_declarations=[{"number": "305123456700", "type": "B11"}]),
        format="json",
    )

    assert again.status_code == 201, again.json()
    assert draw_for(again.json()["id"]) == draw


def test_declaration_whose_draw_is_under_the_rate_stays_selected_after_amending(api, submitted):
    declaration_id = submitted()
    draw = draw_for(declaration_id)
    risk(random_rate_percent=min(draw + Decimal("0.01"), Decimal(100)))

    first = run_customs(declaration_id)
    amended = api.patch(
        f"/api/v1/declarations/{declaration_id}/",
        {"expected_arrival": arrival_in(30)},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert amended.status_code == 200, amended.json()
    second = run_customs(declaration_id)

    assert (first.version, second.version) == (1, 2)
    assert first.outcome == second.outcome == "yellow"
    assert "random_selection" in codes(first) and "random_selection" in codes(second)


def test_declaration_whose_draw_is_at_the_rate_is_not_selected(submitted):
    declaration_id = submitted()
    risk(random_rate_percent=draw_for(declaration_id))

    check = run_customs(declaration_id)

    assert check.outcome == "green"
    assert "random_selection" not in codes(check)


def test_priority_rate_below_the_floor_uses_the_floor(db):
    risk(
        random_rate_percent=Decimal("5"),
        random_rate_priority_percent=Decimal("0.10"),
        random_rate_floor_percent=Decimal("0.50"),
    )
    settings_row = RiskSettings.current()

    assert settings_row.random_rate_for("priority") == Decimal("0.50")
    assert settings_row.random_rate_for("normal") == Decimal("5")
    assert settings_row.random_rate_for("under_watch") == Decimal("5")


def test_floor_selects_even_a_priority_company(submitted, company):
    set_rating(company, "priority")
    risk(random_rate_priority_percent=0, random_rate_floor_percent=100)

    check = run_customs(submitted())

    assert check.outcome == "yellow"
    assert "random_selection" in codes(check)
    assert "100" in message(check, "random_selection")


def test_priority_company_uses_its_own_rate(submitted, company):
    set_rating(company, "priority")
    risk(random_rate_percent=100, random_rate_priority_percent=0)

    check = run_customs(submitted())

    assert "random_selection" not in codes(check)


def test_full_rate_selects_every_declaration_to_the_random_channel(submitted):
    risk(random_rate_percent=100, random_channel="red")
    first = submitted()
    second = submitted(
        vehicle={
            "plate": "12C-555.55",
            "country": "VN",
            "max_gross_weight_kg": 40000,
            "permit_number": "VN-CN-2026-00555",
            "permit_expires": "2027-06-30",
        },
        customs_declarations=[{"number": "305123456790", "type": "B11"}],
        containers=[container(2)],
    )

    checks = [run_customs(first), run_customs(second)]

    assert [check.outcome for check in checks] == ["red", "red"]
    assert all("random_selection" in codes(check) for check in checks)
    assert "Risk score 0" in message(checks[0], "score")


def test_random_selection_raises_the_channel_but_never_lowers_it(submitted):
    risk(random_rate_percent=100, random_channel="yellow")
    HsRiskRule.objects.create(hs_prefix="0810", weight=60, description="Durian")

    check = run_customs(submitted())

    assert check.outcome == "red"
    assert codes(check) == ["hs_risk", "random_selection", "score"]


# --- The gateway --------------------------------------------------------------------------------


def test_unavailable_gateway_leaves_the_check_pending_for_a_retry(submitted, settings):
    settings.SMARTGATE_CUSTOMS_GATEWAY = f"{__name__}.UnavailableGateway"
    declaration_id = submitted()
    check = Check.objects.get(declaration_id=declaration_id, kind=Check.Kind.CUSTOMS)

    with pytest.raises(CustomsGatewayUnavailable):
        check_run(check_id=check.id)

    check.refresh_from_db()
    assert (check.status, check.outcome, check.attempts) == ("pending", "", 1)
    assert Declaration.objects.get(id=declaration_id).channel == ""

    settings.SMARTGATE_CUSTOMS_GATEWAY = RULES_GATEWAY
    retried = check_run(check_id=check.id)

    assert retried is not None
    check.refresh_from_db()
    assert (check.status, check.outcome, check.attempts) == ("done", "green", 2)


def test_gateway_is_replaceable_by_setting(declare, settings, django_capture_on_commit_callbacks):
    settings.SMARTGATE_CUSTOMS_GATEWAY = f"{__name__}.RedChannelGateway"

    with django_capture_on_commit_callbacks(execute=True):
        response = declare()

    declaration = Declaration.objects.get(id=response.json()["id"])
    assert (declaration.status, declaration.channel) == ("inspection", "red")
    inspection = Inspection.objects.get(declaration=declaration)
    assert (inspection.force, inspection.kind) == ("customs", "physical")
    assert [reason["code"] for reason in inspection.reasons] == ["vnaccs_red"]
    assert declaration.reference in inspection.reasons[0]["message"]


def test_gateway_down_through_every_retry_leaves_customs_to_review_documents(
    declare, settings, django_capture_on_commit_callbacks
):
    settings.SMARTGATE_CUSTOMS_GATEWAY = f"{__name__}.UnavailableGateway"

    with django_capture_on_commit_callbacks(execute=True):
        response = declare()

    declaration = Declaration.objects.get(id=response.json()["id"])
    customs = Check.objects.get(declaration=declaration, kind=Check.Kind.CUSTOMS)
    assert customs.status == "failed"
    assert "VNACCS did not answer" in customs.reasons[0]["message"]
    assert declaration.status == "inspection"
    inspection = Inspection.objects.get(declaration=declaration)
    assert (inspection.force, inspection.kind) == ("customs", "document_review")
