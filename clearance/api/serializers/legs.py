"""The legs of a crossing, in and out: declared with ``legs: [...]`` instead of ``vehicle`` and ``driver``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clearance.api.serializers.common import StrictSerializer
from clearance.api.serializers.parts import DriverInput, TrailerInput, VehicleInput
from clearance.models import CrossingLeg, HandoverMethod
from vehicles.models import Yard


def _error(message: str, code: str) -> list:
    return [serializers.ErrorDetail(message, code=code)]


def transfer_point_for_code(code: str) -> Yard:
    """The transfer yard or wharf a code names; a field error listing them otherwise."""
    yard = Yard.objects.filter(code=code, kind__in=Yard.TRANSFER_POINTS).first()
    if yard is None:
        known = ", ".join(
            Yard.objects.filter(kind__in=Yard.TRANSFER_POINTS).order_by("code").values_list("code", flat=True)
        )
        raise serializers.ValidationError(
            serializers.ErrorDetail(
                f"Unknown transfer point {code!r}; transfer yards and wharves: {known}.", code="unknown_transfer_point"
            )
        )
    return yard


class LegInput(StrictSerializer):
    """One vehicle's part of the crossing. Every leg but the last ends at a transfer point, where its
    containers are handed to the next leg's vehicle; the last leg crosses the border."""

    vehicle = VehicleInput()
    trailer = TrailerInput(required=False, allow_null=True, help_text="Only on the leg that crosses.")
    driver = DriverInput(required=False, help_text="Every vehicle but an autonomous one.")
    safety_driver = DriverInput(required=False, help_text="Aboard an autonomous vehicle (and only there).")
    transfer_point = serializers.CharField(
        max_length=40,
        required=False,
        help_text="Where this leg ends and hands its containers over: a transfer yard or wharf code, on every "
        "leg but the last (e.g. 1119-transfer-yard, bao-nguyen-wharf).",
    )
    handover_method = serializers.ChoiceField(
        choices=HandoverMethod.choices,
        required=False,
        help_text="How the containers change vehicle at the transfer point; by default from the place and the "
        "next vehicle (the crane at a wharf, else an autonomous vehicle or a truck).",
    )

    def validate_transfer_point(self, value):
        return transfer_point_for_code(value)

    def validate(self, attrs):
        autonomous = bool(attrs["vehicle"].get("is_autonomous"))
        errors = {}
        if autonomous:
            if "driver" in attrs:
                errors["driver"] = _error(
                    "An autonomous vehicle has no driver; name the safety driver aboard in safety_driver.",
                    "driver_for_autonomous",
                )
            if "safety_driver" not in attrs:
                errors["safety_driver"] = _error(
                    "An autonomous vehicle carries a safety driver: give their name and document.",
                    "safety_driver_required",
                )
        else:
            if "driver" not in attrs:
                errors["driver"] = _error("This field is required.", "required")
            if "safety_driver" in attrs:
                errors["safety_driver"] = _error(
                    "A safety driver is named only for an autonomous vehicle (vehicle.is_autonomous).",
                    "safety_driver_not_autonomous",
                )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def validate_legs(legs: list[dict], *, route) -> list[dict]:
    """The rules across legs: transfer points on every leg but the crossing one (serving the route), a
    trailer only on the crossing leg, a different vehicle on each leg. Fills the hand-over method."""
    errors = [{} for _leg in legs]
    last = len(legs) - 1
    for index, leg in enumerate(legs):
        point = leg.get("transfer_point")
        if index < last:
            if point is None:
                errors[index]["transfer_point"] = _error(
                    "Every leg but the last ends at a transfer point: give its code.", "transfer_point_required"
                )
            elif route is not None and point.route_id not in (None, route.id):
                errors[index]["transfer_point"] = _error(
                    f"{point.code} does not serve route {route.code}.", "transfer_point_not_on_route"
                )
            if leg.get("trailer") is not None:
                errors[index]["trailer"] = _error(
                    "A trailer is declared on the leg that crosses only.", "trailer_only_on_crossing_leg"
                )
            if point is not None and "handover_method" not in leg:
                following = legs[index + 1]["vehicle"]
                leg["handover_method"] = (
                    HandoverMethod.WHARF_CRANE
                    if point.kind == Yard.Kind.WHARF
                    else HandoverMethod.AUTONOMOUS_VEHICLE
                    if following.get("is_autonomous")
                    else HandoverMethod.TRUCK
                )
        elif point is not None:
            errors[index]["transfer_point"] = _error(
                "The last leg crosses the border; it has no transfer point.", "transfer_point_on_crossing_leg"
            )
        plate = leg["vehicle"]["plate"].normalized
        if any(plate == other["vehicle"]["plate"].normalized for other in legs[:index]):
            errors[index]["vehicle"] = _error(
                f"Vehicle {leg['vehicle']['plate'].display} carries another leg already; each leg has its own vehicle.",
                "same_vehicle_twice",
            )
    if any(errors):
        raise serializers.ValidationError(errors)
    return legs


# --- Output -------------------------------------------------------------------------------------


class LegVehicleOutput(serializers.Serializer):
    plate = serializers.CharField()
    country = serializers.CharField()
    is_autonomous = serializers.BooleanField()


class LegPersonOutput(serializers.Serializer):
    full_name = serializers.CharField()
    nationality = serializers.CharField()
    document_type = serializers.CharField()
    document_number = serializers.CharField()
    document_country = serializers.CharField()
    document_expires = serializers.DateField()


class LegOutput(serializers.ModelSerializer):
    leg = serializers.IntegerField(source="seq")
    vehicle = LegVehicleOutput(source="declared_vehicle")
    driver = LegPersonOutput(source="declared_driver", allow_null=True)
    safety_driver = LegPersonOutput(source="declared_safety_driver", allow_null=True)
    transfer_point = serializers.CharField(source="transfer_point.code", allow_null=True, default=None)
    transfer_point_kind = serializers.CharField(source="transfer_point.kind", allow_null=True, default=None)
    handover_method = serializers.CharField(allow_null=True)
    arrived_at = serializers.SerializerMethodField(
        help_text="At the transfer point (an earlier leg), or in the waiting yard (the crossing leg)."
    )
    crossed_at = serializers.SerializerMethodField(help_text="The crossing leg only.")

    class Meta:
        model = CrossingLeg
        fields = [
            "leg",
            "crosses",
            "vehicle",
            "driver",
            "safety_driver",
            "transfer_point",
            "transfer_point_kind",
            "handover_method",
            "arrived_at",
            "handed_over_at",
            "crossed_at",
        ]

    def to_representation(self, leg):
        data = super().to_representation(leg)
        data["handover_method"] = data["handover_method"] or None
        return data

    def _stamp(self, value):
        return serializers.DateTimeField().to_representation(value) if value else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_arrived_at(self, leg):
        return self._stamp(leg.declaration.arrived_at if leg.crosses else leg.arrived_at)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_crossed_at(self, leg):
        return self._stamp(leg.declaration.crossed_at if leg.crosses else None)
