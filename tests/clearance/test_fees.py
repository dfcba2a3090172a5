"""The infrastructure-use fee as the forwarder meets it: issued with the clearance from the tariff in force
(the published examples of Resolution 09/2025/NQ-HĐND), paid through the provider's signed callback, and
shown as an e-ticket whose QR code the gate scans."""

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.audit import Actor
from clearance.models import Declaration, DeclarationEvent, Fee, Payment, Tariff, TariffCoefficient, TariffRate
from clearance.services.fees import TicketInvalid, TicketVoid, fee_issue, ticket_read

SECRET = "provider-shared-secret"
pytestmark = pytest.mark.usefixtures("tariff")


@pytest.fixture(autouse=True)
def payment_secret(settings):
    settings.SMARTGATE_PAYMENT_SECRET = SECRET


def certificate() -> dict:
    day = timezone.localdate(timezone.now() + timedelta(hours=24))
    return {
        "number": "KD-2026-001234",
        "issued_on": str(day - timedelta(days=3)),
        "expires_on": str(day + timedelta(days=27)),
    }


def line(hs_code: str, description: str, kg: str, *, value: str = "20000.00", origin: str = "VN") -> dict:
    return {
        "hs_code": hs_code,
        "description": description,
        "quantity": kg,
        "unit": "KGM",
        "gross_weight_kg": kg,
        "value": value,
        "currency": "USD",
        "origin_country": origin,
    }


VEGETABLES = line("07099300", "Fresh pumpkins", "1200", value="800.00")
DRAGON_FRUIT = line("08109092", "Fresh dragon fruit", "18000")
IRON_ORE = line("26011100", "Iron ore, non-agglomerated", "25000", value="3000.00")
LAPTOPS = {**line("84713020", "Laptops", "2000", value="150000.00"), "unit": "PCE", "quantity": "500"}


def vehicle(max_kg: int = 40000) -> dict:
    return {
        "plate": "12C-123.45",
        "country": "VN",
        "max_gross_weight_kg": max_kg,
        "permit_number": "VN-CN-2026-00123",
        "permit_expires": str(timezone.localdate() + timedelta(days=365)),
    }


def container(size: str) -> dict:
    return {"number": "CSQU3054383", "size": size, "seals": ["VNC123456"]}


@pytest.fixture
def cleared(declare, django_capture_on_commit_callbacks, api):
    """Declare over the API with the checks run (as the workers do); the declaration as the forwarder reads it."""

    def post(**overrides) -> dict:
        body = {"trailer": None, "containers": [], "quarantine_certificates": [certificate()], **overrides}
        with django_capture_on_commit_callbacks(execute=True):
            response = declare(**body)
        assert response.status_code == 201, response.json()
        seen = api.get(f"/api/v1/declarations/{response.json()['id']}/").json()
        assert seen["status"] == "cleared", seen
        return seen

    return post


# --- The published examples ------------------------------------------------------------------------------


def test_small_vehicle_with_fresh_vegetables_for_export_pays_100_000(cleared):
    seen = cleared(direction="export", vehicle=vehicle(1500), goods=[VEGETABLES])

    fee = seen["fee"]
    assert (fee["amount_vnd"], fee["status"], fee["journey"]) == (100_000, "issued", "export")
    assert (fee["breakdown"]["basis"], fee["breakdown"]["class"]) == ("weight_class", "2000")
    assert fee["breakdown"]["goods_type"] == "agricultural"


def test_40ft_container_of_agricultural_goods_temporarily_imported_for_reexport_pays_4_000_000(cleared):
    seen = cleared(
        direction="import",
        goods=[{**DRAGON_FRUIT, "origin_country": "TH"}],
        containers=[container("40")],
        customs_declarations=[{"number": "105123456789", "type": "G12"}],
    )

    fee = seen["fee"]
    assert (fee["amount_vnd"], fee["journey"]) == (4_000_000, "temporary_import_reexport")
    assert (fee["breakdown"]["basis"], fee["breakdown"]["class"]) == ("container", "40")


def test_ore_for_export_pays_five_times_the_base(cleared):
    seen = cleared(direction="export", goods=[IRON_ORE], quarantine_certificates=[])

    fee = seen["fee"]
    assert fee["breakdown"]["base_vnd"] == 1_000_000  # a 40-tonne truck without containers: the top class
    assert fee["breakdown"]["goods_type"] == "ore"
    assert fee["amount_vnd"] == 5 * 1_000_000


