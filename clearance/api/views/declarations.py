"""The forwarders' declarations: list, declare, read, amend, cancel, and the audit trail."""

from __future__ import annotations

import re
from typing import NoReturn

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from clearance import selectors
from clearance.api.idempotency import idempotent
from clearance.api.openapi import (
    DECLARATION_EXAMPLE,
    EMPTY_RETURN_EXAMPLE,
    HEALTH_DECLARATION_EXAMPLE,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LEGS_EXAMPLE,
    page_of,
    problems,
)
from clearance.api.pagination import DeclarationCursorPagination, EventCursorPagination
from clearance.api.problems import flatten_errors
from clearance.api.serializers.declaration_output import declarations_data
from clearance.api.serializers.declarations import (
    CancelInput,
    DeclarationAmendInput,
    DeclarationEventOutput,
    DeclarationInput,
    DeclarationOutput,
)
from clearance.api.views.base import CompanyApi
from clearance.errors import PreconditionFailed, PreconditionRequired, RuleViolations
from clearance.models import Declaration
from clearance.services.declarations import (
    declaration_amend,
    declaration_amendment_rule_errors,
    declaration_cancel,
    declaration_rule_errors,
    declaration_submit,
)
from vehicles.models import Direction


def declaration_response(declaration, *, status_code=status.HTTP_200_OK, location=False) -> Response:
    """A declaration as loaded by selectors.declaration_get, with its ETag (and Location when created)."""
    headers = {"ETag": declaration.etag}
    if location:
        headers["Location"] = reverse("api:declaration-detail", args=[declaration.id])
    (data,) = declarations_data([declaration], queue=selectors.queue_positions([declaration]))
    return Response(data, status=status_code, headers=headers)


class DeclarationListCreateApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_list",
        summary="List the company's declarations",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=Declaration.Status.values),
            OpenApiParameter("stage", OpenApiTypes.STR, enum=Declaration.Stage.values),
            OpenApiParameter("route", OpenApiTypes.STR, description="route code, e.g. 1119-1120"),
            OpenApiParameter("direction", OpenApiTypes.STR, enum=Direction.values),
            OpenApiParameter("plate", OpenApiTypes.STR, description="vehicle plate in any written form"),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
        responses={200: page_of(DeclarationOutput, "DeclarationPage"), **problems(400, 401, 429)},
    )
    def get(self, request):
        declarations = selectors.declaration_list(company=self.company, filters=request.query_params)
        paginator = DeclarationCursorPagination()
        page = paginator.paginate_queryset(declarations, request, view=self)
        selectors.lines_attach(page, company=self.company)
        return paginator.get_paginated_response(declarations_data(page, queue=selectors.queue_positions(page)))

    @extend_schema(
        operation_id="declarations_create",
        summary="Declare a crossing",
        request=DeclarationInput,
        parameters=[IDEMPOTENCY_KEY],
        examples=[DECLARATION_EXAMPLE, EMPTY_RETURN_EXAMPLE, HEALTH_DECLARATION_EXAMPLE, LEGS_EXAMPLE],
        responses={201: DeclarationOutput, **problems(400, 401, 409, 413, 422, 429)},
    )
    @idempotent
    def post(self, request):
        serializer = DeclarationInput(data=request.data)
        if not serializer.is_valid():
            # One answer lists every error it can find: the rules on the parts that are well formed too.
            refuse(serializer, rule_errors=declaration_rule_errors(data=serializer.valid_parts()))
        declaration = declaration_submit(company=self.company, actor=self.actor, data=serializer.validated_data)
        # The service hands back the declaration as written, with what its representation shows: no re-read.
        return declaration_response(declaration, status_code=status.HTTP_201_CREATED, location=True)


class DeclarationDetailApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_retrieve",
        summary="Read a declaration",
        responses={200: DeclarationOutput, **problems(401, 404, 429)},
    )
    def get(self, request, declaration_id: int):
        return declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))

    @extend_schema(
        operation_id="declarations_amend",
        summary="Amend a declaration (before its vehicle enters a lane)",
        request=DeclarationAmendInput,
        parameters=[IF_MATCH],
        responses={200: DeclarationOutput, **problems(400, 401, 404, 409, 412, 413, 428, 429)},
    )
    def patch(self, request, declaration_id: int):
        # Scope first: another company's id is 404 whatever the headers say.
        selectors.declaration_id_for_company(company=self.company, declaration_id=declaration_id)
        expected_version = _if_match_version(request)
        serializer = DeclarationAmendInput(data=request.data)
        if not serializer.is_valid():
            rule_errors = declaration_amendment_rule_errors(
                declaration_id=declaration_id, company=self.company, changes=serializer.valid_parts()
            )
            refuse(serializer, rule_errors=rule_errors)
        declaration_amend(
            declaration_id=declaration_id,
            company=self.company,
            actor=self.actor,
            expected_version=expected_version,
            changes=serializer.validated_data,
        )
        return declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))


def refuse(serializer, *, rule_errors: list) -> NoReturn:
    """One 400 for a request that failed validation: its format errors and the rules its well-formed
    parts break."""
    if rule_errors:
        raise RuleViolations(flatten_errors(serializer.errors) + rule_errors)
    raise ValidationError(serializer.errors)


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
        request=CancelInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: DeclarationOutput, **problems(400, 401, 404, 409, 429)},
    )
    @idempotent
    def post(self, request, declaration_id: int):
        selectors.declaration_id_for_company(company=self.company, declaration_id=declaration_id)
        serializer = CancelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        declaration_cancel(
            declaration_id=declaration_id,
            company=self.company,
            actor=self.actor,
            reason=serializer.validated_data["reason"],
        )
        return declaration_response(selectors.declaration_get(company=self.company, declaration_id=declaration_id))


class DeclarationEventsApi(CompanyApi):
    @extend_schema(
        operation_id="declarations_events",
        summary="The audit trail of a declaration",
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("limit", OpenApiTypes.INT)],
        responses={200: page_of(DeclarationEventOutput, "DeclarationEventPage"), **problems(401, 404, 429)},
    )
    def get(self, request, declaration_id: int):
        events = selectors.declaration_events(company=self.company, declaration_id=declaration_id)
        paginator = EventCursorPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(DeclarationEventOutput(page, many=True).data)
