"""Webhook subscriptions of the forwarder's company: subscribe, read, change, delete, rotate the secret,
ping, the delivery log and redelivery. Another company's subscription answers 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from clearance import selectors
from clearance.api.idempotency import idempotent
from clearance.api.openapi import IDEMPOTENCY_KEY, page_of, problems
from clearance.api.pagination import DeclarationCursorPagination
from clearance.api.serializers.webhooks import (
    WebhookDeliveryOutput,
    WebhookInput,
    WebhookOutput,
    WebhookSecretOutput,
    WebhookUpdateInput,
)
from clearance.api.views.base import CompanyApi
from clearance.services import webhooks


def _with_secret(subscription, secret: str) -> dict:
    return {**WebhookOutput(subscription).data, "secret": secret}


def _without_secret(body: dict) -> dict:
    """What the idempotency record keeps of a subscription's answer: all but its secret."""
    return {name: value for name, value in body.items() if name != "secret"}


def _with_current_secret(view, body: dict) -> dict:
    """A replayed subscription answers with its signing secret as it stands (encrypted at rest, read again);
    one deleted since answers without it."""
    return {**body, "secret": webhooks.subscription_secret(company=view.company, subscription_id=body["id"])}


class WebhookListCreateApi(CompanyApi):
    @extend_schema(
        operation_id="webhooks_list",
        summary="List the company's webhook subscriptions",
        responses={200: WebhookOutput(many=True), **problems(401, 429)},
    )
    def get(self, request):
        return Response(WebhookOutput(selectors.webhook_list(company=self.company), many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Subscribe a receiver (the signing secret is shown once)",
        description="Deliveries follow the Standard Webhooks specification: headers webhook-id, "
        "webhook-timestamp and webhook-signature (v1,<base64 HMAC-SHA256 of id.timestamp.body>); the body is "
        '{"type", "timestamp", "data"}. Event types: '
        + ", ".join(sorted(webhooks.EVENT_TYPES - {"ping"}))
        + '; "*" is all.',
        request=WebhookInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: WebhookSecretOutput, **problems(400, 401, 409, 413, 422, 429)},
    )
    @idempotent(stored=_without_secret, replayed=_with_current_secret)
    def post(self, request):
        serializer = WebhookInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription, secret = webhooks.subscription_create(company=self.company, **serializer.validated_data)
        return Response(_with_secret(subscription, secret), status=status.HTTP_201_CREATED)


class WebhookDetailApi(CompanyApi):
    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="Read a webhook subscription",
        responses={200: WebhookOutput, **problems(401, 404, 429)},
    )
    def get(self, request, subscription_id: int):
        return Response(
            WebhookOutput(selectors.webhook_get(company=self.company, subscription_id=subscription_id)).data
        )

    @extend_schema(
        operation_id="webhooks_update",
        summary="Change a webhook subscription (url, events, description, is_active)",
        request=WebhookUpdateInput,
        responses={200: WebhookOutput, **problems(400, 401, 404, 413, 429)},
    )
    def patch(self, request, subscription_id: int):
        selectors.webhook_get(company=self.company, subscription_id=subscription_id)
        serializer = WebhookUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = webhooks.subscription_update(
            company=self.company, subscription_id=subscription_id, changes=serializer.validated_data
        )
        return Response(WebhookOutput(subscription).data)

    @extend_schema(
        operation_id="webhooks_delete",
        summary="Delete a webhook subscription",
        responses={204: None, **problems(401, 404, 429)},
    )
    def delete(self, request, subscription_id: int):
        webhooks.subscription_delete(company=self.company, subscription_id=subscription_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(CompanyApi):
    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Rotate the signing secret (the old one keeps signing beside it for 24 h)",
        request=None,
        responses={200: WebhookSecretOutput, **problems(401, 404, 429)},
    )
    def post(self, request, subscription_id: int):
        subscription, secret = webhooks.subscription_rotate_secret(
            company=self.company, subscription_id=subscription_id
        )
        return Response(_with_secret(subscription, secret))


class WebhookTestApi(CompanyApi):
    @extend_schema(
        operation_id="webhooks_test",
        summary="Send a ping event to this subscription",
        request=None,
        responses={202: WebhookDeliveryOutput, **problems(401, 404, 429)},
    )
    def post(self, request, subscription_id: int):
        delivery = webhooks.subscription_ping(company=self.company, subscription_id=subscription_id)
        delivery = selectors.webhook_deliveries(company=self.company, subscription_id=subscription_id).get(
            id=delivery.id
        )
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryListApi(CompanyApi):
    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="The delivery log of a subscription, newest first, with every attempt",
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("limit", OpenApiTypes.INT)],
        responses={200: page_of(WebhookDeliveryOutput, "WebhookDeliveryPage"), **problems(401, 404, 429)},
    )
    def get(self, request, subscription_id: int):
        deliveries = selectors.webhook_deliveries(company=self.company, subscription_id=subscription_id)
        paginator = DeclarationCursorPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(WebhookDeliveryOutput(page, many=True).data)


class WebhookRedeliverApi(CompanyApi):
    @extend_schema(
        operation_id="webhooks_redeliver",
        summary="Send a delivery again now, with the same webhook-id",
        request=None,
        responses={202: WebhookDeliveryOutput, **problems(401, 404, 429)},
    )
    def post(self, request, subscription_id: int, delivery_id: int):
        webhooks.delivery_redeliver(company=self.company, subscription_id=subscription_id, delivery_id=delivery_id)
        delivery = selectors.webhook_deliveries(company=self.company, subscription_id=subscription_id).get(
            id=delivery_id
        )
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)
