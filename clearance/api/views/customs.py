"""The customs system tells us a VNACCS declaration changed: the crossings carrying it are re-checked
(before the lane) or held for an officer (in a lane)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance.api.authentication import CustomsSystemAPIKeyAuthentication
from clearance.api.openapi import problems
from clearance.api.parsers import BoundedJSONParser
from clearance.api.serializers.common import StrictSerializer
from clearance.models import CustomsNotification
from clearance.services.customs import customs_notification_receive


class CustomsNotificationInput(StrictSerializer):
    message_id = serializers.CharField(
        max_length=100, help_text="Unique per message: a repeat is answered, not redone."
    )
    number = serializers.RegexField(r"^[0-9]{12}$", help_text="The VNACCS declaration number (12 digits).")
    change = serializers.ChoiceField(choices=CustomsNotification.Change.choices)
    detail = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CustomsNotificationResult(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    outcome = serializers.ChoiceField(choices=CustomsNotification.Outcome.choices)


class CustomsNotificationOutput(serializers.Serializer):
    message_id = serializers.CharField()
    number = serializers.CharField()
    change = serializers.CharField()
    received_at = serializers.DateTimeField()
    results = CustomsNotificationResult(many=True)
    replayed = serializers.BooleanField(help_text="true when this message id had been received before")


class CustomsNotificationApi(APIView):
    authentication_classes = [CustomsSystemAPIKeyAuthentication]
    parser_classes = [BoundedJSONParser]
    throttle_classes = []  # one trusted system, authenticated by its own key kind

    @extend_schema(
        operation_id="customs_notifications",
        summary="A VNACCS declaration changed: re-check (or hold in the lane) the crossings carrying it",
        request=CustomsNotificationInput,
        responses={
            202: CustomsNotificationOutput,
            200: CustomsNotificationOutput,
            **problems(400, 401, 413),
        },
    )
    def post(self, request):
        serializer = CustomsNotificationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        notification, created = customs_notification_receive(client=request.user.client, **serializer.validated_data)
        body = {
            "message_id": notification.message_id,
            "number": notification.number,
            "change": notification.change,
            "received_at": notification.received_at,
            "results": notification.results,
            "replayed": not created,
        }
        return Response(
            CustomsNotificationOutput(body).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )
