"""Declarations: declare, amend and cancel a crossing; the declaration and its audit trail as a forwarder
reads them."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clearance import disclosure
from clearance.api.serializers.checks import CheckOutput
from clearance.api.serializers.common import AwareDateTimeField, RouteCodeField, StrictSerializer, route_for_code
from clearance.api.serializers.inspections import InspectionOutput
from clearance.api.serializers.parts import (
    ContainerInput,
    ContainerOutput,
    CustomsDeclarationInput,
    CustomsDeclarationOutput,
    DriverInput,
    DriverOutput,
    GoodsLineInput,
    GoodsLineOutput,
    QuarantineCertificateInput,
    QuarantineCertificateOutput,
    TrailerInput,
    TrailerOutput,
    VehicleInput,
    VehicleOutput,
)
from clearance.api.serializers.payments import FeeOutput
from clearance.models import Declaration, DeclarationEvent
from vehicles.models import Direction

# --- Input --------------------------------------------------------------------------------------


class DeclarationInput(StrictSerializer):
    direction = serializers.ChoiceField(choices=Direction.choices)
    route = RouteCodeField(max_length=20)
    expected_arrival = AwareDateTimeField()
    customs_declarations = CustomsDeclarationInput(many=True, allow_empty=False, max_length=20)
    vehicle = VehicleInput()
    trailer = TrailerInput(required=False, allow_null=True)
    driver = DriverInput()
    containers = ContainerInput(many=True, required=False, max_length=10)
    goods = GoodsLineInput(many=True, allow_empty=False, max_length=100)
    quarantine_certificates = QuarantineCertificateInput(many=True, required=False, max_length=20)

    def validate_route(self, value):
        return route_for_code(value)

    def valid_parts(self) -> dict:
        """After a failed ``is_valid()``: the top-level fields that are valid on their own, validated, so
        the rules that need them can still be checked and reported in the same answer."""
        data = self.initial_data if isinstance(self.initial_data, dict) else {}
        parts = {}
        for name, field in self.fields.items():
            if name in self.errors or name not in data or field.read_only:
                continue
            try:
                value = field.run_validation(data[name])
                validator = getattr(self, f"validate_{name}", None)
                parts[name] = validator(value) if validator else value
            except (serializers.ValidationError, DjangoValidationError):
                continue
        return parts

    def validate_expected_arrival(self, value):
        if value > timezone.now() + timedelta(days=366):  # the service's own window is tighter still
            raise serializers.ValidationError(
                serializers.ErrorDetail("The expected arrival is more than a year ahead.", code="arrival_too_far")
            )
        return value

    def validate_containers(self, containers):
        seen = set()
        errors = []
        for container in containers:
            duplicate = container["number"] in seen
            seen.add(container["number"])
            errors.append(
                {
                    "number": [
                        serializers.ErrorDetail(
                            f"Container {container['number']} is listed twice.", code="duplicate_container"
                        )
                    ]
                }
                if duplicate
                else {}
            )
        if any(errors):
            raise serializers.ValidationError(errors)
        return containers

    def validate_customs_declarations(self, lines):
        numbers = [line["number"] for line in lines]
        errors = [
            {
                "number": [
                    serializers.ErrorDetail(f"Declaration {n} is listed twice.", code="duplicate_declaration_number")
                ]
            }
            if n in numbers[:index]
            else {}
            for index, n in enumerate(numbers)
        ]
        if any(errors):
            raise serializers.ValidationError(errors)
        return lines


class DeclarationAmendInput(DeclarationInput):
    """A PATCH: any amendable field; lists given replace the lists held."""

    def __init__(self, *args, **kwargs):
        # Not DRF's partial mode: it would reach into nested objects, and a vehicle, driver or goods line
        # sent in an amendment must be complete. Only the top-level fields become optional.
        super().__init__(*args, **kwargs)
        for name in ("direction", "route"):
            self.fields.pop(name)
        for field in self.fields.values():
            field.required = False

    def to_internal_value(self, data):
        if isinstance(data, dict):
            fixed = [name for name in ("direction", "route") if name in data]
            if fixed:
                raise serializers.ValidationError(
                    {
                        name: [
                            serializers.ErrorDetail(
                                f"{name} cannot be amended; cancel this crossing and declare a new one.",
                                code="not_amendable",
                            )
                        ]
                        for name in fixed
                    }
                )
            if not data:
                raise serializers.ValidationError(
                    {
                        "non_field_errors": [
                            serializers.ErrorDetail(
                                f"Send at least one of: {', '.join(Declaration.AMENDABLE_FIELDS)}.",
                                code="empty_amendment",
                            )
                        ]
                    }
                )
        return super().to_internal_value(data)


class CancelInput(StrictSerializer):
    reason = serializers.CharField(min_length=3, max_length=500)


# --- Output -------------------------------------------------------------------------------------


class DeclarationOutput(serializers.ModelSerializer):
    route = serializers.CharField(source="route.code")
    company = serializers.CharField(source="company.tax_code")
    # What was declared for this crossing (the shared registry may hold another company's later values).
    vehicle = VehicleOutput(source="declared_vehicle")
    trailer = TrailerOutput(source="declared_trailer", allow_null=True)
    driver = DriverOutput(source="declared_driver")
    customs_declarations = CustomsDeclarationOutput(many=True)
    containers = ContainerOutput(many=True)
    goods = GoodsLineOutput(many=True)
    quarantine_certificates = QuarantineCertificateOutput(many=True)
    channel = serializers.CharField(allow_null=True, help_text="Customs channel once customs has answered.")
    lane = serializers.CharField(source="lane.code", allow_null=True, help_text="The lane the vehicle is called to.")
    yard = serializers.CharField(source="yard.code", allow_null=True)
    slot_starts_at = serializers.DateTimeField(source="slot.starts_at", allow_null=True)
    queue_position = serializers.SerializerMethodField(help_text="1 = next to be called; null unless in a yard.")
    estimated_call_at = serializers.SerializerMethodField(
        help_text="When the vehicle should be called, at the lanes' current pace; null unless in a yard."
    )
    checks = serializers.SerializerMethodField(help_text="The checks of the current version.")
    fee = serializers.SerializerMethodField(help_text="The infrastructure-use fee once issued.")
    dwell_minutes = serializers.DictField(
        source="dwell_times", read_only=True, help_text="Minutes between the stages reached so far."
    )
    inspections = serializers.SerializerMethodField(help_text="Inspections of the current version.")

    class Meta:
        model = Declaration
        fields = [
            "id",
            "reference",
            "company",
            "status",
            "stage",
            "version",
            "needs_quarantine",
            "channel",
            "direction",
            "route",
            "expected_arrival",
            "customs_declarations",
            "vehicle",
            "trailer",
            "driver",
            "containers",
            "goods",
            "quarantine_certificates",
            "checks",
            "inspections",
            "slot_starts_at",
            "slot_moves",
            "yard",
            "queue_position",
            "estimated_call_at",
            "lane",
            "arrived_at",
            "called_at",
            "in_lane_at",
            "crossed_at",
            "dwell_minutes",
            "fee",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["channel"] = data["channel"] or None
        return data

    def _queue(self, declaration):
        return self.context.get("queue", {}).get(declaration.id, (None, None))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, declaration):
        return self._queue(declaration)[0]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_estimated_call_at(self, declaration):
        eta = self._queue(declaration)[1]
        return serializers.DateTimeField().to_representation(eta) if eta else None

    # One nested serializer per parent for the whole page (not one per row: building them was most of a
    # list's serialization).
    @cached_property
    def _fee_output(self) -> FeeOutput:
        return FeeOutput()

    @cached_property
    def _checks_output(self) -> serializers.ListSerializer:
        return CheckOutput(many=True)

    @cached_property
    def _inspections_output(self) -> serializers.ListSerializer:
        return InspectionOutput(many=True)

    @extend_schema_field(FeeOutput(allow_null=True))
    def get_fee(self, declaration):
        fee = getattr(declaration, "fee", None) if hasattr(declaration, "fee") else None
        return self._fee_output.to_representation(fee) if fee else None

    @extend_schema_field(CheckOutput(many=True))
    def get_checks(self, declaration):
        return self._checks_output.to_representation(
            [c for c in declaration.checks.all() if c.version == declaration.version]
        )

    @extend_schema_field(InspectionOutput(many=True))
    def get_inspections(self, declaration):
        return self._inspections_output.to_representation(
            [i for i in declaration.inspections.all() if i.version == declaration.version]
        )


class DeclarationEventOutput(serializers.ModelSerializer):
    """The audit trail as a forwarder sees it: officers' and workers' free-text reasons and the checks'
    detailed reasons stay internal (see FORWARDER_REASON_CODES)."""

    class Meta:
        model = DeclarationEvent
        fields = disclosure.EVENT_FIELDS

    def to_representation(self, event):
        data = super().to_representation(event)
        data["reason"] = disclosure.event_reason(event)
        data["data"] = disclosure.event_data(event)
        return data
