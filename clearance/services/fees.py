"""The infrastructure-use fee: issued by hand when the clearance found no tariff, paid through a
provider, shown as an e-ticket whose QR code the gate scans. The computation is in
clearance.services.tariffs; the fee issued with a clearance is the lifecycle's."""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
from decimal import Decimal

import segno
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from clearance.audit import Actor
from clearance.errors import Conflict, DomainError
from clearance.models import Declaration, Fee, GateDecision, Payment
from clearance.services import lifecycle
from clearance.services.tariffs import fee_create
from clearance.tickets import ticket_payload, ticket_token
from vehicles.compiled import CompiledQuery

logger = logging.getLogger(__name__)
PAYMENT_PROVIDER = Actor.system("payment-provider")


@transaction.atomic
def fee_issue(*, declaration_id: int, actor: Actor, journey: str | None = None) -> Fee:
    """Issue the crossing's fee under the tariff in force today (an officer's hand when the clearance
    found no tariff). Idempotent: an issued fee is returned unchanged (it keeps its tariff).

    Raises TariffMissing (409)."""
    declaration = Declaration.objects.select_for_update().select_related("vehicle").get(id=declaration_id)
    fee, created = fee_create(declaration=declaration, journey=journey)
    if created:
        lifecycle.fee_issued(declaration=declaration, fee=fee, actor=actor)
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


# The callback's two reads, compiled once (vehicles.compiled): every crossing's fee is paid through here.
_ACCEPTED_PAYMENT = CompiledQuery(
    lambda provider_payment_id: Payment.objects.filter(
        provider_payment_id=provider_payment_id, status=Payment.Status.ACCEPTED
    ).order_by("pk")[:1],
    provider_payment_id=str,
)
_FEE_LOCKED = CompiledQuery(
    lambda reference: (
        Fee.objects.select_for_update()
        .select_related("declaration")
        .filter(declaration__reference=reference)
        .order_by("pk")[:1]
    ),
    reference=str,
)


def payment_record(*, provider_payment_id: str, reference: str, amount_vnd: Decimal, payload: dict) -> Payment:
    """Record a provider's confirmation. A replay of an accepted payment returns it and pays nothing
    more; an amount that does not match the fee is rejected, and the rejection is kept for the record.

    Raises PaymentRejected (422).
    """
    with transaction.atomic():
        accepted = _ACCEPTED_PAYMENT.first(provider_payment_id=provider_payment_id)
        if accepted is not None:
            return accepted
        fee = _FEE_LOCKED.first(reference=reference)
        if fee is None:
            problem = f"No fee has been issued for {reference}."
        elif fee.status in (Fee.Status.VOIDED, Fee.Status.REFUND_DUE):
            problem = f"The crossing {reference} was cancelled; its fee can no longer be paid."
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
            lifecycle.fee_paid(
                declaration=fee.declaration,
                actor=PAYMENT_PROVIDER,
                payment_id=provider_payment_id,
                amount_vnd=int(amount_vnd),
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
    if fee.status in (Fee.Status.VOIDED, Fee.Status.REFUND_DUE):
        raise TicketVoid(f"The crossing {fee.declaration.reference} was cancelled: its e-ticket is void.")
    if not fee.is_paid:
        raise Conflict("The fee is not paid yet; the e-ticket comes with the payment.", code="fee_unpaid")
    payload = {
        "ref": fee.declaration.reference,
        "plate": fee.declaration.vehicle.normalized_plate,
        "amount": fee.amount_vnd,
        "paid": fee.paid_at.isoformat(),
    }
    token = ticket_token(payload)
    buffer = io.BytesIO()
    segno.make(token, error="m").save(buffer, kind="svg", scale=4)
    return {"payload": payload, "token": token, "qr_svg": buffer.getvalue().decode()}


class TicketVoid(Conflict):
    code = GateDecision.HoldReason.TICKET_VOID  # the same words at the barrier and to the forwarder


class TicketInvalid(DomainError):
    status = 400
    code = GateDecision.HoldReason.TICKET_INVALID
    title = "Invalid ticket"


def ticket_read(token: str) -> dict:
    """What a gate scanner reads from the QR code. Raises TicketInvalid (400) for a forged ticket and
    TicketVoid (409) for the ticket of a cancelled crossing, whose fee is void or owed back."""
    payload = ticket_payload(token)
    if payload is None:
        raise TicketInvalid("The ticket's signature does not verify: it was not issued by the centre.")
    if not Fee.objects.filter(declaration__reference=payload.get("ref"), status=Fee.Status.PAID).exists():
        raise TicketVoid(f"The ticket of {payload.get('ref')} is void: its crossing was cancelled.")
    return payload
