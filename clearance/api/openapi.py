"""What the OpenAPI document says every endpoint shares: problem responses, headers, cursor pages."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from clearance.api.problems import PROBLEM_CONTENT_TYPE
from clearance.api.serializers.common import Problem

PROBLEMS = {
    code: OpenApiResponse(Problem, description=text)
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
