"""The public load of each smart-gate route."""

from __future__ import annotations

from rest_framework import serializers


class GateLoadOutput(serializers.Serializer):
    route = serializers.CharField()
    direction = serializers.CharField()
    waiting = serializers.IntegerField(help_text="Vehicles waiting in yards.")
    called = serializers.IntegerField()
    in_lane = serializers.IntegerField()
    crossed_today = serializers.IntegerField(help_text="Since local midnight.")
    calls_per_hour = serializers.IntegerField(help_text="What the open lanes take in an hour.")
    estimated_wait_minutes = serializers.IntegerField(allow_null=True)