def test_no_fee_exceeds_the_tariffs_maximum_per_trip(cleared):
    seen = cleared(direction="export", goods=[IRON_ORE], containers=[container("40")], quarantine_certificates=[])

    fee = seen["fee"]
    assert fee["amount_vnd"] == 5_000_000  # 4,000,000 × 5 = 20,000,000, capped
    assert (fee["breakdown"]["computed_vnd"], fee["breakdown"]["max_fee_vnd"]) == (20_000_000, 5_000_000)


def test_imported_ore_is_not_charged_the_export_ore_coefficient(cleared):
    seen = cleared(
        direction="import",
        goods=[{**IRON_ORE, "origin_country": "CN"}],
        customs_declarations=[{"number": "105123456789", "type": "A11"}],
        quarantine_certificates=[],
    )

    fee = seen["fee"]
    assert (fee["breakdown"]["goods_type"], fee["breakdown"]["goods_coefficient"]) == ("general", "1.00")
    assert fee["amount_vnd"] == 1_300_000  # 1,000,000 (top weight class) × 1.3 inland, not × 5


def test_imported_goods_delivered_inland_pay_130_percent(cleared):
    seen = cleared(
        direction="import",
        goods=[{**LAPTOPS, "origin_country": "CN"}],
        containers=[container("20")],
        customs_declarations=[{"number": "105123456789", "type": "A11"}],
        quarantine_certificates=[],
    )

    fee = seen["fee"]
    assert (fee["journey"], fee["breakdown"]["journey_coefficient"]) == ("import_inland", "1.30")
    assert fee["amount_vnd"] == 2_600_000  # 2,000,000 × 1.3


def test_several_goods_types_pay_the_highest_coefficient(cleared):
    seen = cleared(
        direction="export",
        vehicle=vehicle(17000),
        goods=[line("08109092", "Fresh dragon fruit", "5000"), line("26011100", "Iron ore", "10000", value="1200.00")],
    )

    fee = seen["fee"]
    assert fee["breakdown"]["goods_type"] == "ore"
    assert fee["amount_vnd"] == 4_000_000  # 800,000 (up to 18 t) × 5


def test_the_largest_container_sets_the_base_rate(cleared):
    seen = cleared(
        direction="export",
        goods=[LAPTOPS],
        quarantine_certificates=[],
        containers=[container("20"), {"number": "MSKU1234565", "size": "45", "seals": ["VN1"]}],
    )

    assert seen["fee"]["amount_vnd"] == 5_000_000


def test_without_a_tariff_in_force_the_clearance_comes_without_a_fee(cleared, tariff):
    Tariff.objects.filter(id=tariff.id).update(valid_from=timezone.localdate() + timedelta(days=30))

    seen = cleared(direction="export", goods=[LAPTOPS], quarantine_certificates=[])

    assert seen["fee"] is None


# --- A fee keeps its tariff ------------------------------------------------------------------------------


def test_an_issued_fee_keeps_its_tariff_when_the_rates_change(cleared, tariff):
    seen = cleared(direction="export", vehicle=vehicle(1500), goods=[VEGETABLES])
    issued = Fee.objects.get(declaration_id=seen["id"])

    TariffRate.objects.filter(tariff=tariff).update(amount_vnd=999_000)
    TariffCoefficient.objects.filter(tariff=tariff).update(coefficient=Decimal("3.00"))
    again = fee_issue(declaration_id=seen["id"], actor=Actor.system("officer"))

    fee = Fee.objects.get(declaration_id=seen["id"])
    assert (fee.amount_vnd, fee.tariff_id, fee.breakdown) == (100_000, tariff.id, issued.breakdown)
    assert again.id == issued.id
    assert Fee.objects.filter(declaration_id=seen["id"]).count() == 1


