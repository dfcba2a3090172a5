"""Many declarations in one request: a result per item, all-or-nothing on request, idempotent."""

import pytest

from clearance.models import Check, Declaration
from tests.factories import TruckBody

URL = "/api/v1/declarations/batch/"


def bodies(*numbers, bad=()):
    made = [TruckBody(n=n) for n in numbers]
    for index in bad:
        made[index]["vehicle"]["max_gross_weight_kg"] = "heavy"
    return made


def test_each_item_is_answered_alone_by_default(api, reference):
    response = api.post(URL, {"declarations": bodies(1, 2, 3, bad=[1])}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["refused"]) == (2, 1)
    assert [item["status"] for item in body["results"]] == [201, 400, 201]
    assert [item["index"] for item in body["results"]] == [0, 1, 2]
    refused = body["results"][1]["problem"]
    assert refused["code"] == "validation_error"
    assert refused["errors"][0]["field"] == "vehicle.max_gross_weight_kg"
    created = body["results"][0]["declaration"]
    assert created == api.get(f"/api/v1/declarations/{created['id']}/").json()
    # Each is queued for its checks like a single one.
    assert Check.objects.filter(declaration_id=created["id"], status=Check.Status.PENDING).count() == len(Check.Kind)


def test_a_clash_inside_the_batch_is_the_single_post_s_409(api, reference):
    same_truck = bodies(1, 1)
    same_truck[1]["customs_declarations"][0]["number"] = "307099999999"

    results = api.post(URL, {"declarations": same_truck}, format="json").json()["results"]

    assert [item["status"] for item in results] == [201, 409]
    assert results[1]["problem"]["code"] == "vehicle_has_active_crossing"


def test_atomic_creates_all_or_none(api, reference):
    refused = api.post(URL, {"declarations": bodies(1, 2, bad=[1]), "atomic": True}, format="json")

    assert refused.status_code == 400
    assert [item["status"] for item in refused.json()["results"]] == [424, 400]
    assert refused.json()["results"][0]["problem"]["code"] == "batch_aborted"
    assert not Declaration.objects.exists()

    created = api.post(URL, {"declarations": bodies(1, 2), "atomic": True}, format="json")
    assert created.status_code == 201 and created.json()["created"] == 2
    assert Declaration.objects.count() == 2


def test_the_same_idempotency_key_replays_the_first_answer(api, reference):
    payload = {"declarations": bodies(1, 2)}

    first = api.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    again = api.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")

    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Declaration.objects.count() == 2


@pytest.mark.parametrize("payload", [{"declarations": []}, {"declarations": [1, 2]}, {"items": []}])
def test_a_malformed_batch_is_a_400(api, payload):
    response = api.post(URL, payload, format="json")

    assert response.status_code in (200, 400)
    if payload.get("declarations") == [1, 2]:  # items that are not objects are refused one by one
        assert [item["status"] for item in response.json()["results"]] == [400, 400]
    else:
        assert response.status_code == 400


def test_a_batch_above_the_limit_is_refused_whole(api, settings):
    settings.SMARTGATE_BATCH_MAX_ITEMS = 2

    response = api.post(URL, {"declarations": bodies(1, 2, 3)}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "batch_too_large"
