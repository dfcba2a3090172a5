"""What every resource's serializers share: strict inputs, identifier validation, the problem shape."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clearance import disclosure
from clearance.identifiers import CUSTOMS_DECLARATION_TYPES
from vehicles.models import Route
from vehicles.process_cache import routes_by_code
from vehicles.reference_data import ROUTES

# Fields of the representation a forwarder can never set.
SERVER_FIELDS = {
    "id",
    "reference",
    "status",
    "stage",
    "version",
    "needs_quarantine",
    "smart_lane_eligible",
    "smart_lane_reason",
    "company",
    "created_at",
    "updated_at",
    "lane",
    "channel",
    "checks",
    "inspections",
    "yard",
    "queue_position",
    "estimated_call_at",
    "slot_starts_at",
    "slot_moves",
    "arrived_at",
    "called_at",
    "in_lane_at",
    "crossed_at",
    "fee",
    "dwell_minutes",
    "handover_status",
}


def django_to_drf(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError([serializers.ErrorDetail(m, code=error.code) for m in error.messages])


def identifier(validator, value, **kwargs):
    """Run one of clearance.identifiers' validators, its error as a field error."""
    try:
        return validator(value, **kwargs)
    except DjangoValidationError as error:
        raise django_to_drf(error) from None


def route_for_code(code: str) -> Route:
    """The route a code names; a field error listing the routes otherwise."""
    routes = routes_by_code()  # reference data, held in the process: no query per declaration
    route = routes.get(code)
    if route is None:
        known = ", ".join(routes)
        raise serializers.ValidationError(
            serializers.ErrorDetail(f"Unknown route {code!r}; routes: {known}.", code="unknown_route")
        )
    return route


# Named in the schema's components (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
CUSTOMS_DECLARATION_TYPE_CHOICES = [(code, code) for code in CUSTOMS_DECLARATION_TYPES]
ROUTE_CHOICES = [(route[0], route[0]) for route in ROUTES]


@extend_schema_field(
    {
        "type": "string",
        "maxLength": 20,
        "enum": [route[0] for route in ROUTES],
        "description": "A route's code (the routes of the reference data; an unknown one is `unknown_route`).",
    }
)
class RouteCodeField(serializers.CharField):
    """A route code; the schema lists the reference routes, the route itself is checked against the database."""


@extend_schema_field(
    {
        "type": "string",
        "enum": list(CUSTOMS_DECLARATION_TYPES),
        "description": "; ".join(f"`{code}` {name}" for code, name in CUSTOMS_DECLARATION_TYPES.items()),
    }
)
class CustomsDeclarationTypeField(serializers.CharField):
    """A VNACCS declaration type; validated with its own error codes, listed as an enum in the schema."""


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, naming them, instead of silently dropping them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name in data:
                if name in self.fields and not self.fields[name].read_only:
                    continue
                if name in SERVER_FIELDS:
                    errors[name] = [
                        serializers.ErrorDetail(
                            f"{name} is set by smartgate and cannot be sent.", code="read_only_field"
                        )
                    ]
                else:
                    accepted = ", ".join(n for n, f in self.fields.items() if not f.read_only)
                    errors[name] = [
                        serializers.ErrorDetail(
                            f"Unknown field {name!r}; accepted fields: {accepted}.", code="unknown_field"
                        )
                    ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must carry its UTC offset: a gate's local clock and a server's UTC differ by
    seven hours, so a bare time is refused, not guessed."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)  # a value that is no time at all is "invalid" first
        if isinstance(value, str) and not re.search(r"(Z|[+-]\d{2}:?\d{2})$", value.strip()):
            raise serializers.ValidationError(
                serializers.ErrorDetail(
                    "Give the time with its UTC offset, e.g. 2026-11-22T08:00:00+07:00.", code="timezone_required"
                )
            )
        return parsed


class ForwarderReasonsField(serializers.ListField):
    """A check's or inspection's reasons as the forwarder may read them (clearance.disclosure)."""

    child = serializers.DictField()

    def to_representation(self, data):
        return disclosure.forwarder_reasons(data or [])


class ProblemFieldError(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class Problem(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = ProblemFieldError(many=True, required=False)
