"""Each forwarder endpoint loads the declaration with its prefetches once, for the response; the company's
scope is checked with a lookup of the id alone."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

# The tables selectors.declaration_get prefetches for the representation.
PREFETCHED = (
    "clearance_customsdeclaration",
    "clearance_container",
    "clearance_goodsline",
    "clearance_quarantinecertificate",
    "clearance_check",
    "clearance_inspection",
)


def prefetches(queries: CaptureQueriesContext) -> dict[str, int]:
    """How many times each prefetched table was read for a batch of declarations (``declaration_id IN``)."""
    counts = dict.fromkeys(PREFETCHED, 0)
    for query in queries.captured_queries:
        # One query reads them all (selectors.lines_attach): each table once, by the batch's ids.
        for table in re.findall(r'FROM "(\w+)" line WHERE "declaration_id" = ANY\(', query["sql"]):
            if table in counts:
                counts[table] += 1
    return counts


@pytest.fixture
def created(declare):
    response = declare()
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.postgresql
def test_an_amendment_loads_the_declaration_with_its_prefetches_once(api, created):
    with CaptureQueriesContext(connection) as queries:
        response = api.patch(
            f"/api/v1/declarations/{created['id']}/",
            {"goods": created["goods"]},
            format="json",
            HTTP_IF_MATCH='"1"',
        )

    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    assert prefetches(queries) == dict.fromkeys(PREFETCHED, 1)


@pytest.mark.postgresql
def test_a_cancellation_loads_the_declaration_with_its_prefetches_once(api, created):
    with CaptureQueriesContext(connection) as queries:
        response = api.post(
            f"/api/v1/declarations/{created['id']}/cancel/", {"reason": "Order withdrawn"}, format="json"
        )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert prefetches(queries) == dict.fromkeys(PREFETCHED, 1)
    goods_reads = [q["sql"] for q in queries.captured_queries if 'FROM "clearance_goodsline"' in q["sql"]]
    assert len(goods_reads) == 1, goods_reads


def test_another_companys_declaration_is_still_not_found(other_api, created):
    response = other_api.post(f"/api/v1/declarations/{created['id']}/cancel/", {"reason": "Not mine"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_events_feed_checks_the_scope_without_loading_the_declaration(api, created):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/v1/declarations/{created['id']}/events/")

    assert response.status_code == 200
    assert [event["event"] for event in response.json()["results"]][:2] == ["submitted", "checks_started"]
    assert prefetches(queries) == dict.fromkeys(PREFETCHED, 0)


def test_a_ticket_is_read_without_loading_the_declaration(api, created):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/v1/declarations/{created['id']}/ticket/")

    assert response.status_code == 404  # no fee is issued before clearance
    assert prefetches(queries) == dict.fromkeys(PREFETCHED, 0)
    declaration_reads = [q["sql"] for q in queries.captured_queries if 'FROM "clearance_declaration"' in q["sql"]]
    assert len(declaration_reads) == 0, declaration_reads  # the fee is read joined to its declaration
