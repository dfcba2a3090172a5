"""The audit trail's daily heads (public)."""

from __future__ import annotations

from datetime import UTC

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from clearance import selectors
from clearance.api.openapi import problems
from clearance.api.serializers.audit import DailyHeadOutput, DailyHeadsQueryInput


class AuditDailyHeadsApi(APIView):
    """Public: the last signed anchor of each day. A copy kept elsewhere shows later whether the trail of
    any day up to it was rewritten (``manage.py verify_audit`` recomputes the roots)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        operation_id="audit_daily_heads",
        summary="The audit trail's head of each day (public)",
        auth=[],
        parameters=[OpenApiParameter("days", OpenApiTypes.INT, description="how many days back, 1–366; 30")],
        responses={200: DailyHeadOutput(many=True), **problems(400, 429)},
    )
    def get(self, request):
        query = DailyHeadsQueryInput(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        heads = selectors.audit_daily_heads(days=query.validated_data["days"])
        with timezone.override(UTC):
            data = DailyHeadOutput([{"day": day, "anchor": anchor} for day, anchor in heads], many=True).data
        return Response(data)
