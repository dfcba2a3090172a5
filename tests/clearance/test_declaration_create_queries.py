"""Declaring is a hot path: its queries are a fixed budget, whatever the number of containers, goods lines,
certificates or customs numbers, and of declarations in a batch.

These run without the test's own wrapping transaction (``transaction=True``), so they count what a
request costs in production: its transaction's BEGIN and COMMIT are not queries, and no savepoint is
added around the view.
"""

import copy

import pytest

from clearance.models import Check, CompanyEvent, Declaration, DeclarationEvent
from tests.factories import LAPTOPS, TruckBody, arrival_in, container, quarantine_certificate
from vehicles.models import DriverName, RegistryFact

CREATE_BUDGET = 15
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    """The tasks sent after commit, kept here: in production a broker takes them and workers run them in
    their own processes, outside the request whose queries are counted (without a broker the embedded
    default would run them inside it)."""
    sent = []

    def send(name, **kwargs):
        sent.append((name, kwargs))
        return True

    monkeypatch.setattr("clearance.services.enqueue.task_send", send)
    monkeypatch.setattr("clearance.services.outbox.task_send", send)
    return sent


def small(n: int) -> dict:
    return TruckBody(n=n)


def large(n: int) -> dict:
    """The most a declaration may carry: 20 customs numbers, 10 containers, 100 goods lines, 20 certificates,
    and a trailer."""
    body = TruckBody(
        n=n,
        containers=[container(100 * n + i) for i in range(10)],
        goods=[{**copy.deepcopy(LAPTOPS[0]), "gross_weight_kg": "100"} for _ in range(100)],
        quarantine_certificates=[{**quarantine_certificate(), "number": f"KD-2026-{n:03d}{i:03d}"} for i in range(20)],
        trailer={"plate": f"12R-{n:03d}.45", "country": "VN"},
    )
    body["customs_declarations"] = [{"number": f"30{n:04d}{i:06d}", "type": "B11"} for i in range(20)]
    return body


def count_create(api, body, django_assert_max_num_queries, **headers) -> int:
    with django_assert_max_num_queries(CREATE_BUDGET) as queries:
        response = api.post("/api/v1/declarations/", body, format="json", **headers)
    assert response.status_code == 201, response.json()
    return len(queries)


@pytest.mark.postgresql
@pytest.mark.parametrize("headers", [{}, {"HTTP_IDEMPOTENCY_KEY": "create-budget"}], ids=["plain", "idempotency-key"])
def test_a_declaration_is_created_within_its_budget_whatever_it_carries(api, django_assert_max_num_queries, headers):
    api.post("/api/v1/declarations/", small(90), format="json")  # the key and the routes are warm

    one_line = count_create(api, small(1), django_assert_max_num_queries, **headers)
    everything = count_create(api, large(2), django_assert_max_num_queries, **{k: v + "-2" for k, v in headers.items()})

    assert everything == one_line + 1  # a trailer: its registry upsert; nothing grows with the lines
    declaration = Declaration.objects.get(reference=api.get("/api/v1/declarations/").json()["results"][0]["reference"])
    assert (declaration.containers.count(), declaration.goods.count()) == (10, 100)
    assert declaration.quarantine_certificates.count() == 20 and declaration.customs_declarations.count() == 20


@pytest.mark.postgresql
def test_a_known_vehicle_and_driver_changed_cost_one_write_more_at_most(api, django_assert_max_num_queries):
    first = small(3)
    assert api.post("/api/v1/declarations/", first, format="json").status_code == 201
    api.post(f"/api/v1/declarations/{Declaration.objects.get().id}/cancel/", {"reason": "Order moved"}, format="json")
    again = small(3)
    again["vehicle"]["permit_number"] = "VN-CN-2027-99999"
    again["driver"]["full_name"] = "Trần Văn Bình"

    count_create(api, again, django_assert_max_num_queries, HTTP_IDEMPOTENCY_KEY="changed")

    assert RegistryFact.objects.filter(subject=RegistryFact.Subject.VEHICLE).get().changes == {
        "permit_number": [first["vehicle"]["permit_number"], "VN-CN-2027-99999"]
    }
    assert set(DriverName.objects.values_list("name_key", flat=True)) == {"nguyen van an", "tran van binh"}


