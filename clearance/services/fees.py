"""The infrastructure-use fee: computed from the tariff in force, paid through a provider, shown as an
e-ticket whose QR code the gate scans."""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import segno
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clearance.audit import Actor, audit_record
from clearance.errors import Conflict, DomainError
from clearance.models import Declaration, Fee, Payment, Tariff
from vehicles.models import local_date

logger = logging.getLogger(__name__)
TICKET_SALT = "smartgate.e-ticket"


class TariffMissing(DomainError):
    status = 409
    code = "no_tariff"
    title = "No tariff in force"


def tariff_in_force(on: date) -> Tariff:
    tariff = (
        Tariff.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on), valid_from__lte=on)
        .order_by("-valid_from")
        .prefetch_related("rates", "coefficients")
        .first()
    )
    if tariff is None:
        raise TariffMissing(f"No infrastructure-use tariff is in force on {on}.")
    return tariff


def journey_of(declaration: Declaration) -> str:
    """The journey the fee coefficient depends on, from the direction and the customs declaration types."""
    if declaration.direction == "export":
        return "export"
    types = {line.type for line in declaration.customs_declarations.all()}
    return "temporary_import_reexport" if "G12" in types else "import_inland"


def fee_calculate(*, declaration: Declaration, tariff: Tariff, journey: str) -> tuple[int, dict]:
    """Base rate (the largest container's size, else the vehicle's weight class) × the highest goods-type
    coefficient among the goods lines × the journey coefficient, rounded to 1,000 VND."""
    rates = {(rate.basis, rate.key): rate.amount_vnd for rate in tariff.rates.all()}
    sizes = [container.size for container in declaration.containers.all()]
    if sizes:
        basis = ("container", max(sizes, key=int))
    else:
        weight = declaration.vehicle.max_gross_weight_kg
        bounds = sorted(int(key) for kind, key in rates if kind == "weight_class" and key != "max")
        basis = ("weight_class", next((str(bound) for bound in bounds if weight < bound), "max"))
    base = rates[basis]
    coefficients = list(tariff.coefficients.all())
    goods = [c for c in coefficients if c.kind == "goods"]
    general = next((c for c in goods if not c.hs_chapters), None)
    applicable = []
    for line in declaration.goods.all():
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
    breakdown = {
        "basis": basis[0],
        "class": basis[1],
        "base_vnd": base,
        "goods_type": goods_coefficient.code if goods_coefficient else None,
        "goods_coefficient": str(goods_coefficient.coefficient) if goods_coefficient else "1",
        "journey": journey,
        "journey_coefficient": str(journey_coefficient.coefficient),
    }
    return amount, breakdown


@transaction.atomic
def fee_issue(*, declaration_id: int, actor: Actor, journey: str | None = None) -> Fee:
    """Issue the crossing's fee under the tariff in force today. Idempotent: an issued fee is returned
    unchanged (it keeps its tariff)."""
    declaration = Declaration.objects.select_for_update().select_related("vehicle").get(id=declaration_id)
    existing = Fee.objects.filter(declaration=declaration).first()
    if existing is not None:
        return existing
    tariff = tariff_in_force(local_date(timezone.now()))
    journey = journey or journey_of(declaration)
    amount, breakdown = fee_calculate(declaration=declaration, tariff=tariff, journey=journey)
    fee = Fee.objects.create(
        declaration=declaration, tariff=tariff, journey=journey, amount_vnd=amount, breakdown=breakdown
    )
    audit_record(declaration=declaration, actor=actor, event="fee_issued", data={"amount_vnd": amount, **breakdown})
    return fee


def signature_valid(*, body: bytes, signature_header: str) -> bool:
    """``X-Signature: sha256=<hex HMAC-SHA256 of the raw body with the shared secret>``."""
    secret = settings.SMARTGATE_PAYMENT_SECRET
    if not secret or not signature_header.startswith("sha256=") or not signature_header.isascii():
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature_header.removeprefix("sha256="))


class PaymentRejected(DomainError):
    status = 422
    code = "payment_rejected"
    title = "Payment rejected"


def payment_record(*, provider_payment_id: str, reference: str, amount_vnd: Decimal, payload: dict) -> Payment:
    """Record a provider's confirmation. A replay of an accepted payment returns it and pays nothing
    more; an amount that does not match the fee is rejected, and the rejection is kept for the record.

    Raises PaymentRejected (422).
    """
    with transaction.atomic():
        accepted = Payment.objects.filter(
            provider_payment_id=provider_payment_id, status=Payment.Status.ACCEPTED
        ).first()
        if accepted is not None:
            return accepted
        fee = (
            Fee.objects.select_for_update()
            .select_related("declaration")
            .filter(declaration__reference=reference)
            .first()
        )
        if fee is None:
            problem = f"No fee has been issued for {reference}."
        elif fee.is_paid:
            problem = f"The fee of {reference} is already paid by another payment."
        elif amount_vnd != fee.amount_vnd:
            problem = f"Amount {amount_vnd} VND does not match the fee of {fee.amount_vnd} VND."
        else:
            try:
                with transaction.atomic():
                    payment = Payment.objects.create(
                        provider_payment_id=provider_payment_id,
                        fee=fee,
                        amount_vnd=amount_vnd,
                        status=Payment.Status.ACCEPTED,
                        payload=payload,
                    )
            except IntegrityError:  # the same callback arriving twice at once
                return Payment.objects.get(provider_payment_id=provider_payment_id, status=Payment.Status.ACCEPTED)
            fee.status, fee.paid_at = Fee.Status.PAID, timezone.now()
            fee.save(update_fields=["status", "paid_at"])
            audit_record(
                declaration=fee.declaration,
                actor=Actor.system("payment-provider"),
                event="fee_paid",
                data={"payment": provider_payment_id, "amount_vnd": int(amount_vnd)},
            )
            return payment
    Payment.objects.create(
        provider_payment_id=provider_payment_id,
        fee=fee,
        amount_vnd=amount_vnd,
        status=Payment.Status.REJECTED,
        detail=problem,
        payload=payload,
    )
    logger.warning("payment.rejected", extra={"payment": provider_payment_id, "detail": problem})
    raise PaymentRejected(problem)


def ticket_for(fee: Fee) -> dict:
    """The e-ticket of a paid fee: a signed token (what the QR code carries) and the QR image as SVG."""
    if not fee.is_paid:
        raise Conflict("The fee is not paid yet; the e-ticket comes with the payment.", code="fee_unpaid")
    payload = {
        "ref": fee.declaration.reference,
        "plate": fee.declaration.vehicle.normalized_plate,
        "amount": fee.amount_vnd,
        "paid": fee.paid_at.isoformat(),
    }
    token = signing.dumps(payload, salt=TICKET_SALT, compress=True)
    buffer = io.BytesIO()
    segno.make(token, error="m").save(buffer, kind="svg", scale=4)
    return {"payload": payload, "token": token, "qr_svg": buffer.getvalue().decode()}


def ticket_read(token: str) -> dict:
    """What a gate scanner reads from the QR code; raises signing.BadSignature for a forged ticket."""
    return signing.loads(token, salt=TICKET_SALT)
