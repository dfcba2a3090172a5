"""The gate devices' endpoints: each device acts only for its own lane or yard."""

from __future__ import annotations

from datetime import UTC

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance import selectors
from clearance.api.authentication import DeviceAPIKeyAuthentication
from clearance.api.openapi import problems
from clearance.api.parsers import BoundedJSONParser
from clearance.api.serializers.gate import (
    GateDecisionOutput,
    GatePassesOutput,
    HandoverInput,
    HandoverOutput,
    LaneQueryInput,
    MovementInput,
    MovementOutput,
    OfflineUploadInput,
    OfflineUploadOutput,
    PlateReadInput,
    PublicKeysOutput,
    RevocationsOutput,
    RevocationsQueryInput,
    WeightInput,
    WeightOutput,
)
from clearance.audit import Actor
from clearance.models import OfflineDecision
from clearance.services.gate import gate_decide, gate_movement_record, weighbridge_record
from clearance.services.legs import handover_record
from clearance.services.offline import OfflineRead, offline_decisions_upload
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

    def parse_query(self, serializer_class):
        query = self.request.query_params.dict()
        self.ensure_own_place(query)
        serializer = serializer_class(data=query)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class GateReadApi(DeviceApi):
    device_kinds = {GateDevice.Kind.LANE_GATE}

    @extend_schema(
        operation_id="gate_reads",
        summary="A plate read at a lane barrier: open or hold",
        request=PlateReadInput,
        responses={200: GateDecisionOutput, **problems(400, 401, 403, 413)},
    )
    def post(self, request):
        data = self.parse(PlateReadInput)
        decision = gate_decide(
            device=self.device,
            plate=data["plate"],
            read_at=data["read_at"],
            confidence=data["confidence"],
            ticket=data.get("ticket"),
        )
        return Response(gate_decision_data(decision))


def gate_decision_data(decision) -> dict:
    """``GateDecisionOutput`` (the schema's source) by hand: the barrier's answer is on the hot path, and
    DRF's serializer machinery cost as much as the rest of the view (tests/clearance/test_gate_decision.py
    holds the two equal)."""
    declaration = decision.declaration if decision.declaration_id is not None else None
    return {
        "decision": decision.decision,
        "reasons": list(decision.reasons),
        "declaration": decision.declaration_id,
        "reference": declaration.reference if declaration is not None else None,
        "decision_id": decision.id,
    }


class GateMovementApi(DeviceApi):
    device_kinds = {GateDevice.Kind.YARD_GATE, GateDevice.Kind.BORDER_LINE}

    @extend_schema(
        operation_id="gate_movements",
        summary="A movement seen at a yard gate or the border line",
        request=MovementInput,
        responses={200: MovementOutput, **problems(400, 401, 403, 409, 413)},
    )
    def post(self, request):
        data = self.parse(MovementInput)
        result = gate_movement_record(
            device=self.device, plate=data["plate"], kind=data["kind"], occurred_at=data["occurred_at"]
        )
        return Response(MovementOutput(result).data)


class GateWeightApi(DeviceApi):
    device_kinds = {GateDevice.Kind.WEIGHBRIDGE}

    @extend_schema(
        operation_id="gate_weights",
        summary="A weighbridge measurement",
        request=WeightInput,
        responses={200: WeightOutput, **problems(400, 401, 403, 413)},
    )
    def post(self, request):
        data = self.parse(WeightInput)
        weighing = weighbridge_record(
            device=self.device,
            plate=data["plate"],
            gross_weight_kg=data["gross_weight_kg"],
            measured_at=data["measured_at"],
        )
        return Response(WeightOutput(weighing).data)


class GateHandoverApi(DeviceApi):
    device_kinds = {GateDevice.Kind.YARD_GATE}

    @extend_schema(
        operation_id="gate_handovers",
        summary="Containers handed over at a transfer point to the vehicle that carries them on",
        request=HandoverInput,
        responses={200: HandoverOutput, **problems(400, 401, 403, 409, 413)},
    )
    def post(self, request):
        data = self.parse(HandoverInput)
        handover = handover_record(
            yard=self.device.yard,
            device=self.device,
            actor=Actor.for_device(self.device),
            plate=data["plate"],
            from_plate=data["from_plate"],
            containers=data["containers"],
            occurred_at=data["occurred_at"],
        )
        return Response(HandoverOutput(handover).data)


class GateKeysApi(APIView):
    """Public: the centre's gate-pass public keys by key id. A lane device keeps them to verify passes
    and revocation lists while the centre is unreachable."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="gate_keys",
        summary="The gate-pass public keys, by key id (public)",
        auth=[],
        responses={200: PublicKeysOutput},
    )
    def get(self, request):
        return Response(PublicKeysOutput({"keys": selectors.gate_pass_public_keys()}).data)


class GatePassesApi(DeviceApi):
    device_kinds = {GateDevice.Kind.LANE_GATE}

    @extend_schema(
        operation_id="gate_passes",
        summary="The signed gate passes of the vehicles called to this lane",
        parameters=[LaneQueryInput],
        responses={200: GatePassesOutput, **problems(400, 401, 403)},
    )
    def get(self, request):
        self.parse_query(LaneQueryInput)
        lane = self.device.lane
        with timezone.override(UTC):
            data = GatePassesOutput({"lane": lane.code, "passes": selectors.gate_passes_for_lane(lane=lane)}).data
        return Response(data)


class GateRevocationsApi(DeviceApi):
    device_kinds = {GateDevice.Kind.LANE_GATE}

    @extend_schema(
        operation_id="gate_revocations",
        summary="The gate passes of this lane withdrawn since a time, signed",
        parameters=[RevocationsQueryInput],
        responses={200: RevocationsOutput, **problems(400, 401, 403)},
    )
    def get(self, request):
        query = self.parse_query(RevocationsQueryInput)
        listing = selectors.gate_revocations_for_lane(lane=self.device.lane, since=query.get("since"))
        with timezone.override(UTC):
            data = RevocationsOutput(listing).data
        return Response(data)


class GateOfflineUploadApi(DeviceApi):
    device_kinds = {GateDevice.Kind.LANE_GATE}

    @extend_schema(
        operation_id="gate_reads_offline",
        summary="Upload the barrier decisions the lane took while the centre was unreachable",
        request=OfflineUploadInput,
        responses={200: OfflineUploadOutput, **problems(400, 401, 403, 409, 413)},
    )
    def post(self, request):
        data = self.parse(OfflineUploadInput)
        results = offline_decisions_upload(
            device=self.device, reads=[OfflineRead(**item) for item in data["decisions"]]
        )
        outcomes = [result.offline.outcome for result in results]
        return Response(
            OfflineUploadOutput(
                {
                    "applied": outcomes.count(OfflineDecision.Outcome.APPLIED),
                    "conflicts": outcomes.count(OfflineDecision.Outcome.CONFLICT),
                    "results": results,
                }
            ).data
        )
