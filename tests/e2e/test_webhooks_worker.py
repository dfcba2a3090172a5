"""Webhooks delivered by a real Celery worker (the webhooks queue) on Redis, to a real receiver."""

import pytest

from clearance.models import CompanyEvent, WebhookDelivery
from tests.e2e.conftest import wait_until
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.redis]
Type = CompanyEvent.Type


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def test_a_declaration_s_events_reach_the_receiver_signed_from_the_worker(worker, api, declare, receiver):
    worker()
    receiver.secret = api.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["*"]}, format="json").json()[
        "secret"
    ]

    created = declare().json()

    expected = [Type.DECLARATION_CREATED, Type.CHECK_COMPLETED, Type.DECLARATION_CLEARED]
    wait_until(
        lambda: {r.payload["type"] for r in receiver.received if r.payload} >= set(expected),
        timeout=60,
        what="the declaration's events at the receiver",
    )
    assert all(request.verify_error == "" for request in receiver.received)
    assert {r.payload["data"]["declaration"]["id"] for r in receiver.received} == {created["id"]}
    assert [r.payload["type"] for r in receiver.received].count(Type.CHECK_COMPLETED) == 4
    wait_until(
        lambda: not WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.DELIVERED).exists(),
        what="every delivery marked delivered",
    )
