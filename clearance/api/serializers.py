"""Input serializers check the shape and format of what a forwarder sends; output serializers render.

Rules that need the clock, the gate's settings or other crossings live in the services.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clearance import identifiers
from clearance.models import (
    ArrivalSlot,
    Check,
    Container,
    CustomsDeclaration,
    Declaration,
    DeclarationEvent,
    Fee,
    GoodsLine,
    Inspection,
    QuarantineCertificate,
)
from vehicles.models import Direction, Driver, Route, Vehicle
from vehicles.plates import Country, parse_plate

# Fields of the representation a forwarder can never set.
SERVER_FIELDS = {
    "id",
    "reference",
    "status",
    "stage",
    "version",
    "needs_quarantine",
    "company",
    "created_at",
    "updated_at",
    "lane",
    "channel",
    "checks",
    "inspections",
    "yard",
    "queue_position",
    "estimated_call_at",
    "slot_starts_at",
    "slot_moves",
    "arrived_at",
    "called_at",
    "in_lane_at",
    "crossed_at",
    "fee",
    "dwell_minutes",
}


def _django_to_drf(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError([serializers.ErrorDetail(m, code=error.code) for m in error.messages])


def identifier(validator, value, **kwargs):
    try:
        return validator(value, **kwargs)
    except DjangoValidationError as error:
        raise _django_to_drf(error) from None


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, naming them, instead of silently dropping them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name in data:
                if name in self.fields and not self.fields[name].read_only:
                    continue
                if name in SERVER_FIELDS:
                    errors[name] = [
                        serializers.ErrorDetail(
                            f"{name} is set by smartgate and cannot be sent.", code="read_only_field"
                        )
                    ]
                else:
                    accepted = ", ".join(n for n, f in self.fields.items() if not f.read_only)
                    errors[name] = [
                        serializers.ErrorDetail(
                            f"Unknown field {name!r}; accepted fields: {accepted}.", code="unknown_field"
                        )
                    ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class VehicleInput(StrictSerializer):
    plate = serializers.CharField(max_length=20)
    country = serializers.ChoiceField(choices=Country.CHOICES)
    max_gross_weight_kg = serializers.IntegerField(min_value=1000, max_value=100_000)
    permit_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    permit_expires = serializers.DateField(required=False, allow_null=True, default=None)
    vehicle_class = serializers.ChoiceField(choices=Vehicle.Class.choices, required=False)
    is_autonomous = serializers.BooleanField(required=False)

    def validate(self, attrs):
        try:
            attrs["plate"] = parse_plate(attrs["plate"], country=attrs.pop("country"))
        except DjangoValidationError as error:
            raise serializers.ValidationError({"plate": _django_to_drf(error).detail}) from None
        return attrs


class TrailerInput(StrictSerializer):
    plate = serializers.CharField(max_length=20)
    country = serializers.ChoiceField(choices=Country.CHOICES)

    def validate(self, attrs):
        try:
            return {"plate": parse_plate(attrs["plate"], country=attrs["country"], trailer=True)}
        except DjangoValidationError as error:
            raise serializers.ValidationError({"plate": _django_to_drf(error).detail}) from None


class DriverInput(StrictSerializer):
    full_name = serializers.CharField(min_length=2, max_length=150)
    nationality = serializers.CharField(max_length=2)
    document_type = serializers.ChoiceField(choices=Driver.DocumentType.choices)
    document_number = serializers.RegexField(
        r"^[A-Z0-9]{5,20}$",
        max_length=20,
        error_messages={"invalid": "A document number is 5–20 capital letters and digits, e.g. C1234567."},
    )
    document_country = serializers.CharField(
        max_length=2, required=False, help_text="Issuing country; the nationality when absent."
    )
    document_expires = serializers.DateField()

    def validate_nationality(self, value):
        return identifier(identifiers.country_code, value)

    def validate_document_country(self, value):
        return identifier(identifiers.country_code, value)


class CustomsDeclarationInput(StrictSerializer):
    number = serializers.CharField(max_length=20)
    type = serializers.CharField(max_length=3)

    def validate_number(self, value):
        return identifier(identifiers.customs_declaration_number, value)

    def validate_type(self, value):
        return identifier(identifiers.customs_declaration_type, value)


class ContainerInput(StrictSerializer):
    number = serializers.CharField(max_length=20)
    size = serializers.ChoiceField(
        choices=identifiers.CONTAINER_SIZES, error_messages={"invalid_choice": "Container size is 20, 40 or 45 (feet)."}
    )
    seals = serializers.ListField(
        child=serializers.RegexField(
            r"^[A-Z0-9\-]{3,20}$",
            error_messages={"invalid": "A seal number is 3–20 capital letters, digits or hyphens."},
        ),
        max_length=10,
        required=False,
        default=list,
    )

    def validate_number(self, value):
        return identifier(identifiers.container_number, value)


class GoodsLineInput(StrictSerializer):
    hs_code = serializers.CharField(max_length=10)
    description = serializers.CharField(min_length=1, max_length=500)
    quantity = serializers.DecimalField(
        max_digits=15, decimal_places=3, min_value=Decimal("0.001"), max_value=Decimal("999999999")
    )
    unit = serializers.RegexField(
        r"^[A-Z0-9]{2,3}$",
        error_messages={"invalid": "A unit is a UN/ECE Recommendation 20 code, e.g. KGM, TNE, PCE, CT."},
    )
    gross_weight_kg = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal("0.001"), max_value=Decimal("100000")
    )
    value = serializers.DecimalField(
        max_digits=17, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("100000000000")
    )
    currency = serializers.CharField(max_length=3)
    origin_country = serializers.CharField(max_length=2)

    def validate_hs_code(self, value):
        return identifier(identifiers.hs_code, value)

    def validate_currency(self, value):
        return identifier(identifiers.currency_code, value)

    def validate_origin_country(self, value):
        return identifier(identifiers.country_code, value)


class QuarantineCertificateInput(StrictSerializer):
    number = serializers.RegexField(
        r"^[A-Za-z0-9/\-]{3,40}$",
        error_messages={
            "invalid": "A certificate number is 3–40 letters, digits, hyphens or slashes, e.g. KD-2026-001234."
        },
    )
    issued_on = serializers.DateField()
    expires_on = serializers.DateField()

    def validate(self, attrs):
        if attrs["expires_on"] < attrs["issued_on"]:
            raise serializers.ValidationError(
                {
                    "expires_on": serializers.ErrorDetail(
                        "A certificate cannot expire before it is issued.", code="expiry_before_issue"
                    )
                }
            )
        return attrs


class DeclarationInput(StrictSerializer):
    direction = serializers.ChoiceField(choices=Direction.choices)
    route = serializers.CharField(max_length=20)
    expected_arrival = serializers.DateTimeField()
    customs_declarations = CustomsDeclarationInput(many=True, allow_empty=False, max_length=20)
    vehicle = VehicleInput()
    trailer = TrailerInput(required=False, allow_null=True)
    driver = DriverInput()
    containers = ContainerInput(many=True, required=False, max_length=10)
    goods = GoodsLineInput(many=True, allow_empty=False, max_length=100)
    quarantine_certificates = QuarantineCertificateInput(many=True, required=False, max_length=20)

    def validate_route(self, value):
        route = Route.objects.select_related("gate").filter(code=value).first()
        if route is None:
            known = ", ".join(Route.objects.order_by("code").values_list("code", flat=True))
            raise serializers.ValidationError(
                serializers.ErrorDetail(f"Unknown route {value!r}; routes: {known}.", code="unknown_route")
            )
        return route

    def validate_expected_arrival(self, value):
        raw = self.initial_data.get("expected_arrival") if isinstance(self.initial_data, dict) else None
        if isinstance(raw, str) and not re.search(r"(Z|[+-]\d{2}:?\d{2})$", raw):
            raise serializers.ValidationError(
                serializers.ErrorDetail(
                    "Give the time with its UTC offset, e.g. 2026-11-22T08:00:00+07:00.", code="timezone_required"
                )
            )
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


AMENDABLE = (
    "expected_arrival",
    "vehicle",
    "trailer",
    "driver",
    "containers",
    "goods",
    "customs_declarations",
    "quarantine_certificates",
)


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
                                f"Send at least one of: {', '.join(AMENDABLE)}.", code="empty_amendment"
                            )
                        ]
                    }
                )
        return super().to_internal_value(data)


class CancelInput(StrictSerializer):
    reason = serializers.CharField(min_length=3, max_length=500)


# --- Output -------------------------------------------------------------------------------------


class VehicleOutput(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = [
            "plate",
            "normalized_plate",
            "country",
            "vehicle_class",
            "max_gross_weight_kg",
            "permit_number",
            "permit_expires",
            "is_autonomous",
        ]


class TrailerOutput(serializers.Serializer):
    plate = serializers.CharField()
    normalized_plate = serializers.CharField()
    country = serializers.CharField()


class DriverOutput(serializers.ModelSerializer):
    class Meta:
        model = Driver
        fields = [
            "full_name",
            "nationality",
            "document_type",
            "document_number",
            "document_country",
            "document_expires",
        ]


class CustomsDeclarationOutput(serializers.ModelSerializer):
    class Meta:
        model = CustomsDeclaration
        fields = ["number", "type"]


class ContainerOutput(serializers.ModelSerializer):
    seals = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Container
        fields = ["number", "size", "seals"]


class GoodsLineOutput(serializers.ModelSerializer):
    class Meta:
        model = GoodsLine
        fields = [
            "hs_code",
            "description",
            "quantity",
            "unit",
            "gross_weight_kg",
            "value",
            "currency",
            "origin_country",
        ]


class QuarantineCertificateOutput(serializers.ModelSerializer):
    class Meta:
        model = QuarantineCertificate
        fields = ["number", "issued_on", "expires_on"]


class SlotBookInput(StrictSerializer):
    starts_at = serializers.DateTimeField(help_text="The start of a slot, as listed by GET /api/v1/slots/.")


class SlotQueryInput(StrictSerializer):
    route = serializers.CharField(max_length=20)
    direction = serializers.ChoiceField(choices=Direction.choices)
    date = serializers.DateField(required=False, help_text="Local date at the gate; today when absent.")

    validate_route = DeclarationInput.validate_route

    def validate_date(self, value):
        today = timezone.localdate()
        if abs((value - today).days) > 366:
            raise serializers.ValidationError(
                serializers.ErrorDetail("Slots are listed for dates within a year of today.", code="date_out_of_range")
            )
        return value


class SlotOutput(serializers.ModelSerializer):
    free = serializers.IntegerField()

    class Meta:
        model = ArrivalSlot
        fields = ["starts_at", "capacity", "booked", "free"]


class GateLoadOutput(serializers.Serializer):
    route = serializers.CharField()
    direction = serializers.CharField()
    waiting = serializers.IntegerField(help_text="Vehicles waiting in yards.")
    called = serializers.IntegerField()
    in_lane = serializers.IntegerField()
    crossed_today = serializers.IntegerField(help_text="Since local midnight.")
    calls_per_hour = serializers.IntegerField(help_text="What the open lanes take in an hour.")
    estimated_wait_minutes = serializers.IntegerField(allow_null=True)


# Reasons a forwarder may read: about its own documents and goods. Watchlist matches and the customs
# engine's rules, weights and random selection stay with the officers.
FORWARDER_REASON_CODES = {
    "document_expired",
    "document_expires_soon",
    "permit_missing",
    "permit_expired",
    "vehicle_has_active_crossing",
    "certificate_missing",
    "certificate_expired",
    "certificate_revoked",
    "certificate_valid",
    "not_required",
    "clear",
    "check_failed",
    "superseded",
    "weight_mismatch",
    "container_unsealed",
    "overweight",
}
UNDER_REVIEW = {"code": "under_review", "message": "The authority reviews this crossing further."}


def forwarder_reasons(reasons: list[dict]) -> list[dict]:
    shown = [reason for reason in reasons if reason.get("code") in FORWARDER_REASON_CODES]
    return shown + [UNDER_REVIEW] if len(shown) < len(reasons) else shown


class ForwarderReasonsField(serializers.ListField):
    child = serializers.DictField()

    def to_representation(self, data):
        return forwarder_reasons(data or [])


class CheckOutput(serializers.ModelSerializer):
    reasons = ForwarderReasonsField()

    class Meta:
        model = Check
        fields = ["kind", "version", "status", "outcome", "reasons", "attempts", "started_at", "finished_at"]


class InspectionOutput(serializers.ModelSerializer):
    reasons = ForwarderReasonsField()

    class Meta:
        model = Inspection
        fields = ["id", "force", "kind", "status", "reasons", "created_at", "resolved_at"]


class FeeOutput(serializers.ModelSerializer):
    class Meta:
        model = Fee
        fields = ["amount_vnd", "status", "journey", "breakdown", "issued_at", "paid_at"]


class DeclarationOutput(serializers.ModelSerializer):
    route = serializers.CharField(source="route.code")
    company = serializers.CharField(source="company.tax_code")
    vehicle = VehicleOutput()
    trailer = TrailerOutput(allow_null=True)
    driver = DriverOutput()
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

    @extend_schema_field(FeeOutput(allow_null=True))
    def get_fee(self, declaration):
        fee = getattr(declaration, "fee", None) if hasattr(declaration, "fee") else None
        return FeeOutput(fee).data if fee else None

    @extend_schema_field(CheckOutput(many=True))
    def get_checks(self, declaration):
        return CheckOutput([c for c in declaration.checks.all() if c.version == declaration.version], many=True).data

    @extend_schema_field(InspectionOutput(many=True))
    def get_inspections(self, declaration):
        return InspectionOutput(
            [i for i in declaration.inspections.all() if i.version == declaration.version], many=True
        ).data


class DeclarationEventOutput(serializers.ModelSerializer):
    """The audit trail as a forwarder sees it: officers' and workers' free-text reasons and the checks'
    detailed reasons stay internal (see FORWARDER_REASON_CODES)."""

    class Meta:
        model = DeclarationEvent
        fields = ["id", "at", "actor_kind", "actor", "event", "reason", "version", "data"]

    # Events whose free text may quote a watchlist, a risk rule or an officer's internal notes.
    INTERNAL_REASONS = {"rejected", "inspection_required", "inspection_passed", "inspection_failed", "held"}

    def to_representation(self, event):
        data = super().to_representation(event)
        if event.actor_kind != DeclarationEvent.ActorKind.API_KEY:
            if event.event in self.INTERNAL_REASONS:
                data["reason"] = ""
            details = dict(data["data"] or {})
            if "reasons" in details:
                details["reasons"] = forwarder_reasons(details["reasons"])
            data["data"] = details
        return data


class ProblemFieldError(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class Problem(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = ProblemFieldError(many=True, required=False)
