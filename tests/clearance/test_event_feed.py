"""The company event feed: the webhooks' events, in commit order, from an opaque cursor, replayable within
the retention."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from clearance.models import CompanyEvent, Declaration
from clearance.services import webhooks
from clearance.services.events import events_purge
from tests.factories import DeclarationFactory
from tests.webhook_receiver import Receiver

# The feed shows what every transaction still running on the PostgreSQL server cannot commit behind, and
# the other test process's transactions (in its own test database) count too: run alone (make test).
pytestmark = pytest.mark.serial

FEED = "/api/v1/events/"
Type = CompanyEvent.Type


def read_all(api, *, after=None, limit=3, types=None, expected=None, wait=30.0) -> tuple[list[dict], str]:
    """Every event from ``after`` on, a page of ``limit`` at a time. The feed shows a transaction's events
    once every older write transaction of the server has ended (other test runs share it), so wait up
    to ``wait`` seconds for ``expected`` events."""
    deadline = time.monotonic() + wait
    while True:
        events, cursor = [], after
        while True:
            params = {"limit": limit, **({"after": cursor} if cursor else {}), **({"types": types} if types else {})}
            response = api.get(FEED, params)
            assert response.status_code == 200, response.json()
            events += response.json()["results"]
            cursor = response.json()["next_cursor"]
            if not response.json()["has_more"]:
                break
        if expected is None or len(events) >= expected or time.monotonic() > deadline:
            return events, cursor
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_the_feed_from_the_start_is_what_the_webhooks_delivered_in_the_same_order(api, reference, tariff):
    receiver = Receiver()
    try:
        created = api.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["*"]}, format="json").json()
        receiver.secret = created["secret"]

        # Committed as it goes (a transactional test): checks, fees and slots' work run after each commit.
        DeclarationFactory(n=1, stage=Declaration.Status.CLEARED)
        DeclarationFactory(n=2, stage=Declaration.Status.CLEARED)
        webhooks.webhooks_sweep(now=timezone.now() + timedelta(minutes=1))  # what the broker did not get to
        delivered = [request.payload for request in receiver.received]
    finally:
        receiver.close()

    total = CompanyEvent.objects.exclude(type=Type.PING).count()
    assert total > 10 and len(delivered) == total
    assert all(payload is not None for payload in delivered)  # each verified on arrival
    events, _cursor = read_all(api, expected=total)
    assert [event["id"] for event in events] == [payload["data"]["id"] for payload in delivered]
    assert [event["type"] for event in events] == [payload["type"] for payload in delivered]
    first = events[0]
    assert first["data"] == {key: value for key, value in delivered[0]["data"].items() if key != "id"}


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_was_down_reads_on_from_its_cursor_and_misses_nothing(api, reference):
    DeclarationFactory(n=1, stage=Declaration.Status.CLEARED)
    before = CompanyEvent.objects.count()
    seen, cursor = read_all(api, expected=before)

    again, same_cursor = read_all(api, after=cursor, wait=0)
    assert (again, same_cursor != "") == ([], True)
    DeclarationFactory(n=2, stage=Declaration.Status.CLEARED)
    after = CompanyEvent.objects.count() - before
    new, _ = read_all(api, after=same_cursor, expected=after)

    assert len(new) == after
    assert not {e["id"] for e in new} & {e["id"] for e in seen}
    assert {e["data"]["declaration"]["reference"] for e in new} == {
        Declaration.objects.order_by("-id").first().reference
    }


def test_types_filter_and_company_scope(api, other_company, reference):
    # Read in the test's own transaction: nothing is visible yet, but the answers are well formed.
    DeclarationFactory(n=1, stage=Declaration.Status.CHECKING)
    DeclarationFactory(n=2, stage=Declaration.Status.CHECKING, company=other_company)

    response = api.get(FEED, {"types": f"{Type.DECLARATION_CREATED},{Type.CHECK_COMPLETED}"})
    assert response.status_code == 200
    assert {"results", "next_cursor", "has_more"} == set(response.json())


@pytest.mark.django_db(transaction=True)
def test_only_the_companys_own_events_of_the_asked_types(api, other_company, reference):
    mine = DeclarationFactory(n=1, stage=Declaration.Status.CLEARED)
    DeclarationFactory(n=2, stage=Declaration.Status.CLEARED, company=other_company)
    expected = CompanyEvent.objects.filter(declaration_id=mine.id, type=Type.DECLARATION_CREATED).count()

    events, _ = read_all(api, types=Type.DECLARATION_CREATED, expected=expected)

    assert [e["type"] for e in events] == [Type.DECLARATION_CREATED]
    assert events[0]["data"]["declaration"]["id"] == mine.id


def test_a_forged_cursor_is_a_400_and_unknown_types_are_named(api):
    forged = api.get(FEED, {"after": "not-a-cursor"})
    unknown = api.get(FEED, {"types": "vehicle.flew"})

    assert forged.status_code == 400 and forged.json()["errors"][0]["code"] == "invalid_cursor"
    assert unknown.status_code == 400 and "vehicle.flew" in unknown.json()["errors"][0]["message"]


def test_a_cursor_older_than_the_retention_is_410(api, settings, time_machine):
    cursor = api.get(FEED).json()["next_cursor"]

    time_machine.move_to(timezone.now() + timedelta(days=settings.SMARTGATE_EVENT_RETENTION_DAYS + 1))
    response = api.get(FEED, {"after": cursor})

    assert response.status_code == 410
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "cursor_expired"


def test_events_past_the_retention_are_purged(reference, settings, time_machine):
    DeclarationFactory(n=1, stage=Declaration.Status.CHECKING)
    assert CompanyEvent.objects.exists()

    time_machine.move_to(timezone.now() + timedelta(days=settings.SMARTGATE_EVENT_RETENTION_DAYS, hours=1))
    assert events_purge() > 0

    assert not CompanyEvent.objects.exists()
