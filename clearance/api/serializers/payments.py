"""The infrastructure-use fee, its e-ticket, and the payment provider's callback."""

from __future__ import annotations

from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clearance.api.serializers.common import AwareDateTimeField
from clearance.models import Fee, TariffCoefficient


class AppliedCoefficientOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TariffCoefficient.Kind.choices)
    code = serializers.CharField()
    coefficient = serializers.DecimalField(max_digits=5, decimal_places=2)
    description = serializers.CharField(allow_null=True)


class FeeOutput(serializers.ModelSerializer):
    coefficients = serializers.SerializerMethodField(
        help_text="The tariff's coefficients this fee applied: the goods type's and the journey's (e.g. "
        "wharf_transfer ×0.30: goods only transferred at the wharf, not carried inland)."
    )

    class Meta:
        model = Fee
        fields = ["amount_vnd", "status", "journey", "coefficients", "breakdown", "issued_at", "paid_at"]

    @extend_schema_field(AppliedCoefficientOutput(many=True))
    def get_coefficients(self, fee: Fee) -> list:
        return AppliedCoefficientOutput(fee.applied_coefficients(), many=True).data


class TicketOutput(serializers.Serializer):
    payload = serializers.DictField()
    token = serializers.CharField(help_text="Signed; what the QR code carries.")
    qr_svg = serializers.CharField(help_text="The QR code as an SVG document.")
    amount_vnd = serializers.IntegerField()


class PaymentCallbackInput(serializers.Serializer):
    payment_id = serializers.CharField(max_length=100)
    reference = serializers.CharField(max_length=20, help_text="The declaration's reference, e.g. SG-2026-000123.")
    amount_vnd = serializers.DecimalField(max_digits=15, decimal_places=0, min_value=0)
    paid_at = AwareDateTimeField(required=False)


class PaymentCallbackOutput(serializers.Serializer):
    payment = serializers.CharField(source="provider_payment_id")
    status = serializers.CharField()
    received_at = serializers.DateTimeField(default_timezone=UTC)  # the provider is answered in UTC
