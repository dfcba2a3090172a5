"""The public load of the gate."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from clearance import selectors
from clearance.api.openapi import problems
from clearance.api.serializers.load import GateLoadOutput


class GateLoadApi(APIView):
    """Public: how loaded each route is. Cheap (three aggregate queries) and cached for a few seconds."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        operation_id="gates_load",
        summary="Load of each smart-gate route (public)",
        auth=[],
        responses={200: GateLoadOutput(many=True), **problems(429)},
    )
    def get(self, request):
        load = cache.get_or_set("gate-load", selectors.gate_load, timeout=settings.SMARTGATE_LOAD_CACHE_SECONDS)
        return Response(GateLoadOutput(load, many=True).data)