def test_the_created_declaration_is_answered_from_memory_as_it_is_read_back(api):
    response = api.post("/api/v1/declarations/", large(4), format="json", HTTP_IDEMPOTENCY_KEY="same-answer")

    body = response.json()
    read = api.get(f"/api/v1/declarations/{body['id']}/").json()
    assert body == read
    assert response["Location"].endswith(f"/declarations/{body['id']}/") and response["ETag"] == '"1"'
    # The trail and the forwarder's event are those of a single submission.
    events = DeclarationEvent.objects.filter(declaration_id=body["id"]).order_by("seq")
    assert [(e.seq, e.event) for e in events] == [
        (1, DeclarationEvent.Kind.SUBMITTED),
        (2, DeclarationEvent.Kind.CHECKS_STARTED),
    ]
    assert events[1].prev_hash == events[0].hash
    created = CompanyEvent.objects.get(declaration_id=body["id"])
    assert (created.type, created.seq, created.data["status"]) == (
        CompanyEvent.Type.DECLARATION_CREATED,
        1,
        Declaration.Status.SUBMITTED,
    )
    assert Check.objects.filter(declaration_id=body["id"], status=Check.Status.PENDING).count() == len(Check.Kind)


def test_checks_and_the_event_are_sent_once_after_commit(api, sent):
    subscribed = api.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}, format="json"
    )  # the event has somewhere to go
    assert subscribed.status_code == 201, subscribed.json()
    response = api.post("/api/v1/declarations/", small(5), format="json")

    assert response.status_code == 201
    check_ids = sorted(kw["args"][0] for name, kw in sent if name.endswith("check_run_task"))
    assert check_ids == sorted(Check.objects.filter(declaration_id=response.json()["id"]).values_list("id", flat=True))
    fan_outs = [kw["args"][0] for name, kw in sent if name.endswith("webhook_fan_out_task")]
    assert fan_outs == [CompanyEvent.objects.get(declaration_id=response.json()["id"]).id]


@pytest.mark.serial  # it reads the event feed (see tests/clearance/test_event_feed.py)
def test_a_company_without_a_webhook_sends_no_fan_out_but_keeps_its_event_in_the_feed(api, sent):
    response = api.post("/api/v1/declarations/", small(6), format="json")

    assert response.status_code == 201
    assert not [name for name, _kw in sent if name.endswith("webhook_fan_out_task")]
    feed = api.get("/api/v1/events/").json()["results"]
    assert [event["type"] for event in feed] == [CompanyEvent.Type.DECLARATION_CREATED]


@pytest.mark.postgresql
@pytest.mark.parametrize("size", [2, 25])
def test_a_batch_costs_the_same_queries_whatever_its_size(api, django_assert_max_num_queries, size):
    items = [small(10 + i) for i in range(size)]
    api.post("/api/v1/declarations/", small(90), format="json")  # the key and the routes are warm
    with django_assert_max_num_queries(CREATE_BUDGET) as queries:
        response = api.post("/api/v1/declarations/batch/", {"declarations": items}, format="json")

    assert response.status_code == 200 and response.json()["created"] == size, response.json()
    assert len(queries) <= CREATE_BUDGET


def test_an_arrival_already_declared_in_the_same_batch_is_the_single_posts_409(api):
    first, second = small(40), small(40)
    second["customs_declarations"][0]["number"] = "307011111111"
    second["expected_arrival"] = arrival_in(30)

    results = api.post("/api/v1/declarations/batch/", {"declarations": [first, second]}, format="json").json()[
        "results"
    ]

    assert [item["status"] for item in results] == [201, 409]
    assert results[1]["problem"]["declaration"] == results[0]["declaration"]["reference"]
