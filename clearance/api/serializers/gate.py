"""The gate devices: plate reads at the barrier, movements, weighings and container handovers."""

from __future__ import annotations

from rest_framework import serializers

from clearance import identifiers
from clearance.api.serializers.common import AwareDateTimeField, StrictSerializer, identifier
from clearance.models import GateDecision
from clearance.services.gate import MovementResult, Weighing
from vehicles.models import Movement
from vehicles.plates import normalize_plate


class DevicePlateField(serializers.CharField):
    """A plate as a camera read it: anything that normalizes to letters and digits (it is matched, not
    validated: an unknown plate must still be recorded)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=20, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not 1 <= len(normalize_plate(value)) <= 20:
            raise serializers.ValidationError(
                serializers.ErrorDetail(
                    "A plate read is 1–20 letters and digits once separators are removed.", code="invalid_plate"
                )
            )
        return value


class PlateReadInput(StrictSerializer):
    plate = DevicePlateField()
    read_at = AwareDateTimeField()
    confidence = serializers.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1)


class GateDecisionOutput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=GateDecision.Decision.values)
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=GateDecision.HoldReason.choices))
    declaration = serializers.IntegerField(source="declaration_id", allow_null=True)
    reference = serializers.CharField(source="declaration.reference", allow_null=True, default=None)
    decision_id = serializers.IntegerField(source="id")


# What the yard-gate and border-line cameras report; lane entry is the barrier's plate read, and weighing
# the weighbridge's.
DEVICE_MOVEMENTS = [Movement.Kind.YARD_IN, Movement.Kind.YARD_OUT, Movement.Kind.BORDER_OUT, Movement.Kind.BORDER_IN]


class MovementInput(StrictSerializer):
    plate = DevicePlateField()
    kind = serializers.ChoiceField(choices=DEVICE_MOVEMENTS)
    occurred_at = AwareDateTimeField()


class MovementOutput(serializers.Serializer):
    recorded = serializers.BooleanField()
    declaration = serializers.IntegerField(allow_null=True)
    reference = serializers.CharField(allow_null=True)
    stage = serializers.CharField(allow_null=True)
    unmatched = serializers.BooleanField(help_text="No active declaration matched the plate; kept for officers.")

    def to_representation(self, result: MovementResult):
        declaration = result.declaration
        return super().to_representation(
            {
                "recorded": True,
                "declaration": declaration.id if declaration else None,
                "reference": declaration.reference if declaration else None,
                "stage": declaration.stage if declaration else None,
                "unmatched": result.unmatched is not None,
            }
        )


class WeightInput(StrictSerializer):
    plate = DevicePlateField()
    gross_weight_kg = serializers.IntegerField(min_value=100, max_value=200_000)
    measured_at = AwareDateTimeField()


class WeightOutput(serializers.Serializer):
    declaration = serializers.IntegerField(allow_null=True)
    within_tolerance = serializers.BooleanField(allow_null=True)
    declared_kg = serializers.DecimalField(max_digits=12, decimal_places=3, allow_null=True)
    status = serializers.CharField(allow_null=True)

    def to_representation(self, weighing: Weighing):
        declaration = weighing.declaration
        return super().to_representation(
            {
                "declaration": declaration.id if declaration else None,
                "within_tolerance": weighing.within_tolerance,
                "declared_kg": weighing.declared_kg,
                "status": declaration.status if declaration else None,
            }
        )


class HandoverInput(StrictSerializer):
    plate = DevicePlateField(help_text="The vehicle the containers were handed to (it carries them across).")
    from_plate = DevicePlateField(help_text="The vehicle that brought the containers to the transfer point.")
    containers = serializers.ListField(child=serializers.CharField(max_length=20), allow_empty=False, max_length=10)
    occurred_at = AwareDateTimeField()

    def validate_containers(self, numbers):
        return [identifier(identifiers.container_number, number) for number in numbers]


class HandoverOutput(serializers.Serializer):
    declaration = serializers.IntegerField(source="declaration_id")
    leg = serializers.IntegerField(
        source="leg.seq", allow_null=True, default=None, help_text="The leg that handed over (a crossing in legs)."
    )
    matched = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField())
    unexpected = serializers.ListField(child=serializers.CharField())
    wrong_vehicle = serializers.BooleanField(help_text="Brought by another vehicle than the leg's declared one.")
    held = serializers.SerializerMethodField(
        help_text="The onward vehicle is held (reason handover_mismatch) until a hand-over matches."
    )

    def get_held(self, handover) -> bool:
        return not handover.matched
