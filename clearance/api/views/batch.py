"""Many declarations in one request: one result per item, all-or-nothing on request."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from clearance import selectors
from clearance.api.idempotency import idempotent
from clearance.api.openapi import IDEMPOTENCY_KEY, problems
from clearance.api.parsers import BatchJSONParser
from clearance.api.problems import exception_handler
from clearance.api.serializers.common import Problem, StrictSerializer
from clearance.api.serializers.declaration_output import declarations_data
from clearance.api.serializers.declarations import DeclarationInput, DeclarationOutput
from clearance.api.views.base import CompanyApi
from clearance.api.views.declarations import refuse
from clearance.errors import DomainError
from clearance.services.declarations import declaration_rule_errors, declarations_submit_many


class BatchInput(StrictSerializer):
    declarations = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        help_text="Each item is the body of POST /api/v1/declarations/ (at most SMARTGATE_BATCH_MAX_ITEMS, 500).",
    )
    atomic = serializers.BooleanField(default=False, help_text="true: all are created, or none is.")

    def validate_declarations(self, value):
        limit = settings.SMARTGATE_BATCH_MAX_ITEMS
        if len(value) > limit:
            raise serializers.ValidationError(
                serializers.ErrorDetail(f"At most {limit} declarations per batch.", code="batch_too_large")
            )
        return value


class BatchItemOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's place in the request, from 0.")
    status = serializers.IntegerField(help_text="201 created; 400/409 refused; 424 not created (atomic batch)")
    declaration = DeclarationOutput(required=False, help_text="With 201: as GET declarations/{id}/ returns it.")
    problem = Problem(required=False, help_text="Otherwise: the problem a single POST would have answered.")


class BatchOutput(serializers.Serializer):
    created = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BatchItemOutput(many=True)


class _Abort(Exception):
    """An atomic batch with a refused item: everything is rolled back."""


NOT_CREATED = {
    "type": "urn:smartgate:problem:batch_aborted",
    "title": "Not created",
    "status": 424,
    "detail": "Valid, but not created: another item of this atomic batch was refused.",
    "code": "batch_aborted",
}


class DeclarationBatchApi(CompanyApi):
    parser_classes = [BatchJSONParser]

    @extend_schema(
        operation_id="declarations_batch",
        summary="Declare many crossings at once, with a result per item",
        description="Each item is validated and created as by POST declarations/ and queued for its checks. "
        "Without `atomic` (200) each item stands alone; with `atomic: true` the answer is 201 when every item "
        "was created and 400 when any was refused, none then being created (the valid ones answer 424).",
        request=BatchInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: BatchOutput, 201: BatchOutput, **problems(400, 401, 413, 422, 429)},
    )
    @idempotent
    def post(self, request):
        batch = BatchInput(data=request.data)
        batch.is_valid(raise_exception=True)
        items, atomic = batch.validated_data["declarations"], batch.validated_data["atomic"]
        outcomes, created = declarations_batch_submit(self, items, atomic=atomic)
        return batch_response(outcomes, created=created, atomic=atomic)


def declarations_batch_submit(view, items: list, *, atomic: bool) -> tuple[list[dict], list]:
    """Validate each item as POST declarations/ would, then submit the valid ones together
    (declarations_submit_many: a constant number of queries for the whole batch). Returns per item
    ``{"declaration": …}`` or ``{"problem": …}``, and the declarations created; an atomic batch with a
    refused item creates none (its valid items answer 424)."""
    outcomes: list[dict] = [{} for _item in items]
    valid: list[tuple[int, dict]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, _validated(item)))
        except (DomainError, exceptions.APIException, DjangoValidationError) as error:
            outcomes[index] = {"problem": _problem(view, error)}
    try:
        with transaction.atomic():
            submitted = declarations_submit_many(
                company=view.company, actor=view.actor, items=[data for _index, data in valid]
            )
            for (index, _data), outcome in zip(valid, submitted, strict=True):
                if isinstance(outcome, DomainError):
                    outcomes[index] = {"problem": _problem(view, outcome)}
                else:
                    outcomes[index] = {"declaration": outcome}
            if atomic and any("problem" in outcome for outcome in outcomes):
                raise _Abort
    except _Abort:
        outcomes = [{"problem": outcome.get("problem", NOT_CREATED)} for outcome in outcomes]
    created = [outcome["declaration"] for outcome in outcomes if "declaration" in outcome]
    return outcomes, created


def batch_response(outcomes: list[dict], *, created: list, atomic: bool) -> Response:
    """The batch's answer: each created declaration as GET declarations/{id}/ shows it (built from
    memory), each refused item with the problem a single POST would have answered."""
    bodies = iter(declarations_data(created, queue=selectors.queue_positions(created)))
    results = []
    for index, outcome in enumerate(outcomes):
        if "declaration" in outcome:
            results.append({"index": index, "status": 201, "declaration": next(bodies)})
        else:
            results.append({"index": index, "status": outcome["problem"]["status"], "problem": outcome["problem"]})
    refused = len(outcomes) - len(created)
    if atomic:
        code = status.HTTP_400_BAD_REQUEST if refused else status.HTTP_201_CREATED
    else:
        code = status.HTTP_200_OK
    return Response({"created": len(created), "refused": refused, "results": results}, status=code)


def _validated(item) -> dict:
    if not isinstance(item, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Each item must be a JSON object."]})
    serializer = DeclarationInput(data=item)
    if not serializer.is_valid():
        refuse(serializer, rule_errors=declaration_rule_errors(data=serializer.valid_parts()))
    return serializer.validated_data


def _problem(view, error) -> dict:
    response = exception_handler(error, {"view": view, "request": view.request})
    return dict(response.data)
