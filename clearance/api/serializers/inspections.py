"""Inspections: as the forwarder reads them, and the result an officer records."""

from __future__ import annotations

from rest_framework import serializers

from clearance import disclosure
from clearance.api.serializers.common import ForwarderReasonsField, StrictSerializer
from clearance.models import Inspection


class InspectionOutput(serializers.ModelSerializer):
    reasons = ForwarderReasonsField()

    class Meta:
        model = Inspection
        fields = disclosure.INSPECTION_FIELDS


class InspectionResultInput(StrictSerializer):
    result = serializers.ChoiceField(choices=Inspection.Result.values)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class InspectionResultOutput(serializers.Serializer):
    inspection = serializers.IntegerField(source="id")
    status = serializers.CharField()
    declaration = serializers.IntegerField(source="declaration_id")
    declaration_status = serializers.CharField(source="declaration.status")