def test_a_new_tariff_applies_to_new_fees_only(cleared, tariff):
    first = cleared(direction="export", vehicle=vehicle(1500), goods=[VEGETABLES])
    new = Tariff.objects.create(code="nq-2026", name="2026 revision", valid_from=timezone.localdate())
    for rate in tariff.rates.all():
        TariffRate.objects.create(tariff=new, basis=rate.basis, key=rate.key, amount_vnd=rate.amount_vnd * 2)
    for coefficient in tariff.coefficients.all():
        TariffCoefficient.objects.create(
            tariff=new,
            kind=coefficient.kind,
            code=coefficient.code,
            description=coefficient.description,
            hs_chapters=coefficient.hs_chapters,
            coefficient=coefficient.coefficient,
        )

    second = cleared(
        direction="export",
        vehicle={**vehicle(1500), "plate": "12C-555.55"},
        goods=[VEGETABLES],
        customs_declarations=[{"number": "305123456790", "type": "B11"}],
    )

    assert (Fee.objects.get(declaration_id=first["id"]).tariff_id, first["fee"]["amount_vnd"]) == (tariff.id, 100_000)
    assert (Fee.objects.get(declaration_id=second["id"]).tariff_id, second["fee"]["amount_vnd"]) == (new.id, 200_000)


# --- The payment provider's callback -----------------------------------------------------------------------


def callback(body: dict, *, secret: str = SECRET, signature: str | None = None):
    raw = json.dumps(body).encode()
    signature = signature or "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return APIClient().post(
        "/api/v1/payments/callback/", raw, content_type="application/json", HTTP_X_SIGNATURE=signature
    )


@pytest.fixture
def issued(cleared):
    """A cleared crossing with its fee of 100,000 VND issued, as the forwarder reads it."""
    return cleared(direction="export", vehicle=vehicle(1500), goods=[VEGETABLES])


def confirmation(seen: dict, **overrides) -> dict:
    return {
        "payment_id": "VNPAY-20261121-0001",
        "reference": seen["reference"],
        "amount_vnd": seen["fee"]["amount_vnd"],
        **overrides,
    }


def test_a_signed_confirmation_pays_the_fee(issued, api):
    response = callback(confirmation(issued, paid_at=timezone.now().isoformat()))

    assert response.status_code == 200, response.json()
    assert (response.json()["payment"], response.json()["status"]) == ("VNPAY-20261121-0001", "accepted")
    fee = api.get(f"/api/v1/declarations/{issued['id']}/").json()["fee"]
    assert fee["status"] == "paid" and fee["paid_at"]
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_vnd, payment.fee.declaration_id) == ("accepted", 100_000, issued["id"])


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "sha1=abc", None], ids=["zeros", "sha1", "other-secret"])
def test_a_bad_signature_is_refused_and_pays_nothing(issued, signature):
    response = callback(confirmation(issued), signature=signature, secret="someone-elses-secret")

    assert response.status_code == 401
    assert Fee.objects.get(declaration_id=issued["id"]).status == "issued"
    assert not Payment.objects.exists()


def test_a_body_changed_after_signing_is_refused(issued):
    raw = json.dumps(confirmation(issued)).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    tampered = raw.replace(b"100000", b"1000")

    response = APIClient().post(
        "/api/v1/payments/callback/", tampered, content_type="application/json", HTTP_X_SIGNATURE=signature
    )

    assert response.status_code == 401
    assert Fee.objects.get(declaration_id=issued["id"]).status == "issued"


def test_without_a_configured_secret_no_callback_is_trusted(issued, settings):
    settings.SMARTGATE_PAYMENT_SECRET = ""

    response = callback(confirmation(issued), secret="")

    assert response.status_code == 401
    assert Fee.objects.get(declaration_id=issued["id"]).status == "issued"


def test_a_replayed_confirmation_pays_once(issued):
    first = callback(confirmation(issued))
    paid_at = Fee.objects.get(declaration_id=issued["id"]).paid_at

    replay = callback(confirmation(issued))

    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.json()["status"] == "accepted"
    assert Payment.objects.filter(status="accepted").count() == 1
    assert not Payment.objects.filter(status="rejected").exists()
    assert Fee.objects.get(declaration_id=issued["id"]).paid_at == paid_at


def test_a_wrong_amount_is_rejected_and_kept_for_the_record(issued):
    response = callback(confirmation(issued, amount_vnd=90_000))

    assert response.status_code == 422
    assert response.json()["code"] == "payment_rejected"
    assert "90000" in response.json()["detail"] and "100000" in response.json()["detail"]
    assert Fee.objects.get(declaration_id=issued["id"]).status == "issued"
    rejected = Payment.objects.get()
    assert (rejected.status, rejected.provider_payment_id, rejected.amount_vnd) == (
        "rejected",
        "VNPAY-20261121-0001",
        90_000,
    )
    assert rejected.detail


