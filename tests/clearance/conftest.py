"""The forwarder's side of the API: the example body of its contract and a POST of it."""

import copy

import pytest

from tests.factories import EXAMPLE, arrival_in


@pytest.fixture
def declaration_body():
    """The example body of the API contract, arriving tomorrow; a fresh copy per call."""

    def build(**overrides) -> dict:
        body = copy.deepcopy(EXAMPLE)
        body["expected_arrival"] = arrival_in(24)
        body.update(overrides)
        return body

    return build


@pytest.fixture
def declare(api, declaration_body):
    """POST a declaration as the company and return the response."""

    def post(client=None, **overrides):
        return (client or api).post("/api/v1/declarations/", declaration_body(**overrides), format="json")

    return post
