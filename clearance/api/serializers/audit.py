"""The audit trail's daily heads, published so anyone may keep a copy outside the system."""

from __future__ import annotations

from rest_framework import serializers

from clearance.api.serializers.common import StrictSerializer


class DailyHeadsQueryInput(StrictSerializer):
    days = serializers.IntegerField(min_value=1, max_value=366, default=30)


class DailyHeadOutput(serializers.Serializer):
    day = serializers.DateField(help_text="Local date at the gate (UTC+7).")
    id = serializers.IntegerField(source="anchor.id")
    created_at = serializers.DateTimeField(source="anchor.created_at")
    last_event_id = serializers.IntegerField(source="anchor.last_event_id")
    last_record_id = serializers.IntegerField(source="anchor.last_record_id")
    chains = serializers.IntegerField(source="anchor.chains")
    events = serializers.IntegerField(source="anchor.events", help_text="Links in all chains together.")
    root = serializers.CharField(source="anchor.root", help_text="Merkle root over every chain's head (hex).")
    signature = serializers.CharField(source="anchor.signature", help_text="HMAC-SHA256 of the anchor (hex).")