def test_a_second_payment_for_a_paid_fee_is_rejected(issued):
    assert callback(confirmation(issued)).status_code == 200

    response = callback(confirmation(issued, payment_id="VNPAY-20261121-0002"))

    assert response.status_code == 422
    assert list(Payment.objects.order_by("id").values_list("provider_payment_id", "status")) == [
        ("VNPAY-20261121-0001", "accepted"),
        ("VNPAY-20261121-0002", "rejected"),
    ]


def test_a_payment_for_an_unknown_reference_is_rejected_and_kept(issued):
    response = callback(confirmation(issued, reference="SG-2026-999999"))

    assert response.status_code == 422
    assert Payment.objects.get().status == "rejected"
    assert Payment.objects.get().fee is None


# --- The e-ticket ----------------------------------------------------------------------------------------


def test_no_ticket_before_payment(issued, api):
    response = api.get(f"/api/v1/declarations/{issued['id']}/ticket/")

    assert response.status_code == 409
    assert response.json()["code"] == "fee_unpaid"


def test_the_paid_ticket_carries_a_signed_token_and_its_qr_code(issued, api):
    assert callback(confirmation(issued)).status_code == 200

    response = api.get(f"/api/v1/declarations/{issued['id']}/ticket/")

    assert response.status_code == 200, response.json()
    ticket = response.json()
    assert ticket["payload"]["ref"] == issued["reference"]
    assert ticket["payload"]["plate"] == "12C12345"
    assert ticket["payload"]["amount"] == ticket["amount_vnd"] == 100_000
    assert ticket["qr_svg"].startswith("<?xml") or "<svg" in ticket["qr_svg"]
    # What the gate scanner reads from the QR code.
    assert ticket_read(ticket["token"]) == ticket["payload"]


def test_a_tampered_ticket_is_refused_by_the_scanner(issued, api):
    callback(confirmation(issued))
    token = api.get(f"/api/v1/declarations/{issued['id']}/ticket/").json()["token"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    with pytest.raises(TicketInvalid):
        ticket_read(forged)


def test_another_company_cannot_read_the_ticket(issued, other_api):
    callback(confirmation(issued))

    assert other_api.get(f"/api/v1/declarations/{issued['id']}/ticket/").status_code == 404


def test_a_declaration_without_a_fee_has_no_ticket(declare, api):
    response = declare(trailer=None, containers=[], goods=[LAPTOPS], quarantine_certificates=[])
    declaration_id = response.json()["id"]
    assert Declaration.objects.get(id=declaration_id).status == "checking"

    assert api.get(f"/api/v1/declarations/{declaration_id}/ticket/").status_code == 404


# --- A cancelled crossing's fee ---------------------------------------------------------------------------


def cancel(api, seen: dict):
    response = api.post(f"/api/v1/declarations/{seen['id']}/cancel/", {"reason": "Trip called off"}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_cancelling_voids_an_unpaid_fee_and_it_can_no_longer_be_paid(issued, api):
    cancelled = cancel(api, issued)

    assert cancelled["fee"]["status"] == "voided"
    response = callback(confirmation(issued))
    assert response.status_code == 422
    assert "cancelled" in response.json()["detail"]
    assert Payment.objects.get().status == Payment.Status.REJECTED  # kept for the record
    assert Fee.objects.get().status == Fee.Status.VOIDED


def test_cancelling_after_payment_owes_the_fee_back_and_voids_the_ticket(issued, api):
    assert callback(confirmation(issued)).status_code == 200
    token = api.get(f"/api/v1/declarations/{issued['id']}/ticket/").json()["token"]

    cancelled = cancel(api, issued)

    assert cancelled["fee"]["status"] == "refund_due"
    response = api.get(f"/api/v1/declarations/{issued['id']}/ticket/")
    assert response.status_code == 409 and response.json()["code"] == "ticket_void"
    assert response["Content-Type"] == "application/problem+json"
    with pytest.raises(TicketVoid):
        ticket_read(token)  # the gate's scanner refuses it
    event = DeclarationEvent.objects.get(declaration_id=issued["id"], event=DeclarationEvent.Kind.CANCELLED)
    assert event.data == {"fee": "refund_due"}
