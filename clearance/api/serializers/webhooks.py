"""Webhook subscriptions, their deliveries, and the company event feed."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clearance.api.serializers.common import StrictSerializer
from clearance.models import CompanyEvent, WebhookDelivery

EVENT_TYPE_CHOICES = [*CompanyEvent.Type.values, "*"]


class WebhookInput(StrictSerializer):
    url = serializers.URLField(max_length=500, help_text="https, resolving to a public address.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES),
        min_length=1,
        max_length=len(EVENT_TYPE_CHOICES),
        help_text='The event types to receive; ["*"] for all.',
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    alert_email = serializers.EmailField(
        required=False, allow_blank=True, default="", help_text="Told by e-mail if smartgate disables it."
    )


class WebhookUpdateInput(StrictSerializer):
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES), min_length=1, required=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    alert_email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="false pauses it; true resumes a disabled one.")


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    alert_email = serializers.EmailField(allow_blank=True)
    is_active = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why smartgate disabled it (a 410, 3 days of failures).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookSecretOutput(WebhookOutput):
    secret = serializers.CharField(help_text="The signing secret (whsec_…): shown this once, keep it.")


class WebhookAttemptOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    response_body = serializers.CharField(help_text="The first 1 KB of the receiver's answer.")
    error = serializers.CharField()


class WebhookDeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.SerializerMethodField(help_text="The webhook-id header, the same on every attempt.")
    event_type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempt_log = WebhookAttemptOutput(many=True)

    @extend_schema_field(serializers.CharField())
    def get_event_id(self, delivery) -> str:
        return delivery.event.public_id


class CompanyEventOutput(serializers.Serializer):
    id = serializers.SerializerMethodField(help_text="evt_…: the webhook-id of the same event.")
    type = serializers.ChoiceField(choices=CompanyEvent.Type.choices)
    timestamp = serializers.DateTimeField(source="created_at")
    data = serializers.JSONField(
        help_text="declaration {id, reference}, seq (1, 2, 3… per declaration), status, stage, version, and "
        "what the forwarder may read of the event."
    )

    @extend_schema_field(serializers.CharField())
    def get_id(self, event) -> str:
        return event.public_id


class EventFeedOutput(serializers.Serializer):
    results = CompanyEventOutput(many=True)
    next_cursor = serializers.CharField(help_text="Pass as ?after= to read on; stable, opaque.")
    has_more = serializers.BooleanField()
