"""The e-ticket at the barrier: the lane camera's device sends the scanned QR payload with the plate read.

The ticket is the one the forwarder downloads (GET declarations/{id}/ticket/) once the fee is paid; each
situation is built through the API and the services, as at the gate.
"""

import pytest

from clearance.models import Declaration, GateDecision
from tests.clearance.test_gate_decision import QUERIES_PER_READ, client_with_key, create_device, read
from tests.factories import DeclarationFactory, client_for

Stage = Declaration.Stage

pytestmark = pytest.mark.usefixtures("tariff")


@pytest.fixture
def barrier(reference):
    return client_with_key(create_device("lane_gate", lane="1119-EX1"))


def ticket_of(declaration: Declaration) -> str:
    response = client_for(declaration.company).get(f"/api/v1/declarations/{declaration.id}/ticket/")
    assert response.status_code == 200, response.json()
    return response.json()["token"]


def test_a_ticket_opens_the_barrier_once_and_its_replay_is_held(barrier):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    ticket = ticket_of(declaration)

    first = read(barrier, 0, ticket=ticket).json()
    replay = read(barrier, 0, ticket=ticket).json()

    assert first["decision"] == "open", first
    assert replay["decision"] == "hold"
    assert "ticket_replayed" in replay["reasons"]
    assert list(GateDecision.objects.order_by("id").values_list("ticket_reference", flat=True)) == [
        declaration.reference,
        declaration.reference,
    ]


def test_the_ticket_of_a_crossing_already_made_is_a_replay(barrier):
    declaration = DeclarationFactory(n=0, stage=Stage.CROSSED)

    answer = read(barrier, 0, ticket=ticket_of(declaration)).json()

    assert answer["decision"] == "hold"
    assert "ticket_replayed" in answer["reasons"]


def test_a_voided_ticket_holds_the_vehicle_with_its_own_reason(barrier):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    ticket = ticket_of(declaration)  # downloaded before the trip was called off
    cancelled = client_for(declaration.company).post(
        f"/api/v1/declarations/{declaration.id}/cancel/", {"reason": "Trip called off"}, format="json"
    )
    assert cancelled.status_code == 200

    answer = read(barrier, 0, ticket=ticket).json()

    assert answer["decision"] == "hold"
    assert "ticket_void" in answer["reasons"]


def test_a_forged_ticket_and_another_trucks_ticket_are_held(barrier):
    DeclarationFactory(n=0, stage=Stage.CALLED)
    other = DeclarationFactory(n=1, stage=Stage.IN_YARD, paid=True)
    ticket = ticket_of(other)
    forged = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB")

    assert read(barrier, 0, ticket=forged).json()["reasons"] == ["ticket_invalid"]
    assert read(barrier, 0, ticket=ticket).json()["reasons"] == ["ticket_not_for_vehicle"]
    # Without a ticket the same truck opens: the ticket is optional, and only ever a reason to hold.
    assert read(barrier, 0).json()["decision"] == "open"


@pytest.mark.postgresql
def test_a_ticket_adds_no_query_to_an_open(barrier, django_assert_max_num_queries):
    declaration = DeclarationFactory(n=0, stage=Stage.CALLED)
    ticket = ticket_of(declaration)

    with django_assert_max_num_queries(QUERIES_PER_READ):
        assert read(barrier, 0, ticket=ticket).json()["decision"] == "open"


def test_a_ticket_too_long_is_refused_with_the_field_named(barrier):
    response = read(barrier, 0, ticket="x" * 5000)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "ticket"
