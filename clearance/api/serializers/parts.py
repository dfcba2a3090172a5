"""The parts of a declared crossing, in and out: vehicle, trailer, driver, customs declarations, containers,
goods lines and quarantine certificates."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from clearance import identifiers
from clearance.api.serializers.common import CustomsDeclarationTypeField, StrictSerializer, django_to_drf, identifier
from clearance.models import Container, CustomsDeclaration, GoodsLine, QuarantineCertificate
from vehicles.models import Driver, Vehicle
from vehicles.plates import Country, parse_plate

# --- Input --------------------------------------------------------------------------------------


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
            raise serializers.ValidationError({"plate": django_to_drf(error).detail}) from None
        return attrs


class TrailerInput(StrictSerializer):
    plate = serializers.CharField(max_length=20)
    country = serializers.ChoiceField(choices=Country.CHOICES)

    def validate(self, attrs):
        try:
            return {"plate": parse_plate(attrs["plate"], country=attrs["country"], trailer=True)}
        except DjangoValidationError as error:
            raise serializers.ValidationError({"plate": django_to_drf(error).detail}) from None


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
    type = CustomsDeclarationTypeField(max_length=3)

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


class _HealthStatement(StrictSerializer):
    """One person's answers on a health declaration (border health quarantine, in an epidemic period)."""

    temperature_c = serializers.DecimalField(
        max_digits=3,
        decimal_places=1,
        min_value=Decimal("34.0"),
        max_value=Decimal("43.0"),
        help_text="Body temperature measured within 24 hours before arrival, in °C (34.0–43.0).",
    )
    symptoms = serializers.BooleanField(
        help_text="Fever, cough, sore throat, breathing difficulty or loss of taste or smell in the last 14 days."
    )
    close_contact = serializers.BooleanField(help_text="Close contact with a confirmed case in the last 14 days.")

    def validate(self, attrs):
        # Kept as JSON on the declaration: the temperature as its decimal string.
        return {**attrs, "temperature_c": str(attrs["temperature_c"])}


class HealthCrewMemberInput(_HealthStatement):
    full_name = serializers.CharField(min_length=2, max_length=150)
    document_number = serializers.RegexField(
        r"^[A-Z0-9]{5,20}$",
        max_length=20,
        error_messages={"invalid": "A document number is 5–20 capital letters and digits, e.g. C1234567."},
    )


class HealthDeclarationInput(_HealthStatement):
    """The driver's answers, and the crew's (anyone else aboard): required in an epidemic period."""

    crew = HealthCrewMemberInput(many=True, required=False, max_length=4, help_text="Others aboard, at most 4.")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        return {**attrs, "crew": attrs.get("crew", [])}


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
