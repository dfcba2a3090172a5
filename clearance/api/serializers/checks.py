"""A declaration's checks as the forwarder reads them."""

from __future__ import annotations

from rest_framework import serializers

from clearance import disclosure
from clearance.api.serializers.common import ForwarderReasonsField
from clearance.models import Check


class CheckOutput(serializers.ModelSerializer):
    reasons = ForwarderReasonsField()

    class Meta:
        model = Check
        fields = disclosure.CHECK_FIELDS

    def to_representation(self, check):
        data = super().to_representation(check)
        # The summary of hidden reasons follows the check's own outcome (green is not "under review").
        data["reasons"] = disclosure.forwarder_reasons(check.reasons or [], outcome=check.outcome)
        return data
