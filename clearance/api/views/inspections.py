"""The officers' inspection results."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clearance import selectors
from clearance.api.openapi import problems
from clearance.api.parsers import BoundedJSONParser
from clearance.api.serializers.inspections import InspectionResultInput, InspectionResultOutput
from clearance.models import Inspection
from clearance.services.inspections import inspection_record_result


class InspectionResultApi(APIView):
    """Officers record results with their token (``Authorization: Token <token>``, from ``manage.py
    officer_token``: kept as a digest, expiring) or their admin session."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="inspections_result",
        summary="Record an inspection's result (officers)",
        request=InspectionResultInput,
        responses={200: InspectionResultOutput, **problems(400, 401, 403, 404, 409)},
    )
    def post(self, request, inspection_id: int):
        serializer = InspectionResultInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        inspection = inspection_record_result(
            inspection_id=inspection_id,
            user=request.user,
            passed=serializer.validated_data["result"] == Inspection.Result.PASS,
            notes=serializer.validated_data["notes"],
        )
        return Response(InspectionResultOutput(selectors.inspection_outcome(inspection_id=inspection.id)).data)
