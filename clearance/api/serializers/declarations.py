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
from clearance.api.serializers.legs import LegInput, LegOutput, validate_legs
from clearance.api.serializers.parts import (
    ContainerInput,
    ContainerOutput,
    CustomsDeclarationInput,
    CustomsDeclarationOutput,
    DriverInput,
    DriverOutput,
    GoodsLineInput,
    GoodsLineOutput,
    HealthDeclarationInput,
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
    kind = serializers.ChoiceField(
        choices=Declaration.Kind.choices,
        required=False,
        help_text="cargo (the default) or empty_return: a truck going home empty, with no goods, customs "
        "declaration numbers, containers or certificates; only the border guard (and the health force in an "
        "epidemic period) check it, and it pays the empty-vehicle fee.",
    )
    direction = serializers.ChoiceField(choices=Direction.choices)
    route = RouteCodeField(max_length=20)
    expected_arrival = AwareDateTimeField()
    # Required (and not empty) for cargo, refused for an empty return: the schema shows them optional, and
    # __init__ makes them required for every declaration that is not an empty return.
    customs_declarations = CustomsDeclarationInput(many=True, required=False, max_length=20)
    # Required unless the crossing is declared in ``legs`` (then they are its crossing leg's): the schema
    # says so in words, the serializer requires them for a body without legs.
    vehicle = VehicleInput(required=False, help_text="Required unless the crossing is declared in legs.")
    trailer = TrailerInput(required=False, allow_null=True)
    driver = DriverInput(required=False, help_text="Required unless the crossing is declared in legs.")
    containers = ContainerInput(many=True, required=False, max_length=10)
    goods = GoodsLineInput(many=True, required=False, max_length=100)
    quarantine_certificates = QuarantineCertificateInput(many=True, required=False, max_length=20)
    health_declaration = HealthDeclarationInput(
        required=False,
        allow_null=True,
        help_text="The driver's and crew's health declaration: required while the province's epidemic period "
        "is in force on the arrival day (error required_in_epidemic_period), accepted at any time.",
    )
    legs = LegInput(
        many=True,
        required=False,
        min_length=2,
        max_length=2,
        help_text="A crossing in legs, instead of vehicle, trailer and driver: the vehicle that brings the "
        "containers to a transfer point, then the one that carries them across (its driver, or for an "
        "autonomous vehicle its safety driver, is the crossing's driver). Needs containers.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = getattr(self, "initial_data", None)
        # A loaded truck declares its goods and customs numbers; an empty one declares none (absent or empty
        # lists; the service refuses any that are sent: not_for_empty_return). One vehicle throughout needs
        # its vehicle and driver (in legs, the crossing leg's are the declaration's).
        # (Without data, as for the schema, all stay optional: the schema cannot say "required for cargo".)
        if isinstance(data, dict):
            cargo = data.get("kind") != Declaration.Kind.EMPTY_RETURN
            for name in ("goods", "customs_declarations"):
                self.fields[name].required = cargo
                self.fields[name].allow_empty = not cargo
            if "legs" not in data:
                self.fields["vehicle"].required = True
                self.fields["driver"].required = True

    def validate_route(self, value):
        return route_for_code(value)

    def validate(self, attrs):
        legs = attrs.get("legs")
        if legs is None:
            return attrs
        errors = {
            name: [
                serializers.ErrorDetail(
                    f"A crossing declared in legs names its {name} in its legs, not here.", code="legs_and_vehicle"
                )
            ]
            for name in ("vehicle", "trailer", "driver")
            if name in attrs
        }
        if not attrs.get("containers"):
            errors["containers"] = [
                serializers.ErrorDetail(
                    "A crossing in legs hands its containers over: list them.", code="containers_required"
                )
            ]
        if errors:
            raise serializers.ValidationError(errors)
        try:
            validate_legs(legs, route=attrs.get("route"))
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"legs": error.detail}) from None
        crossing = legs[-1]
        attrs["vehicle"] = crossing["vehicle"]
        attrs["driver"] = crossing.get("driver") or crossing["safety_driver"]
        if crossing.get("trailer") is not None:
            attrs["trailer"] = crossing["trailer"]
        return attrs

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
        for name in ("kind", "direction", "route", "legs"):
            self.fields.pop(name)
        for field in self.fields.values():
            field.required = False

    def to_internal_value(self, data):
        if isinstance(data, dict):
            fixed = [name for name in ("kind", "direction", "route", "legs") if name in data]
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
    smart_lane_eligible = serializers.BooleanField(
        help_text="Whether the goods may be called to a smart lane; when not, the vehicle is called only to a "
        "traditional lane, and smart_lane_reason says why."
    )
    smart_lane_reason = serializers.CharField(help_text="Why the crossing may not use a smart lane; empty if it may.")
    health_declaration = serializers.JSONField(
        allow_null=True, help_text="The driver's and crew's health declaration as sent, or null."
    )
    legs = LegOutput(
        many=True, help_text="A crossing declared in legs: each vehicle's part, the crossing one last; else empty."
    )
    handover_status = serializers.ChoiceField(
        choices=Declaration.HandoverStatus.choices,
        help_text="A crossing in legs: awaiting, matched, or mismatch (the onward vehicle held); empty otherwise.",
    )

    class Meta:
        model = Declaration
        fields = [
            "id",
            "reference",
            "company",
            "kind",
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
            "health_declaration",
            "checks",
            "inspections",
            "smart_lane_eligible",
            "smart_lane_reason",
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
            "legs",
            "handover_status",
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
