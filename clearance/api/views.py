"""The forwarders' declarations API: thin views over selectors and services."""

from __future__ import annotations

import re
from datetime import UTC

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from clearance import selectors
from clearance.api import serializers as s
from clearance.api.authentication import CompanyAPIKeyAuthentication
from clearance.api.idempotency import idempotent
from clearance.api.parsers import BoundedJSONParser
from clearance.api.problems import PROBLEM_CONTENT_TYPE
from clearance.api.throttling import ApiClientRateThrottle
from clearance.errors import PreconditionFailed, PreconditionRequired
from clearance.services.declarations import declaration_amend, declaration_cancel, declaration_submit
from clearance.services.slots import slot_book, slot_release
from vehicles.models import local_date

PROBLEMS = {
    code: OpenApiResponse(s.Problem, description=text)
    for code, text in {
        400: "Invalid request: `errors` lists each field, code and message.",
        401: "Missing, unknown, revoked or expired API key.",
        403: "Authenticated, but not allowed here (a device outside its lane or yard, an officer of another force).",
        404: "No such declaration, or another company's.",
        409: "Conflict with the state of this or another crossing.",
        412: "If-Match names a version that is no longer current.",
        413: "Request body too large.",
        422: "Idempotency-Key reused with a different body.",
        428: "If-Match header missing.",
        429: "Too many requests; see Retry-After.",
    }.items()
}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="A unique key (e.g. a UUID) per request; a retry with the same key and body replays the "
    "first response for 24 hours.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version being amended, e.g. "3".',
)


def problems(*codes: int) -> dict:
    return {(code, PROBLEM_CONTENT_TYPE): PROBLEMS[code] for code in codes}


def page_of(serializer_class, name: str):
    """The cursor page a list answers with."""
    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


class DeclarationCursorPagination(CursorPagination):
    ordering = "-id"  # keyset on the primary key: constant cost at any depth
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # A forged cursor's position must still be an id before it reaches a query.
        if cursor is not None and cursor.position is not None and not re.fullmatch(r"[0-9]{1,18}", cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class EventCursorPagination(DeclarationCursorPagination):
    ordering = "id"


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


def _declaration_response(declaration, *, status_code=status.HTTP_200_OK, location=False) -> Response:
    headers = {"ETag": declaration.etag}
    if location:
        headers["Location"] = reverse("api:declaration-detail", args=[declaration.id])
    context = {"queue": selectors.queue_positions([declaration])}
    return Response(s.DeclarationOutput(declaration, context=context).data, status=status_code, headers=headers)


class DeclarationListCreateApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_list",
        summary="List the company's declarations",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=[c for c, _ in s.Declaration.Status.choices]),
            OpenApiParameter("stage", OpenApiTypes.STR, enum=[c for c, _ in s.Declaration.Stage.choices]),
            OpenApiParameter("route", OpenApiTypes.STR, description="route code, e.g. 1119-1120"),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=["export", "import"]),
            OpenApiParameter("plate", OpenApiTypes.STR, description="vehicle plate in any written form"),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
        responses={200: page_of(s.DeclarationOutput, "DeclarationPage"), **problems(400, 401, 429)},
    )
    def get(self, request):
        declarations = selectors.declaration_list(company=self.company, filters=request.query_params)
        paginator = DeclarationCursorPagination()
        page = paginator.paginate_queryset(declarations, request, view=self)
        context = {"queue": selectors.queue_positions(page)}
        return paginator.get_paginated_response(s.DeclarationOutput(page, many=True, context=context).data)

    @extend_schema(
        operation_id="declarations_create",
        summary="Declare a crossing",
        request=s.DeclarationInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.DeclarationOutput, **problems(400, 401, 409, 413, 422, 429)},
    )
    @idempotent
    def post(self, request):
        serializer = s.DeclarationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        declaration = declaration_submit(company=self.company, actor=self.actor, data=serializer.validated_data)
        declaration = selectors.declaration_get(company=self.company, declaration_id=declaration.id)
        return _declaration_response(declaration, status_code=status.HTTP_201_CREATED, location=True)


class DeclarationDetailApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_retrieve",
        summary="Read a declaration",
        responses={200: s.DeclarationOutput, **problems(401, 404, 429)},
    )
    def get(self, request, declaration_id: int):
        return _declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))

    @extend_schema(
        operation_id="declarations_amend",
        summary="Amend a declaration (before its vehicle enters a lane)",
        request=s.DeclarationAmendInput,
        parameters=[IF_MATCH],
        responses={200: s.DeclarationOutput, **problems(400, 401, 404, 409, 412, 413, 428, 429)},
    )
    def patch(self, request, declaration_id: int):
        # Scope first: another company's id is 404 whatever the headers say.
        selectors.declaration_get(company=self.company, declaration_id=declaration_id)
        expected_version = _if_match_version(request)
        serializer = s.DeclarationAmendInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        declaration_amend(
            declaration_id=declaration_id,
            company=self.company,
            actor=self.actor,
            expected_version=expected_version,
            changes=serializer.validated_data,
        )
        return _declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))


def _if_match_version(request) -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired('Send If-Match with the ETag of the version you are amending, e.g. If-Match: "3".')
    value = header.strip().removeprefix("W/").strip('"')
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise PreconditionFailed(f"If-Match {header!r} is not an ETag of this declaration; send the ETag as read.")
    return int(value)


class DeclarationCancelApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_cancel",
        summary="Cancel a crossing before its vehicle enters a lane",
        request=s.CancelInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.DeclarationOutput, **problems(400, 401, 404, 409, 429)},
    )
    @idempotent
    def post(self, request, declaration_id: int):
        selectors.declaration_get(company=self.company, declaration_id=declaration_id)
        serializer = s.CancelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        declaration_cancel(
            declaration_id=declaration_id,
            company=self.company,
            actor=self.actor,
            reason=serializer.validated_data["reason"],
        )
        return _declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))


class DeclarationEventsApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_events",
        summary="The audit trail of a declaration",
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("limit", OpenApiTypes.INT)],
        responses={200: page_of(s.DeclarationEventOutput, "DeclarationEventPage"), **problems(401, 404, 429)},
    )
    def get(self, request, declaration_id: int):
        events = selectors.declaration_events(company=self.company, declaration_id=declaration_id)
        paginator = EventCursorPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(s.DeclarationEventOutput(page, many=True).data)


class SlotListApi(CompanyApi):
    @extend_schema(
        operation_id="slots_list",
        summary="Arrival slots of a day with their free places",
        parameters=[
            OpenApiParameter("route", OpenApiTypes.STR, required=True),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=["export", "import"], required=True),
            OpenApiParameter("date", OpenApiTypes.DATE, description="local date; today by default"),
        ],
        responses={200: s.SlotOutput(many=True), **problems(400, 401, 429)},
    )
    def get(self, request):
        query = s.SlotQueryInput(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("date") or local_date(timezone.now())
        slots = selectors.slot_availability(
            route=query.validated_data["route"], direction=query.validated_data["direction"], day=day
        )
        return Response(s.SlotOutput(slots, many=True).data)


class DeclarationSlotApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_slot_book",
        summary="Book or move the arrival slot",
        request=s.SlotBookInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.DeclarationOutput, **problems(400, 401, 404, 409, 429)},
    )
    @idempotent
    def post(self, request, declaration_id: int):
        selectors.declaration_get(company=self.company, declaration_id=declaration_id)
        serializer = s.SlotBookInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        slot_book(
            declaration_id=declaration_id,
            company=self.company,
            actor=self.actor,
            starts_at=serializer.validated_data["starts_at"],
        )
        return _declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))

    @extend_schema(
        operation_id="declarations_slot_release",
        summary="Release the arrival slot",
        responses={200: s.DeclarationOutput, **problems(401, 404, 409, 429)},
    )
    def delete(self, request, declaration_id: int):
        selectors.declaration_get(company=self.company, declaration_id=declaration_id)
        slot_release(declaration_id=declaration_id, company=self.company, actor=self.actor)
        return _declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))


class GateLoadApi(APIView):
    """Public: how loaded each route is. Cheap (three aggregate queries) and cached for a few seconds."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        operation_id="gates_load",
        summary="Load of each smart-gate route (public)",
        auth=[],
        responses={200: s.GateLoadOutput(many=True), **problems(429)},
    )
    def get(self, request):
        load = cache.get_or_set("gate-load", selectors.gate_load, timeout=settings.SMARTGATE_LOAD_CACHE_SECONDS)
        return Response(s.GateLoadOutput(load, many=True).data)
