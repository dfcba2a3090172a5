"""The base of the forwarders' endpoints."""

from __future__ import annotations

from datetime import UTC

from django.utils import timezone
from rest_framework.views import APIView

from clearance.api.authentication import CompanyAPIKeyAuthentication
from clearance.api.parsers import BoundedJSONParser
from clearance.api.throttling import ApiClientRateThrottle


class CompanyApi(APIView):
    """Base for forwarder endpoints: API-key auth, per-key throttling, bounded JSON, UTC timestamps."""

    authentication_classes = [CompanyAPIKeyAuthentication]
    throttle_classes = [ApiClientRateThrottle]
    parser_classes = [BoundedJSONParser]

    def initial(self, request, *args, **kwargs):
        timezone.activate(UTC)  # API timestamps are ISO 8601 in UTC
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def company(self):
        return self.request.user.company

    @property
    def actor(self):
        return self.request.user.actor
