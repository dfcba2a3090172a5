"""The company event feed: the same events as the webhooks, replayable from any point in the retention."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from clearance import selectors
from clearance.api.openapi import problems
from clearance.api.problems import PROBLEM_CONTENT_TYPE
from clearance.api.serializers.common import Problem, StrictSerializer
from clearance.api.serializers.webhooks import CompanyEventOutput, EventFeedOutput
from clearance.api.views.base import CompanyApi
from clearance.errors import CursorExpired, FieldError, RuleViolations
from clearance.models import CompanyEvent
from clearance.services.events import retention_start

FEED_TYPES = [value for value in CompanyEvent.Type.values if value != CompanyEvent.Type.PING]


def cursor_encode(*, txid: int, event_id: int, read_to: datetime) -> str:
    raw = json.dumps([txid, event_id, int(read_to.timestamp())], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[int, int, datetime]:
    """(transaction, event id, the time up to which the reader had read); RuleViolations if forged."""
    try:
        txid, event_id, read_to = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not all(isinstance(n, int) and 0 <= n < 2**63 for n in (txid, event_id, read_to)):
            raise ValueError
        return txid, event_id, datetime.fromtimestamp(read_to, tz=UTC)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError, OSError) as error:
        raise RuleViolations([FieldError("after", "invalid_cursor", "Not a cursor this feed gave.")]) from error


class FeedQueryInput(StrictSerializer):
    after = serializers.CharField(required=False, max_length=200)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    types = serializers.CharField(required=False, help_text="comma-separated event types")

    def validate_types(self, value):
        types = [part.strip() for part in value.split(",") if part.strip()]
        unknown = sorted(set(types) - set(FEED_TYPES))
        if unknown:
            raise serializers.ValidationError(
                serializers.ErrorDetail(f"Unknown event type(s): {', '.join(unknown)}.", code="unknown_event_type")
            )
        return types


class EventFeedApi(CompanyApi):
    @extend_schema(
        operation_id="events_list",
        summary="The company's events in commit order, from a cursor",
        description="Start without `after`; pass each answer's `next_cursor` as `after` to read on (an empty "
        "page means nothing new yet: keep the cursor). The event ids are the webhooks' webhook-id. A cursor "
        "older than the retention (SMARTGATE_EVENT_RETENTION_DAYS) answers 410.",
        parameters=[
            OpenApiParameter("after", OpenApiTypes.STR, description="a next_cursor from this feed"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1–500, 100 by default"),
            OpenApiParameter("types", OpenApiTypes.STR, description="comma-separated: " + ", ".join(FEED_TYPES)),
        ],
        responses={
            200: EventFeedOutput,
            (410, PROBLEM_CONTENT_TYPE): OpenApiResponse(Problem, description="The cursor is past the retention."),
            **problems(400, 401, 429),
        },
    )
    def get(self, request):
        query = FeedQueryInput(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]
        events = selectors.company_events(company=self.company, types=query.validated_data.get("types"))
        now = timezone.now()
        txid, event_id, read_to = 0, 0, now
        if "after" in query.validated_data:
            txid, event_id, read_to = cursor_decode(query.validated_data["after"])
            if read_to < retention_start():
                raise CursorExpired(
                    "This cursor is older than the events kept; read the feed again from the start.",
                )
            events = events.filter(Q(txid__gt=txid) | Q(txid=txid, id__gt=event_id))
        page = list(events[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
        if page:
            txid, event_id = page[-1].txid, page[-1].id
            read_to = page[-1].created_at if has_more else now
        else:
            read_to = now
        return Response(
            {
                "results": CompanyEventOutput(page, many=True).data,
                "next_cursor": cursor_encode(txid=txid, event_id=event_id, read_to=read_to),
                "has_more": has_more,
            }
        )
