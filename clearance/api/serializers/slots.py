"""Arrival slots: the free places of a day, and booking one for a declaration."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from clearance.api.serializers.common import AwareDateTimeField, StrictSerializer, route_for_code
from clearance.models import ArrivalSlot
from vehicles.models import Direction


class SlotBookInput(StrictSerializer):
    starts_at = AwareDateTimeField(help_text="The start of a slot, as listed by GET /api/v1/slots/.")


class SlotQueryInput(StrictSerializer):
    route = serializers.CharField(max_length=20)
    direction = serializers.ChoiceField(choices=Direction.choices)
    date = serializers.DateField(required=False, help_text="Local date at the gate; today when absent.")

    def validate_route(self, value):
        return route_for_code(value)

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
