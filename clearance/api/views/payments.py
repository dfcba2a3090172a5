"""The forwarder's e-ticket of a paid fee, and the payment provider's signed callback."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance import selectors
from clearance.api.openapi import problems
from clearance.api.parsers import BoundedJSONParser
from clearance.api.serializers.payments import PaymentCallbackInput, PaymentCallbackOutput, TicketOutput
from clearance.api.views.base import CompanyApi
from clearance.errors import DomainError
from clearance.services.fees import payment_record, signature_valid, ticket_for


class InvalidSignature(DomainError):
    status = 401
    code = "invalid_signature"
    title = "Invalid signature"


class TicketApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_ticket",
        summary="The e-ticket of a paid fee, with its QR code",
        responses={200: TicketOutput, **problems(401, 404, 409)},
    )
    def get(self, request, declaration_id: int):
        # One query: another company's declaration, or one without a fee, is 404 alike.
        fee = selectors.fee_for_ticket(company=self.company, declaration_id=declaration_id)
        return Response(TicketOutput({**ticket_for(fee), "amount_vnd": fee.amount_vnd}).data)


class PaymentCallbackApi(APIView):
    """``POST /api/v1/payments/callback/`` from the payment provider, signed with HMAC-SHA256 over the raw
    body with the shared secret: ``X-Signature: sha256=<hex>``. Bad signature → 401; a replayed payment →
    200 and nothing paid twice; an amount that does not match the fee → 422, kept for the record."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="payments_callback",
        summary="Payment provider's signed confirmation",
        auth=[],
        parameters=[
            OpenApiParameter(
                "X-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="sha256=<hex HMAC of the raw body>",
            )
        ],
        request=PaymentCallbackInput,
        responses={200: PaymentCallbackOutput, **problems(400, 401, 422)},
    )
    def post(self, request):
        # The signature covers the raw bytes: read them before anything parses the body.
        if not signature_valid(body=request.body, signature_header=request.headers.get("X-Signature", "")):
            raise InvalidSignature("The callback's X-Signature does not match its body.")
        serializer = PaymentCallbackInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # What is kept is what was validated, not the raw body (which may hold anything, \u0000 included).
        payment = payment_record(
            provider_payment_id=data["payment_id"],
            reference=data["reference"],
            amount_vnd=data["amount_vnd"],
            payload=PaymentCallbackInput(data).data,
        )
        return Response(PaymentCallbackOutput(payment).data)
