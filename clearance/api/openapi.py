"""What the OpenAPI document says every endpoint shares: problem responses, headers, cursor pages."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from clearance.api.problems import PROBLEM_CONTENT_TYPE
from clearance.api.serializers.common import Problem
from clearance.models import Declaration
from vehicles.models import Direction

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


# The body of POST /api/v1/declarations/ shown in the docs: a durian truck for export through 1119-1120, with a
# trailer, a sealed container and its quarantine certificate. Arrival: at least the gate's notice (3 h) and at
# most 30 days ahead, with a UTC offset.
DECLARATION_EXAMPLE = OpenApiExample(
    "A durian truck for export",
    request_only=True,
    value={
        "direction": Direction.EXPORT.value,
        "route": "1119-1120",
        "expected_arrival": "2026-12-01T08:00:00+07:00",
        "customs_declarations": [{"number": "305123456789", "type": "B11"}],
        "vehicle": {
            "plate": "12C-123.45",
            "country": "VN",
            "max_gross_weight_kg": 40000,
            "permit_number": "VN-CN-2026-00123",
            "permit_expires": "2027-06-30",
        },
        "trailer": {"plate": "12R-012.34", "country": "VN"},
        "driver": {
            "full_name": "Nguyễn Văn An",
            "nationality": "VN",
            "document_type": "passport",
            "document_number": "C1234567",
            "document_expires": "2030-01-01",
        },
        "containers": [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}],
        "goods": [
            {
                "hs_code": "08106000",
                "description": "Sầu riêng tươi / fresh durian",
                "quantity": "18000",
                "unit": "KGM",
                "gross_weight_kg": "20000",
                "value": "90000.00",
                "currency": "USD",
                "origin_country": "VN",
            }
        ],
        "quarantine_certificates": [
            {"number": "KD-2026-001234", "issued_on": "2026-11-20", "expires_on": "2026-12-20"}
        ],
    },
)


# An empty truck going home (kind empty_return): no goods, customs numbers, containers or certificates.
EMPTY_RETURN_EXAMPLE = OpenApiExample(
    "An empty truck returning",
    request_only=True,
    value={
        "kind": Declaration.Kind.EMPTY_RETURN.value,
        "direction": Direction.IMPORT.value,
        "route": "1119-1120",
        "expected_arrival": "2026-12-01T20:00:00+07:00",
        "vehicle": {
            "plate": "12C-123.45",
            "country": "VN",
            "max_gross_weight_kg": 40000,
            "permit_number": "VN-CN-2026-00123",
            "permit_expires": "2027-06-30",
        },
        "driver": {
            "full_name": "Nguyễn Văn An",
            "nationality": "VN",
            "document_type": "passport",
            "document_number": "C1234567",
            "document_expires": "2030-01-01",
        },
    },
)

# In an epidemic period every crossing carries the driver's and crew's health declaration.
HEALTH_DECLARATION_EXAMPLE = OpenApiExample(
    "A durian truck in an epidemic period",
    request_only=True,
    value={
        **DECLARATION_EXAMPLE.value,
        "health_declaration": {
            "temperature_c": "36.6",
            "symptoms": False,
            "close_contact": False,
            "crew": [
                {
                    "full_name": "Hoàng Văn Bình",
                    "document_number": "C7654321",
                    "temperature_c": "36.8",
                    "symptoms": False,
                    "close_contact": False,
                }
            ],
        },
    },
)

# A crossing in two legs: a truck brings the container to the transfer yard, where it is loaded onto an
# autonomous vehicle that carries it across with its safety driver aboard (the night pilot's way).
LEGS_EXAMPLE = OpenApiExample(
    "An export in two legs: a truck to the transfer yard, an autonomous vehicle across",
    request_only=True,
    value={
        "direction": Direction.EXPORT.value,
        "route": "1119-1120",
        "expected_arrival": "2026-12-01T19:00:00+07:00",
        "customs_declarations": [{"number": "305123456790", "type": "B11"}],
        "containers": [{"number": "CSQU3054383", "size": "40", "seals": ["VNC123456"]}],
        "goods": [
            {
                "hs_code": "84713020",
                "description": "Laptops",
                "quantity": "500",
                "unit": "PCE",
                "gross_weight_kg": "2000",
                "value": "150000.00",
                "currency": "USD",
                "origin_country": "VN",
            }
        ],
        "legs": [
            {
                "vehicle": {"plate": "12C-123.45", "country": "VN", "max_gross_weight_kg": 40000},
                "driver": {
                    "full_name": "Nguyễn Văn An",
                    "nationality": "VN",
                    "document_type": "passport",
                    "document_number": "C1234567",
                    "document_expires": "2030-01-01",
                },
                "transfer_point": "1119-transfer-yard",
                "handover_method": "autonomous_vehicle",
            },
            {
                "vehicle": {
                    "plate": "12C-777.77",
                    "country": "VN",
                    "max_gross_weight_kg": 40000,
                    "permit_number": "VN-CN-2026-77777",
                    "permit_expires": "2027-06-30",
                    "is_autonomous": True,
                },
                "safety_driver": {
                    "full_name": "Trần Thị Bình",
                    "nationality": "VN",
                    "document_type": "passport",
                    "document_number": "C7654321",
                    "document_expires": "2030-01-01",
                },
            },
        ],
    },
)
