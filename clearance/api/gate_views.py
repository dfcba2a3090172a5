"""Endpoints of the gate devices, the officers' inspection results, the payment provider's callback and
the forwarder's e-ticket."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance import selectors
from clearance.api import gate_serializers as g
from clearance.api.authentication import DeviceAPIKeyAuthentication
from clearance.api.parsers import BoundedJSONParser
from clearance.api.views import CompanyApi, problems
from clearance.errors import DomainError
from clearance.models import Declaration, Fee
from clearance.services.fees import payment_record, signature_valid, ticket_for
from clearance.services.gate import gate_decide, gate_movement_record, handover_record, weighbridge_record
from clearance.services.inspections import inspection_record_result
from vehicles.models import GateDevice


class DeviceKindPermission(BasePermission):
    message = "This device cannot call this endpoint."

    def has_permission(self, request, view) -> bool:
        return request.user.device.kind in view.device_kinds


class DeviceApi(APIView):
    authentication_classes = [DeviceAPIKeyAuthentication]
    permission_classes = [IsAuthenticated, DeviceKindPermission]
    throttle_classes = []  # devices are ours; the barrier must never wait on a throttle
    parser_classes = [BoundedJSONParser]
    device_kinds: set[str] = set()

    @property
    def device(self) -> GateDevice:
        return self.request.user.device

    def ensure_own_place(self, data: dict) -> None:
        """A device acts only for its own lane or yard: naming another one is refused (403)."""
        place = data.get("lane") or data.get("yard")
        own = self.device.lane.code if self.device.lane_id else self.device.yard.code
        if place is not None and place != own:
            raise exceptions.PermissionDenied(f"This device is at {own}; it cannot act for {place}.")

    def parse(self, serializer_class):
        data = self.request.data
        if isinstance(data, dict):
            self.ensure_own_place(data)
            data = {key: value for key, value in data.items() if key not in ("lane", "yard")}
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class GateReadApi(DeviceApi):
    device_kinds = {GateDevice.Kind.LANE_GATE}

    @extend_schema(
        operation_id="gate_reads",
        summary="A plate read at a lane barrier: open or hold",
        request=g.PlateReadInput,
        responses={200: g.GateDecisionOutput, **problems(400, 401, 403, 413)},
    )
    def post(self, request):
        data = self.parse(g.PlateReadInput)
        decision = gate_decide(
            device=self.device, plate=data["plate"], read_at=data["read_at"], confidence=data["confidence"]
        )
        return Response(g.GateDecisionOutput(decision).data)


class GateMovementApi(DeviceApi):
    device_kinds = {GateDevice.Kind.YARD_GATE, GateDevice.Kind.BORDER_LINE}

    @extend_schema(
        operation_id="gate_movements",
        summary="A movement seen at a yard gate or the border line",
        request=g.MovementInput,
        responses={200: g.MovementOutput, **problems(400, 401, 403, 409, 413)},
    )
    def post(self, request):
        data = self.parse(g.MovementInput)
        result = gate_movement_record(
            device=self.device, plate=data["plate"], kind=data["kind"], occurred_at=data["occurred_at"]
        )
        declaration = result.declaration
        return Response(
            g.MovementOutput(
                {
                    "recorded": True,
                    "declaration": declaration.id if declaration else None,
                    "reference": declaration.reference if declaration else None,
                    "stage": declaration.stage if declaration else None,
                    "unmatched": result.unmatched is not None,
                }
            ).data
        )


class GateWeightApi(DeviceApi):
    device_kinds = {GateDevice.Kind.WEIGHBRIDGE}

    @extend_schema(
        operation_id="gate_weights",
        summary="A weighbridge measurement",
        request=g.WeightInput,
        responses={200: g.WeightOutput, **problems(400, 401, 403, 413)},
    )
    def post(self, request):
        data = self.parse(g.WeightInput)
        result = weighbridge_record(
            device=self.device,
            plate=data["plate"],
            gross_weight_kg=data["gross_weight_kg"],
            measured_at=data["measured_at"],
        )
        declaration = result.declaration
        return Response(
            g.WeightOutput(
                {
                    "declaration": declaration.id if declaration else None,
                    "within_tolerance": result.within_tolerance,
                    "declared_kg": result.declared_kg,
                    "status": declaration.status if declaration else None,
                }
            ).data
        )


class GateHandoverApi(DeviceApi):
    device_kinds = {GateDevice.Kind.YARD_GATE}

    @extend_schema(
        operation_id="gate_handovers",
        summary="Containers handed over to an autonomous vehicle",
        request=g.HandoverInput,
        responses={200: g.HandoverOutput, **problems(400, 401, 403, 409, 413)},
    )
    def post(self, request):
        data = self.parse(g.HandoverInput)
        handover = handover_record(
            device=self.device,
            plate=data["plate"],
            from_plate=data["from_plate"],
            containers=data["containers"],
            occurred_at=data["occurred_at"],
        )
        return Response(g.HandoverOutput(handover).data)


class PaymentCallbackOutput(serializers.Serializer):
    payment = serializers.CharField()
    status = serializers.CharField()
    received_at = serializers.DateTimeField()


class InspectionResultApi(APIView):
    """Officers record results with their token (``Authorization: Token <token>``) or admin session."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="inspections_result",
        summary="Record an inspection's result (officers)",
        request=g.InspectionResultInput,
        responses={200: g.InspectionResultOutput, **problems(400, 401, 403, 404, 409)},
    )
    def post(self, request, inspection_id: int):
        serializer = g.InspectionResultInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        inspection = inspection_record_result(
            inspection_id=inspection_id,
            user=request.user,
            passed=serializer.validated_data["result"] == "pass",
            notes=serializer.validated_data["notes"],
        )
        declaration = Declaration.objects.get(id=inspection.declaration_id)
        return Response(
            {
                "inspection": inspection.id,
                "status": inspection.status,
                "declaration": declaration.id,
                "declaration_status": declaration.status,
            }
        )


class TicketApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_ticket",
        summary="The e-ticket of a paid fee, with its QR code",
        responses={200: g.TicketOutput, **problems(401, 404, 409)},
    )
    def get(self, request, declaration_id: int):
        declaration = selectors.declaration_get(company=self.company, declaration_id=declaration_id)
        fee = Fee.objects.filter(declaration=declaration).select_related("declaration__vehicle").first()
        if fee is None:
            raise exceptions.NotFound()
        return Response(g.TicketOutput({**ticket_for(fee), "amount_vnd": fee.amount_vnd}).data)


class InvalidSignature(DomainError):
    status = 401
    code = "invalid_signature"
    title = "Invalid signature"


class PaymentCallbackInput(serializers.Serializer):
    payment_id = serializers.CharField(max_length=100)
    reference = serializers.CharField(max_length=20, help_text="The declaration's reference, e.g. SG-2026-000123.")
    amount_vnd = serializers.DecimalField(max_digits=15, decimal_places=0, min_value=0)
    paid_at = serializers.DateTimeField(required=False)


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
        return Response(
            {"payment": payment.provider_payment_id, "status": payment.status, "received_at": payment.received_at}
        )
