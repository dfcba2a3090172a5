"""A company sees and touches only its own declarations; a caller without a valid key sees nothing at all."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clearance.models import CompanyAPIKey, Declaration, DeclarationEvent
from clearance.services.companies import api_key_create
from tests.factories import container

URL = "/api/v1/declarations/"
PROBLEM = "application/problem+json"

THEIR_VEHICLE = {"plate": "12C-678.90", "country": "VN", "max_gross_weight_kg": 40000}
THEIR_CUSTOMS = [{"number": "305999999999", "type": "B11"}]
GOODS = [
    {
        "hs_code": "85171200",
        "description": "Điện thoại",
        "quantity": "100",
        "unit": "PCE",
        "gross_weight_kg": "500",
        "value": "10000.00",
        "currency": "USD",
        "origin_country": "CN",
    }
]


@pytest.fixture
def mine(declare):
    response = declare()
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def theirs(declare, other_api):
    response = declare(
        client=other_api,
        vehicle=THEIR_VEHICLE,
        trailer=None,
        customs_declarations=THEIR_CUSTOMS,
        containers=[container(2)],
    )
    assert response.status_code == 201, response.content
    return response.json()


def _missing_id() -> int:
    return (Declaration.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000


ENDPOINTS = {
    "read": lambda client, id_: client.get(f"{URL}{id_}/"),
    "amend": lambda client, id_: client.patch(f"{URL}{id_}/", {"goods": GOODS}, format="json", HTTP_IF_MATCH='"1"'),
    "amend-no-if-match": lambda client, id_: client.patch(f"{URL}{id_}/", {"goods": GOODS}, format="json"),
    "amend-invalid-body": lambda client, id_: client.patch(
        f"{URL}{id_}/", {"colour": "red"}, format="json", HTTP_IF_MATCH='"1"'
    ),
    "events": lambda client, id_: client.get(f"{URL}{id_}/events/"),
    "cancel": lambda client, id_: client.post(f"{URL}{id_}/cancel/", {"reason": "Wrong truck"}, format="json"),
    "cancel-idempotent": lambda client, id_: client.post(
        f"{URL}{id_}/cancel/", {"reason": "Wrong truck"}, format="json", HTTP_IDEMPOTENCY_KEY="cancel-1"
    ),
    "cancel-invalid-body": lambda client, id_: client.post(f"{URL}{id_}/cancel/", {}, format="json"),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_another_companys_declaration_is_not_found_like_a_missing_one(api, other_api, mine, theirs, endpoint):
    # given another company's declaration, and an id that does not exist at all
    call = ENDPOINTS[endpoint]
    before = other_api.get(f"{URL}{theirs['id']}/").json()
    events_before = list(DeclarationEvent.objects.filter(declaration_id=theirs["id"]).values())

    # when the company asks for each
    for_theirs = call(api, theirs["id"])
    for_missing = call(api, _missing_id())

    # then both answer 404 with the very same problem, telling nothing about the other company's row
    assert for_theirs.status_code == 404, for_theirs.content
    assert for_theirs["Content-Type"].startswith(PROBLEM)
    assert for_theirs.json() == for_missing.json()
    assert for_theirs.json()["code"] == "not_found"
    assert for_missing.status_code == 404
    assert "ETag" not in for_theirs
    # and the other company's declaration and its audit trail are as they were
    assert other_api.get(f"{URL}{theirs['id']}/").json() == before
    assert list(DeclarationEvent.objects.filter(declaration_id=theirs["id"]).values()) == events_before


@pytest.mark.parametrize("endpoint", ["read", "amend", "events", "cancel"])
def test_the_same_calls_on_the_companys_own_declaration_succeed(api, mine, theirs, endpoint):
    # a control for the test above: the calls themselves are valid
    response = ENDPOINTS[endpoint](api, mine["id"])

    assert response.status_code == 200, response.content


def test_the_list_shows_only_the_callers_declarations(api, other_api, mine, theirs):
    # when each company lists
    ours = api.get(URL)
    their_list = other_api.get(URL)

    # then each sees only its own
    assert ours.status_code == 200
    assert [d["id"] for d in ours.json()["results"]] == [mine["id"]]
    assert [d["id"] for d in their_list.json()["results"]] == [theirs["id"]]
    assert {d["company"] for d in ours.json()["results"]} == {mine["company"]}


@pytest.mark.parametrize("plate", ["12C-678.90", "12c67890", "12C 678 90"])
def test_filtering_by_another_companys_plate_finds_nothing(api, other_api, mine, theirs, plate):
    # when the company filters its list by the other company's vehicle, in any written form
    response = api.get(URL, {"plate": plate})

    # then it finds nothing, while the owner finds its declaration
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert [d["id"] for d in other_api.get(URL, {"plate": plate}).json()["results"]] == [theirs["id"]]


@pytest.mark.parametrize(
    "query",
    [
        {"status": None},
        {"stage": "expected"},
        {"route": "1119-1120"},
        {"direction": "export"},
        {"created_after": "2000-01-01T00:00:00Z"},
    ],
)
def test_other_filters_stay_within_the_company(api, mine, theirs, query):
    # given both declarations match the filter (status: whatever both are in now)
    if query.get("status", "") is None:
        query = {"status": Declaration.objects.get(id=theirs["id"]).status}
        assert Declaration.objects.get(id=mine["id"]).status == query["status"]

    # when the company lists with the filter
    response = api.get(URL, query)

    # then it sees only its own

    assert [d["id"] for d in response.json()["results"]] == [mine["id"]]


# --- Authentication ----------------------------------------------------------------------------


def _client(authorization: str | None) -> APIClient:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


@pytest.fixture
def key(company, reference):
    api_key, key = api_key_create(company=company, name="erp-2")
    return api_key, key


def _no_key(key):
    return _client(None)


def _bearer(key):
    return _client("Bearer x")


def _keyword_only(key):
    return _client("Api-Key")


def _unknown_key(key):
    return _client("Api-Key AbCdEfGh.0123456789abcdef0123456789abcdef")


def _wrong_secret(key):
    prefix = key[1].partition(".")[0]
    return _client(f"Api-Key {prefix}.0123456789abcdef0123456789abcdef")


def _revoked(key):
    CompanyAPIKey.objects.filter(pk=key[0].pk).update(revoked=True)
    return _client(f"Api-Key {key[1]}")


def _expired(key):
    CompanyAPIKey.objects.filter(pk=key[0].pk).update(expiry_date=timezone.now() - timedelta(minutes=1))
    return _client(f"Api-Key {key[1]}")


def _inactive_company(key):
    company = key[0].company
    company.is_active = False
    company.save(update_fields=["is_active"])
    return _client(f"Api-Key {key[1]}")


CALLERS = [_no_key, _bearer, _keyword_only, _unknown_key, _wrong_secret, _revoked, _expired, _inactive_company]

REQUESTS = {
    "list": lambda client, body, id_: client.get(URL),
    "create": lambda client, body, id_: client.post(URL, body, format="json"),
    "read": lambda client, body, id_: client.get(f"{URL}{id_}/"),
    "amend": lambda client, body, id_: client.patch(
        f"{URL}{id_}/", {"goods": GOODS}, format="json", HTTP_IF_MATCH='"1"'
    ),
    "events": lambda client, body, id_: client.get(f"{URL}{id_}/events/"),
    "cancel": lambda client, body, id_: client.post(f"{URL}{id_}/cancel/", {"reason": "Wrong truck"}, format="json"),
}


@pytest.mark.parametrize("request_name", REQUESTS)
@pytest.mark.parametrize("caller", CALLERS, ids=[c.__name__.strip("_") for c in CALLERS])
def test_a_caller_without_a_valid_key_is_401(key, mine, declaration_body, caller, request_name):
    # given a caller without a valid key, and a declaration of a company
    client = caller(key)
    before = Declaration.objects.values().get()

    # when it calls the API
    response = REQUESTS[request_name](client, declaration_body(vehicle=THEIR_VEHICLE), mine["id"])

    # then it is told to authenticate, and nothing is read or changed
    assert response.status_code == 401, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    assert response["WWW-Authenticate"] == "Api-Key"
    body = response.json()
    assert body["status"] == 401
    assert body["code"] in ("not_authenticated", "authentication_failed")
    assert {"type", "title", "detail"} <= body.keys()
    assert "results" not in body and "reference" not in body
    assert Declaration.objects.values().get() == before


def test_the_key_works_before_it_is_revoked(key, mine):
    # a control for the test above
    response = _client(f"Api-Key {key[1]}").get(URL)

    assert response.status_code == 200
    assert [d["id"] for d in response.json()["results"]] == [mine["id"]]
