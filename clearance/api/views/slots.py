"""Arrival slots: the free places of a day; booking, moving and releasing a declaration's slot."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from clearance import selectors
from clearance.api.idempotency import idempotent
from clearance.api.openapi import IDEMPOTENCY_KEY, problems
from clearance.api.serializers.declarations import DeclarationOutput
from clearance.api.serializers.slots import SlotBookInput, SlotOutput, SlotQueryInput
from clearance.api.views.base import CompanyApi
from clearance.api.views.declarations import declaration_response
from clearance.services.slots import slot_book, slot_release
from vehicles.models import Direction, local_date


class SlotListApi(CompanyApi):
    @extend_schema(
        operation_id="slots_list",
        summary="Arrival slots of a day with their free places",
        parameters=[
            OpenApiParameter("route", OpenApiTypes.STR, required=True),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=Direction.values, required=True),
            OpenApiParameter("date", OpenApiTypes.DATE, description="local date; today by default"),
        ],
        responses={200: SlotOutput(many=True), **problems(400, 401, 429)},
    )
    def get(self, request):
        query = SlotQueryInput(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("date") or local_date(timezone.now())
        slots = selectors.slot_availability(
            route=query.validated_data["route"], direction=query.validated_data["direction"], day=day
        )
        return Response(SlotOutput(slots, many=True).data)


class DeclarationSlotApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_slot_book",
        summary="Book or move the arrival slot",
        request=SlotBookInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: DeclarationOutput, **problems(400, 401, 404, 409, 429)},
    )
    @idempotent
    def post(self, request, declaration_id: int):
        selectors.declaration_id_for_company(company=self.company, declaration_id=declaration_id)
        serializer = SlotBookInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        slot_book(
            declaration_id=declaration_id,
            company=self.company,
            actor=self.actor,
            starts_at=serializer.validated_data["starts_at"],
        )
        return declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))

    @extend_schema(
        operation_id="declarations_slot_release",
        summary="Release the arrival slot",
        responses={200: DeclarationOutput, **problems(401, 404, 409, 429)},
    )
    def delete(self, request, declaration_id: int):
        # The service scopes by company itself: another company's id is 404 before anything changes.
        slot_release(declaration_id=declaration_id, company=self.company, actor=self.actor)
        return declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))
