"""The gate devices: plate reads at the barrier, movements, weighings and container handovers."""

from __future__ import annotations

from rest_framework import serializers

from clearance import gate_pass, identifiers
from clearance.api.serializers.common import AwareDateTimeField, StrictSerializer, identifier
from clearance.models import GateDecision, GatePass, OfflineDecision
from clearance.services.gate import MovementResult, Weighing
from clearance.services.offline import Reconciled
from clearance.tickets import MAX_TICKET_CHARS
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
    ticket = serializers.CharField(
        required=False,
        max_length=MAX_TICKET_CHARS,
        help_text="The e-ticket's QR payload as scanned (the `token` of GET declarations/{id}/ticket/), when the "
        "driver shows one. A forged, voided or already used ticket, or another vehicle's, holds the vehicle "
        "(ticket_invalid, ticket_void, ticket_replayed, ticket_not_for_vehicle).",
    )


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


# --- Signed gate passes and the offline decisions ----------------------------------------------------


class LaneQueryInput(StrictSerializer):
    lane = serializers.CharField(required=False, max_length=20, help_text="The device's own lane (the default).")


class RevocationsQueryInput(LaneQueryInput):
    since = AwareDateTimeField(
        required=False, help_text="The `next_since` of the previous answer; absent: every standing revocation."
    )


class PublicKeyOutput(serializers.Serializer):
    kid = serializers.CharField(help_text="The key id a pass or list names in its payload (`kid`).")
    alg = serializers.CharField()
    public_key = serializers.CharField(help_text="The 32-byte Ed25519 public key, base64url without padding.")
    signing = serializers.BooleanField(help_text="This key signs new passes; the others verify older ones.")


class PublicKeysOutput(serializers.Serializer):
    keys = PublicKeyOutput(many=True)


class GatePassOutput(serializers.ModelSerializer):
    declaration = serializers.IntegerField(source="declaration_id")
    reference = serializers.CharField(source="declaration.reference")
    plate = serializers.CharField(source="normalized_plate")
    route = serializers.CharField(source="route.code")
    lane = serializers.CharField(source="lane.code", allow_null=True, default=None, help_text="null: any lane.")
    token = serializers.CharField(
        help_text="`<payload>.<signature>`, base64url: the payload is canonical JSON (typ, pid, decl, ref, plate, "
        "route, dir, lane, nbf, exp as Unix seconds, kid, v), the signature Ed25519 over the payload's text."
    )

    class Meta:
        model = GatePass
        fields = [
            "id",
            "declaration",
            "reference",
            "plate",
            "route",
            "direction",
            "lane",
            "valid_from",
            "valid_until",
            "key_id",
            "token",
        ]


class GatePassesOutput(serializers.Serializer):
    lane = serializers.CharField()
    passes = GatePassOutput(many=True)


class RevocationOutput(serializers.ModelSerializer):
    gate_pass = serializers.IntegerField(source="id")
    declaration = serializers.IntegerField(source="declaration_id")
    plate = serializers.CharField(source="normalized_plate")
    reason = serializers.CharField(source="revoked_reason")

    class Meta:
        model = GatePass
        fields = ["gate_pass", "declaration", "plate", "revoked_at", "reason"]


class RevocationsOutput(serializers.Serializer):
    lane = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    next_since = serializers.DateTimeField(help_text="Send it as `since` next time.")
    revocations = RevocationOutput(many=True)
    signed = serializers.CharField(
        help_text="The same list signed (typ revocations: lane, iat, items [[pass id, plate, revoked at]]), "
        "which a device verifies before trusting it."
    )


class OfflineReadInput(StrictSerializer):
    decision_id = serializers.UUIDField(
        help_text="The controller's own id of the decision: uploads are idempotent by it."
    )
    plate = DevicePlateField()
    read_at = AwareDateTimeField()
    confidence = serializers.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1)
    decision = serializers.ChoiceField(choices=GateDecision.Decision.choices)
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=[*GateDecision.HoldReason.choices, *GateDecision.OfflineReason.choices]),
        max_length=20,
        default=list,
    )
    gate_pass = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=gate_pass.MAX_TOKEN_CHARS,
        help_text="The token of the pass the barrier opened on.",
    )

    def validate(self, data):
        if data["decision"] == GateDecision.Decision.OPEN and data["reasons"]:
            raise serializers.ValidationError(
                {"reasons": [serializers.ErrorDetail("An open has no hold reasons.", code="invalid")]}
            )
        if data["decision"] == GateDecision.Decision.HOLD and not data["reasons"]:
            raise serializers.ValidationError(
                {"reasons": [serializers.ErrorDetail("A hold names at least one reason.", code="required")]}
            )
        return data


class OfflineUploadInput(StrictSerializer):
    decisions = OfflineReadInput(many=True, allow_empty=False, max_length=500)


class OfflineResultOutput(serializers.Serializer):
    decision_id = serializers.UUIDField()
    outcome = serializers.ChoiceField(choices=OfflineDecision.Outcome.choices)
    conflict = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    declaration = serializers.IntegerField(allow_null=True)
    replayed = serializers.BooleanField(help_text="Uploaded before: the first upload's outcome, nothing changed.")

    def to_representation(self, result: Reconciled):
        offline = result.offline
        return super().to_representation(
            {
                "decision_id": offline.decision_id,
                "outcome": offline.outcome,
                "conflict": offline.conflict,
                "detail": offline.conflict_detail,
                "declaration": offline.declaration_id,
                "replayed": result.replayed,
            }
        )


class OfflineUploadOutput(serializers.Serializer):
    applied = serializers.IntegerField()
    conflicts = serializers.IntegerField()
    results = OfflineResultOutput(many=True)
