"""Idempotency-Key on create-type POSTs: retries replay, conflicts are named, concurrency creates one row."""

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from clearance.api import idempotency
from clearance.models import Declaration, IdempotencyRecord
from tests.factories import client_for, container


def post(api, body, key):
    return api.post("/api/v1/declarations/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_retry_with_the_same_key_and_body_replays_the_first_response(api, declaration_body):
    body = declaration_body()

    first = post(api, body, "order-7781")
    retry = post(api, body, "order-7781")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"] and retry["ETag"] == first["ETag"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Declaration.objects.count() == 1


def test_same_key_with_another_body_is_422(api, declaration_body):
    post(api, declaration_body(), "order-7781")

    other = post(api, declaration_body(direction="import"), "order-7781")

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_key_still_being_processed_is_409(api, declaration_body):
    body = declaration_body()
    post(api, body, "order-1")
    # As if the first request with this key had claimed it and not answered yet.
    IdempotencyRecord.objects.filter(key="order-1").update(is_complete=False, response_status=None)

    response = post(api, body, "order-1")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_request_in_progress"
    assert response["Retry-After"] == "1"


def test_keys_are_per_company(api, other_api, declaration_body):
    first = post(api, declaration_body(), "shared-key")
    theirs = post(
        other_api,
        declaration_body(
            vehicle={"plate": "桂A12345", "country": "CN", "max_gross_weight_kg": 40000},
            customs_declarations=[{"number": "305123456790", "type": "B11"}],
            containers=[container(2)],
        ),
        "shared-key",
    )

    assert (first.status_code, theirs.status_code) == (201, 201)
    assert first.json()["id"] != theirs.json()["id"]


def test_a_refused_request_can_be_corrected_and_sent_again_with_its_key(api, declaration_body):
    refused = post(api, declaration_body(route="9999-9999"), "order-2")

    corrected = post(api, declaration_body(), "order-2")

    assert refused.status_code == 400
    assert corrected.status_code == 201


def test_key_older_than_the_retention_window_starts_afresh(api, declaration_body):
    first = post(api, declaration_body(), "order-3")
    api.post(f"{first['Location']}cancel/", {"reason": "re-declaring"}, format="json")
    IdempotencyRecord.objects.filter(key="order-3").update(created_at=timezone.now() - timedelta(hours=25))

    again = post(api, declaration_body(), "order-3")

    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_declaration_and_all_get_its_answer(
    company, reference, declaration_body
):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    body = declaration_body()
    senders = 8  # each holds one of the pool's 10 connections while it waits
    barrier = threading.Barrier(senders)
    answers = []

    def send():
        client = client_for(company)
        barrier.wait(timeout=30)
        try:
            response = post(client, body, "same-key")
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (declaration,) = Declaration.objects.all()
    # The others waited for the first to commit and were given its answer: never a 404 or a second row.
    assert answers == [(201, declaration.id)] * senders


def test_an_answer_that_could_not_be_stored_takes_the_effect_back_with_it(api, declaration_body, monkeypatch):
    def lost(record, response):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(idempotency, "_store", lost)
    failed = post(api, declaration_body(), "order-9")
    monkeypatch.undo()

    assert failed.status_code == 503
    assert not Declaration.objects.exists() and not IdempotencyRecord.objects.exists()
    retried = post(api, declaration_body(), "order-9")
    assert retried.status_code == 201
    assert Declaration.objects.count() == 1


def test_a_refused_request_leaves_its_key_free_at_once(api, declaration_body):
    post(api, declaration_body(), "first")
    refused = post(api, declaration_body(), "second")  # the same vehicle: already on an active crossing

    assert refused.status_code == 409
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["first"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_declarations_of_one_vehicle_without_keys_create_one(company, reference, declaration_body):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")
    barrier = threading.Barrier(5)
    statuses = []

    def send(index):
        client = client_for(company)
        body = declaration_body(customs_declarations=[{"number": f"30512345678{index}", "type": "B11"}])
        barrier.wait()
        try:
            statuses.append(client.post("/api/v1/declarations/", body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 409, 409, 409, 409]
    assert Declaration.objects.count() == 1
